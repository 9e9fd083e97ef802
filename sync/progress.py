"""What a running sync tells the person watching: a live display on a terminal, log lines otherwise."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from sync.scheduler import ScopeResult


@dataclass
class Counters:
    accounts: int = 0
    scopes_total: int = 0
    scopes_done: int = 0
    scopes_failed: int = 0
    scopes_skipped: int = 0
    resources: int = 0
    calls: int = 0
    throttles: int = 0
    retries: int = 0


class Progress:
    """Counts events; subclasses decide how to show them. The base class shows nothing (--quiet)."""

    def __init__(self) -> None:
        self.c = Counters()
        self.phase_text = "starting"

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.refresh(final=True)

    def event(self, kind: str) -> None:
        if kind == "call":
            self.c.calls += 1
        elif kind == "throttle":
            self.c.throttles += 1
        elif kind == "retry":
            self.c.retries += 1

    def phase(self, text: str) -> None:
        self.phase_text = text
        self.refresh()

    def planned(self, accounts: int, scopes: int) -> None:
        """More work discovered: `accounts` more accounts ready, `scopes` more scopes queued."""
        self.c.accounts += accounts
        self.c.scopes_total += scopes
        self.refresh()

    def scope_done(self, result: ScopeResult) -> None:
        self.c.scopes_done += 1
        self.c.resources += result.rows
        if result.status == "failed":
            self.c.scopes_failed += 1
        elif result.status == "skipped":
            self.c.scopes_skipped += 1
        self.refresh()

    def warn(self, text: str) -> None:
        pass

    def refresh(self, final: bool = False) -> None:
        pass

    def line(self) -> str:
        c = self.c
        return (f"{self.phase_text}: accounts {c.accounts}, scopes {c.scopes_done}/{c.scopes_total} "
                f"(failed {c.scopes_failed}, skipped {c.scopes_skipped}), resources {c.resources}, "
                f"calls {c.calls}, throttled {c.throttles}, retries {c.retries}")


class LogProgress(Progress):
    """Plain lines for logs and CI: one every `every` seconds, plus every failure as it happens."""

    def __init__(self, stream: TextIO = sys.stderr, every: float = 5.0) -> None:
        super().__init__()
        self._stream = stream
        self._every = every
        self._last = 0.0

    def scope_done(self, result: ScopeResult) -> None:
        super().scope_done(result)
        if result.status == "failed":
            k = result.key
            self._stream.write(f"scope failed: {k.account_id} {k.region} {k.resource_type}: "
                               f"{result.error_code}: {result.error_message}\n")

    def warn(self, text: str) -> None:
        self._stream.write(f"warning: {text}\n")

    def phase(self, text: str) -> None:
        # Every phase change is a line at once: whoever watches the log (or a crash test waiting
        # for "committing") learns where the sync is without waiting for the next periodic line.
        self.phase_text = text
        self.refresh(final=True)

    def refresh(self, final: bool = False) -> None:
        now = time.monotonic()
        if final or now - self._last >= self._every:
            self._last = now
            self._stream.write(self.line() + "\n")
            self._stream.flush()


class LiveProgress(Progress):
    """A rich live table on a terminal, redrawn at most 8 times a second."""

    def __init__(self, console: Console | None = None) -> None:
        super().__init__()
        self._console = console or Console(stderr=True)
        self._live = Live(self._render(), console=self._console, refresh_per_second=8, transient=False)

    def __enter__(self) -> "LiveProgress":
        self._live.__enter__()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._live.update(self._render())
        self._live.__exit__(t, e, tb)

    def warn(self, text: str) -> None:
        self._console.print(f"[yellow]warning:[/] {text}")

    def refresh(self, final: bool = False) -> None:
        self._live.update(self._render())

    def _render(self) -> Table:
        c = self.c
        table = Table(title=f"orgsync: {self.phase_text}", show_header=False, box=None)
        table.add_row("accounts", str(c.accounts))
        table.add_row("scopes", f"{c.scopes_done}/{c.scopes_total}")
        table.add_row("resources", f"{c.resources:,}")
        table.add_row("API calls", f"{c.calls:,}")
        table.add_row("throttled", f"{c.throttles:,}")
        table.add_row("failed scopes", f"[red]{c.scopes_failed}[/]" if c.scopes_failed else "0")
        table.add_row("skipped scopes", str(c.scopes_skipped))
        return table
