"""The click group and the conventions every command shares: exit codes, errors, --catalog."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from catalog.connect import CatalogBusy, CatalogMissing, default_catalog_path
from catalog.schema import CatalogVersionError
from sync.config import ConfigError

EXIT_OK = 0
EXIT_PARTIAL = 1  # some scopes failed (sync), warnings (doctor)
EXIT_USAGE = 2  # usage and config errors, a busy or unreadable catalog
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT), as shells report 128 + SIGINT

F = TypeVar("F", bound=Callable[..., Any])


class UserError(Exception):
    """A mistake of the person running orgsync: shown as one clear message, no traceback."""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="orgsync")
def main() -> None:
    """Discover every resource of an AWS account or Organization into a DuckDB catalog."""


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"orgsync: {message}", err=True)
    sys.exit(code)


def user_errors(func: F) -> F:
    """Turn the errors a user can cause into a message and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fail(f"invalid configuration:\n{exc}")
        except (UserError, CatalogMissing, CatalogBusy, CatalogVersionError) as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


def catalog_option(func: F) -> F:
    return click.option(
        "--catalog",
        "catalog_path",
        default=default_catalog_path,
        show_default="orgsync.duckdb or $ORGSYNC_CATALOG",
        help="Path of the DuckDB catalog file.",
    )(func)


def split_csv(values: tuple[str, ...]) -> frozenset[str] | None:
    """`--accounts a,b --accounts c` -> {a, b, c}; nothing given -> None (no filter)."""
    items = {v.strip() for value in values for v in value.split(",") if v.strip()}
    return frozenset(items) if items else None
