"""The single writer: commit one sync run atomically with a scoped merge.

Everything a run changes (resource rows, scope state, the run and scope tables, accounts and the
integration's status) is written in one transaction: an interrupted run leaves the previous
state. Deletion is scoped: a row is marked deleted only when the scope that lists it completed
in this run and did not list it. Rows whose content hash did not change are not rewritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from catalog.connect import open_writer
from catalog.records import ExplorerRecord, MergeCounts, RunRecord
from catalog.sql import execute, fetch_one
from catalog.staging import STAGED_SCHEMA

_HASHED = "name, tags, owner_tag_value, properties, region, scope_region, resource_id, source, account_id, resource_type"

# Only when the run listed an ARN twice (e.g. a global resource seen from two scopes) is the
# staged data copied to pick one; otherwise the Arrow rows are read in place.
_STAGE_DEDUPED = """
CREATE TEMP TABLE staged AS SELECT * FROM staged_arrow
QUALIFY row_number() OVER (PARTITION BY arn ORDER BY scope_region) = 1
"""
_STAGE_AS_IS = "CREATE TEMP VIEW staged AS SELECT * FROM staged_arrow"

# Tags that could not be read this run (NULL, e.g. an SCP denies the region a bucket's tags are
# read in) are not "no tags": such a row keeps the tags and owner tag the catalog has for it.
_STAGE_KEEPING_TAGS = """
CREATE TEMP TABLE staged AS
SELECT s.* REPLACE (coalesce(s.tags, r.tags) AS tags,
                    CASE WHEN s.tags IS NULL THEN r.owner_tag_value ELSE s.owner_tag_value END AS owner_tag_value)
FROM staged_arrow s
LEFT JOIN (SELECT arn, tags, owner_tag_value FROM resource_rows WHERE integration = $integration) r ON r.arn = s.arn
QUALIFY row_number() OVER (PARTITION BY s.arn ORDER BY s.scope_region) = 1
"""

# The staged rows that differ from the catalog: new, changed, or back after a deletion. An
# unchanged row (same content hash, live) is not in here and is never written.
_DIFF = f"""
CREATE TEMP TABLE diff AS
WITH s AS (SELECT *, hash({_HASHED}) AS content_hash FROM staged)
SELECT s.*, r.rid, r.first_seen AS old_first_seen,
       CASE WHEN r.rid IS NULL THEN 'added' WHEN r.deleted_at IS NOT NULL THEN 'restored' ELSE 'modified' END
           AS change
FROM s LEFT JOIN (SELECT rowid AS rid, arn, content_hash, first_seen, deleted_at
                  FROM resource_rows WHERE integration = $integration) r ON r.arn = s.arn
WHERE r.rid IS NULL OR r.deleted_at IS NOT NULL OR r.content_hash <> s.content_hash
"""

# An integration's first sync: every row is new, and copying a million of them into a temporary
# table first would double the cost of the commit.
_DIFF_ALL_NEW = f"""
CREATE TEMP VIEW diff AS
SELECT *, hash({_HASHED}) AS content_hash, NULL::BIGINT AS rid, NULL::TIMESTAMPTZ AS old_first_seen,
       'added' AS change
FROM staged
"""

# Live rows of scopes that completed in this run without listing them. last_seen of a vanished
# row: the last time its scope completed before this run.
_GONE = """
CREATE TEMP TABLE gone AS
SELECT r.rowid AS rid, r.arn, r.account_id, r.region, r.resource_type, r.tags, r.owner_tag_value,
       greatest(r.last_seen, coalesce(d.previous_complete_at, r.last_seen)) AS last_seen
FROM resource_rows r
JOIN done_scopes d ON r.account_id = d.account_id AND r.scope_region = d.region AND r.resource_type = d.resource_type
WHERE r.integration = $integration AND r.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM staged s WHERE s.arn = r.arn)
"""

_HISTORY_GONE = """
SELECT $sync, $integration, arn, account_id, region, resource_type, 'deleted', $now,
       tags, NULL, owner_tag_value, NULL
FROM gone
"""

_HISTORY = f"""
INSERT INTO resource_changes
SELECT $sync, $integration, d.arn, d.account_id, d.region, d.resource_type, d.change, $now,
       o.tags, d.tags, o.owner_tag_value, d.owner_tag_value
FROM diff d LEFT JOIN (SELECT rowid AS rid, tags, owner_tag_value FROM resource_rows
                       WHERE rowid IN (SELECT rid FROM diff)) o ON o.rid = d.rid
UNION ALL {_HISTORY_GONE}
"""

_HISTORY_ALL_NEW = f"""
INSERT INTO resource_changes
SELECT $sync, $integration, arn, account_id, region, resource_type, 'added', $now,
       NULL, tags, NULL, owner_tag_value
FROM staged
UNION ALL {_HISTORY_GONE}
"""

# A changed row is replaced (delete + append) rather than updated in place: DuckDB rewrites every
# updated column of every row group an UPDATE touches at the next checkpoint, so updating 1% of
# the rows scattered over the table rewrites most of it, while deletes and appends write about
# as much as changed.
_REPLACED = "DELETE FROM resource_rows WHERE rowid IN (SELECT rid FROM diff WHERE rid IS NOT NULL)"

_WRITE = """
INSERT INTO resource_rows
SELECT $integration, arn, account_id, region, scope_region, service, resource_type, resource_id, name, tags,
       owner_tag_value, source, properties, last_reported_at, content_hash, coalesce(old_first_seen, $now),
       $now, NULL, $sync
FROM diff
"""

# Three narrow columns: cheap to update in place.
_DELETE = """
UPDATE resource_rows SET deleted_at = $now, sync_id = $sync, last_seen = g.last_seen
FROM gone g WHERE resource_rows.rowid = g.rid
"""

_DONE_SCOPES = """
CREATE TEMP TABLE done_scopes AS
SELECT d.account_id, d.region, d.resource_type, d.resources, st.last_complete_at AS previous_complete_at
FROM done_arrow d
LEFT JOIN scope_state st ON st.integration = $integration AND st.account_id = d.account_id
 AND st.region = d.region AND st.resource_type = d.resource_type
"""

_SCOPE_STATE = """
INSERT OR REPLACE INTO scope_state
SELECT $integration, account_id, region, resource_type, $sync, $now, resources FROM done_scopes
"""

# A scope listed twice in one run counts by its worst outcome.
_SCOPE_ATTEMPTS = """
INSERT OR REPLACE INTO scope_attempts
SELECT $integration, account_id, region, resource_type, $sync, status, error_code, error_message, $now
FROM scope_arrow
QUALIFY row_number() OVER (PARTITION BY account_id, region, resource_type
                           ORDER BY CASE status WHEN 'failed' THEN 0 WHEN 'skipped' THEN 1 ELSE 2 END) = 1
"""

_TEMPS = ("gone", "done_scopes")


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> int:
    row = fetch_one(con, sql, params)
    return int(row[0]) if row else 0


def _done_scopes_arrow(run: RunRecord) -> pa.Table:
    done = [s for s in run.scopes if s.status == "complete"]
    return pa.table(
        {
            "account_id": pa.array([s.account_id for s in done], pa.string()),
            "region": pa.array([s.region for s in done], pa.string()),
            "resource_type": pa.array([s.resource_type for s in done], pa.string()),
            "resources": pa.array([s.resources for s in done], pa.int64()),
        }
    )


def _write_run_tables(
    con: duckdb.DuckDBPyConnection, run: RunRecord, sync_id: int, counts: MergeCounts
) -> None:
    scopes = run.scopes
    execute(
        con,
        """INSERT INTO sync_runs VALUES ($sync, $integration, $mode, $started, $now, $status, $error,
           $acc_ok, $acc_failed, $acc_excluded, $scopes, $complete, $skipped, $failed,
           $seen, $added, $modified, $deleted, $restored, $calls, $throttles, $retries,
           $warnings, $options, $version)""",
        {
            "sync": sync_id,
            "integration": run.integration,
            "mode": run.mode,
            "started": run.started_at,
            "now": run.finished_at,
            "status": run.status,
            "error": run.error,
            "acc_ok": sum(1 for a in run.accounts if a.status == "selected"),
            "acc_failed": sum(1 for a in run.accounts if a.status == "failed"),
            "acc_excluded": sum(1 for a in run.accounts if a.status in ("excluded", "inactive")),
            "scopes": len(scopes),
            "complete": sum(1 for s in scopes if s.status == "complete"),
            "skipped": sum(1 for s in scopes if s.status == "skipped"),
            "failed": sum(1 for s in scopes if s.status == "failed"),
            "seen": counts.seen,
            "added": counts.added,
            "modified": counts.modified,
            "deleted": counts.deleted,
            "restored": counts.restored,
            "calls": run.api_calls,
            "throttles": run.throttles,
            "retries": run.retries,
            "warnings": orjson.dumps(run.warnings).decode(),
            "options": orjson.dumps(run.options).decode(),
            "version": _version(),
        },
    )
    if scopes:
        table = pa.table(
            {
                "account_id": [s.account_id for s in scopes],
                "region": [s.region for s in scopes],
                "resource_type": [s.resource_type for s in scopes],
                "source": [s.source for s in scopes],
                "reason": [s.reason for s in scopes],
                "status": [s.status for s in scopes],
                "error_code": pa.array([s.error_code for s in scopes], pa.string()),
                "error_message": pa.array([s.error_message for s in scopes], pa.string()),
                "resources": [s.resources for s in scopes],
                "pages": [s.pages for s in scopes],
                "api_calls": [s.api_calls for s in scopes],
                "throttles": [s.throttles for s in scopes],
                "retries": [s.retries for s in scopes],
                "started_at": [s.started_at for s in scopes],
                "duration_ms": [s.duration_ms for s in scopes],
            }
        )
        con.register("scope_arrow", table)
        execute(
            con,
            "INSERT INTO sync_scopes SELECT $sync, $integration, * FROM scope_arrow",
            {"sync": sync_id, "integration": run.integration},
        )
        execute(con, _SCOPE_ATTEMPTS, {"sync": sync_id, "integration": run.integration, "now": run.finished_at})
        con.unregister("scope_arrow")
    for a in run.accounts:
        # Accounts that failed keep the regions they had: the next successful run fills them in.
        execute(
            con,
            """INSERT INTO accounts VALUES ($i, $id, $name, $email, $state, $path, $parent, $status, $reason, $regions, $sync)
               ON CONFLICT (integration, account_id) DO UPDATE SET name = excluded.name, email = excluded.email,
                 state = excluded.state, ou_path = excluded.ou_path, parent_id = excluded.parent_id,
                 status = excluded.status, status_reason = excluded.status_reason,
                 regions = CASE WHEN len(excluded.regions) > 0 THEN excluded.regions ELSE accounts.regions END,
                 last_sync_id = excluded.last_sync_id""",
            {
                "i": run.integration,
                "id": a.account_id,
                "name": a.name,
                "email": a.email,
                "state": a.state,
                "path": a.ou_path,
                "parent": a.parent_id,
                "status": a.status,
                "reason": a.status_reason,
                "regions": list(a.regions),
                "sync": sync_id,
            },
        )
    if run.explorer is not None:
        _write_explorer(con, run.integration, run.explorer, sync_id)
    _write_integration_status(con, run, sync_id)


def _write_explorer(con: duckdb.DuckDBPyConnection, integration: str, found: ExplorerRecord, sync_id: int) -> None:
    execute(
        con,
        "INSERT INTO explorer_setup VALUES ($sync, $i, $trusted, $account, $region, $arn, $scope, $tags, $filter, "
        "$types, $problems)",
        {"sync": sync_id, "i": integration, "trusted": found.trusted_access, "account": found.aggregator_account,
         "region": found.aggregator_region, "arn": found.view_arn, "scope": found.view_scope,
         "tags": found.view_has_tags, "filter": found.view_filter, "types": found.supported_types,
         "problems": list(found.problems)},
    )
    if not found.indexes:
        return
    rows = found.indexes
    table = pa.table(
        {
            "account_id": pa.array([r.account_id for r in rows], pa.string()),
            "region": pa.array([r.region for r in rows], pa.string()),
            "index_type": pa.array([r.index_type for r in rows], pa.string()),
            "index_state": pa.array([r.index_state for r in rows], pa.string()),
            "view_arn": pa.array([r.view_arn for r in rows], pa.string()),
            "view_has_tags": pa.array([r.view_has_tags for r in rows], pa.bool_()),
            "view_filter": pa.array([r.view_filter for r in rows], pa.string()),
            "resources_counted": pa.array([r.resources_counted for r in rows], pa.int64()),
        }
    )
    con.register("explorer_arrow", table)
    try:
        execute(con, "INSERT INTO explorer_indexes SELECT $sync, $i, * FROM explorer_arrow",
                {"sync": sync_id, "i": integration})
    finally:
        con.unregister("explorer_arrow")


def _write_integration_status(con: duckdb.DuckDBPyConnection, run: RunRecord, sync_id: int) -> None:
    previous = fetch_one(
        con, "SELECT last_complete_sync_id FROM integrations WHERE name = ?", [run.integration]
    )
    last_complete = previous[0] if previous else None
    if run.status == "failed":
        status, reason = "error", run.error or "every scope failed"
    else:
        # Partial runs count as a completed first fetch: what could be read was read; the failed
        # scopes are warnings, shown by `orgsync status`.
        status, reason, last_complete = "active", None, sync_id
        failed = sum(1 for s in run.scopes if s.status == "failed")
        failed_accounts = sum(1 for a in run.accounts if a.status == "failed")
        if failed or failed_accounts:
            reason = f"{failed} scope(s) and {failed_accounts} account(s) failed in sync {sync_id}"
    execute(
        con,
        """INSERT OR REPLACE INTO integrations VALUES ($name, $kind, $settings, $status, $reason, $sync, $complete, $now)""",
        {
            "name": run.integration,
            "kind": run.kind,
            "settings": orjson.dumps(run.settings).decode(),
            "status": status,
            "reason": reason,
            "sync": sync_id,
            "complete": last_complete,
            "now": run.finished_at,
        },
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("orgsync")
    except PackageNotFoundError:
        return "unknown"


def _run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> None:
    # DuckDB refuses named parameters a statement does not use.
    execute(con, sql, {k: v for k, v in params.items() if f"${k}" in sql})


def _merge(con: duckdb.DuckDBPyConnection, rows: pa.Table, params: dict[str, object]) -> dict[str, int]:
    """Rows, history and scope state of one run; returns how many resources each change touched."""
    duplicated = rows.num_rows > 0 and pc.count_distinct(rows["arn"]).as_py() < rows.num_rows
    unread_tags = rows.num_rows > 0 and rows["tags"].null_count > 0
    stage = _STAGE_KEEPING_TAGS if unread_tags else _STAGE_DEDUPED if duplicated else _STAGE_AS_IS
    first = _count(con, "SELECT count(*) FROM resource_rows WHERE integration = $integration",
                   {"integration": params["integration"]}) == 0
    for sql in (stage, _DONE_SCOPES, _DIFF_ALL_NEW if first else _DIFF,
                _GONE, _HISTORY_ALL_NEW if first else _HISTORY, _REPLACED, _WRITE, _DELETE, _SCOPE_STATE):
        _run_sql(con, sql, params)
    if first:
        counts = {"added": _count(con, "SELECT count(*) FROM staged", {})}
    else:
        counts = dict(execute(con, "SELECT change, count(*) FROM diff GROUP BY change"))
    counts["deleted"] = _count(con, "SELECT count(*) FROM gone", {})
    counts["seen"] = _count(con, "SELECT count(*) FROM staged", {})  # one per resource, duplicates folded
    # Views first: they depend on the tables.
    execute(con, "DROP VIEW diff" if first else "DROP TABLE diff")
    execute(con, f"DROP {'VIEW' if stage is _STAGE_AS_IS else 'TABLE'} staged")
    for table in _TEMPS:
        execute(con, f"DROP TABLE {table}")
    return counts


@contextmanager
def _any_insertion_order(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    # Keeping the Arrow rows' order costs DuckDB ordered batch inserts: measured a fifth of a
    # first sync's commit CPU (8.9 -> 7.1 ms per 1,000 rows) and of its wall time. Every reader
    # orders what it needs; rowids are only used within one commit. The setting is the database
    # instance's (GLOBAL), so it is put back for any other connection of this process.
    execute(con, "SET preserve_insertion_order = false")
    try:
        yield
    finally:
        execute(con, "RESET preserve_insertion_order")


def commit_run(path: str, run: RunRecord) -> MergeCounts:
    rows = pa.Table.from_batches(run.rows, schema=STAGED_SCHEMA)
    with open_writer(path) as con, _any_insertion_order(con):
        execute(con, "BEGIN")
        try:
            row = fetch_one(con, "SELECT coalesce(max(sync_id), 0) + 1 FROM sync_runs")
            sync_id = int(row[0]) if row else 1
            params: dict[str, object] = {"integration": run.integration, "sync": sync_id, "now": run.finished_at}
            con.register("staged_arrow", rows)
            con.register("done_arrow", _done_scopes_arrow(run))
            changed = _merge(con, rows, params)
            counts = MergeCounts(
                sync_id=sync_id,
                seen=changed["seen"],
                added=changed.get("added", 0),
                modified=changed.get("modified", 0),
                restored=changed.get("restored", 0),
                deleted=changed.get("deleted", 0),
            )
            _write_run_tables(con, run, sync_id, counts)
            con.unregister("staged_arrow")
            con.unregister("done_arrow")
            execute(con, "COMMIT")
        except BaseException:
            execute(con, "ROLLBACK")
            raise
    return counts
