"""Dropping old history: change rows, old sync runs (with their scopes and Resource Explorer
probes), optionally long-deleted rows.

Never a current resource row. Never the run an integration's status points at (its last sync and
its last complete sync), so `orgsync status` and the failed-scopes query keep working. Resource
rows marked deleted are history too, but they go only when asked (`deleted_too`): they are the
only record that a resource existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import duckdb

from catalog.connect import open_writer
from catalog.sql import execute, fetch_one

# Runs an integration still refers to are kept whatever their age.
_KEPT_RUNS = """
SELECT last_sync_id FROM integrations WHERE last_sync_id IS NOT NULL
UNION SELECT last_complete_sync_id FROM integrations WHERE last_complete_sync_id IS NOT NULL
"""

_OLD_RUNS = f"SELECT sync_id FROM sync_runs WHERE finished_at < $cutoff AND sync_id NOT IN ({_KEPT_RUNS})"

# table -> (the rows to remove, what they are); resource_rows last, and only when asked.
_TARGETS: dict[str, tuple[str, str]] = {
    "resource_changes": ("changed_at < $cutoff", "change history rows"),
    "sync_scopes": (f"sync_id IN ({_OLD_RUNS})", "scope results of old syncs"),
    "explorer_indexes": (f"sync_id IN ({_OLD_RUNS})", "Resource Explorer indexes seen by old syncs"),
    "explorer_setup": (f"sync_id IN ({_OLD_RUNS})", "Resource Explorer setups seen by old syncs"),
    "sync_runs": (f"sync_id IN ({_OLD_RUNS})", "old sync runs"),
    "resource_rows": ("deleted_at IS NOT NULL AND deleted_at < $cutoff", "resources deleted before the cutoff"),
}
PRUNED_WHAT: dict[str, str] = {table: what for table, (_, what) in _TARGETS.items()}


@dataclass(frozen=True)
class PruneReport:
    cutoff: datetime
    removed: dict[str, int]  # table -> rows removed (or that would be, in a dry run)
    dry_run: bool


def prune(path: str, keep_days: int, *, deleted_too: bool = False, dry_run: bool = False,
          now: datetime | None = None) -> PruneReport:
    """Remove history older than `keep_days` in one transaction; a dry run only counts."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=keep_days)
    tables = [t for t in _TARGETS if deleted_too or t != "resource_rows"]
    removed: dict[str, int] = {}
    with open_writer(path) as con:
        execute(con, "BEGIN")
        try:
            # In _TARGETS order: a run's scopes go before the run that selects them.
            for table in tables:
                where = _TARGETS[table][0]
                removed[table] = _count(con, f"SELECT count(*) FROM {table} WHERE {where}", cutoff)
                if removed[table] and not dry_run:
                    execute(con, f"DELETE FROM {table} WHERE {where}", {"cutoff": cutoff})
            execute(con, "ROLLBACK" if dry_run else "COMMIT")
        except BaseException:
            execute(con, "ROLLBACK")
            raise
    return PruneReport(cutoff=cutoff, removed=removed, dry_run=dry_run)


def _count(con: duckdb.DuckDBPyConnection, sql: str, cutoff: datetime) -> int:
    row = fetch_one(con, sql, {"cutoff": cutoff})
    return int(row[0]) if row else 0
