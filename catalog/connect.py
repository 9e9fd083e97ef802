"""Opening the catalog: one writer at a time, readers that wait briefly for a commit to finish.

DuckDB lets one process hold a file read-write, and read-only openers are refused meanwhile. A
sync therefore stages its rows outside the catalog and opens it only to commit; a reader that
meets that short window retries for a few seconds, then says plainly what is going on.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from catalog.schema import SCHEMA_VERSION, check_readable, migrate

DEFAULT_CATALOG = "orgsync.duckdb"
READ_WAIT_SECONDS = 10.0
WRITE_WAIT_SECONDS = 60.0


class CatalogBusy(Exception):
    pass


class CatalogMissing(Exception):
    pass


def default_catalog_path() -> str:
    return os.environ.get("ORGSYNC_CATALOG") or DEFAULT_CATALOG


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text


def _open(path: str, *, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                if _is_lock_conflict(exc):
                    raise CatalogBusy(
                        f"catalog {path} is locked by another process (a sync committing?); "
                        f"waited {wait:.0f}s, try again"
                    ) from exc
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


@contextmanager
def open_reader(path: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection; an older catalog is upgraded first, so every reader sees one schema."""
    if not Path(path).exists():
        raise CatalogMissing(f"no catalog at {path}: run `orgsync sync CONFIG --catalog {path}` first")
    con = _open(path, read_only=True, wait=READ_WAIT_SECONDS)
    try:
        if check_readable(con, path) < SCHEMA_VERSION:
            con.close()
            upgrade(path)
            con = _open(path, read_only=True, wait=READ_WAIT_SECONDS)
            check_readable(con, path)
        yield con
    finally:
        con.close()


def upgrade(path: str) -> None:
    """Migrate the catalog at `path` to the current schema in one transaction (a no-op if current)."""
    with open_writer(path):
        pass


@contextmanager
def open_writer(path: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on a catalog migrated to the current schema."""
    con = _open(path, read_only=False, wait=WRITE_WAIT_SECONDS)
    try:
        con.execute("BEGIN").fetchall()
        try:
            migrate(con, path)
        except BaseException:
            con.execute("ROLLBACK").fetchall()
            raise
        con.execute("COMMIT").fetchall()
        yield con
    finally:
        con.close()


@contextmanager
def sync_lock(path: str) -> Iterator[None]:
    """Held for a whole sync: a second sync on the same catalog fails at once instead of waiting."""
    lock_path = f"{path}.lock"
    handle = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise CatalogBusy(f"catalog {path} is busy: a sync is already running ({holder})") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
