"""The `orgsync` command line. Each command lives in its own module of this package and registers
itself on `main`; this file imports them all, so adding a module adds a command."""

from __future__ import annotations

import importlib
import pkgutil

from sync.cli.app import main
from sync.heap import leave_heap_to_the_os

for _module in pkgutil.iter_modules(__path__):
    if _module.name.startswith("cmd_"):
        importlib.import_module(f"{__name__}.{_module.name}")


def run() -> None:
    """The `orgsync` process (console script and `python -m sync`): the command line, then an exit
    that leaves the heap to the OS instead of collecting it."""
    try:
        main()
    finally:
        leave_heap_to_the_os()


__all__ = ["main", "run"]
