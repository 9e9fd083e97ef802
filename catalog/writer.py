"""The single writer: commit one sync run atomically with a scoped merge.

Everything a run changes (resource rows, scope state, the run and scope tables, accounts and the
integration's status) is written in one transaction: an interrupted run leaves the previous
state. Deletion is scoped: a row is marked deleted only when the scope that lists it completed
in this run and did not list it. Rows whose content hash did not change are not rewritten.
"""

from __future__ import annotations

import orjson
import pyarrow as pa
import duckdb

from catalog.connect import open_writer
from catalog.records import MergeCounts, RunRecord
from catalog.sql import execute, fetch_one
from catalog.staging import STAGED_SCHEMA

_HASHED = "name, tags, owner_tag_value, properties, region, scope_region, resource_id, source, account_id, resource_type"

_STAGE = f"""
CREATE TEMP TABLE staged AS
SELECT *, hash({_HASHED}) AS content_hash FROM staged_arrow
QUALIFY row_number() OVER (PARTITION BY arn ORDER BY scope_region) = 1
"""

_SET_FROM_STAGED = """
    account_id = s.account_id, region = s.region, scope_region = s.scope_region, service = s.service,
    resource_type = s.resource_type, resource_id = s.resource_id, name = s.name, tags = s.tags,
    owner_tag_value = s.owner_tag_value, source = s.source, properties = s.properties,
    last_reported_at = s.last_reported_at, content_hash = s.content_hash
"""

_RESTORE = f"""
UPDATE resource_rows AS r SET {_SET_FROM_STAGED}, deleted_at = NULL, last_seen = $now, sync_id = $sync
FROM staged s WHERE r.integration = $integration AND r.arn = s.arn AND r.deleted_at IS NOT NULL
"""

_MODIFY = f"""
UPDATE resource_rows AS r SET {_SET_FROM_STAGED}, last_seen = $now, sync_id = $sync
FROM staged s WHERE r.integration = $integration AND r.arn = s.arn AND r.deleted_at IS NULL
  AND r.content_hash <> s.content_hash
"""

_INSERT = """
INSERT INTO resource_rows
SELECT $integration, s.arn, s.account_id, s.region, s.scope_region, s.service, s.resource_type,
       s.resource_id, s.name, s.tags, s.owner_tag_value, s.source, s.properties, s.last_reported_at,
       s.content_hash, $now, $now, NULL, $sync
FROM staged s
WHERE NOT EXISTS (SELECT 1 FROM resource_rows r WHERE r.integration = $integration AND r.arn = s.arn)
"""

# last_seen of a vanished row: the last time its scope completed before this run.
_DELETE = """
UPDATE resource_rows AS r
SET deleted_at = $now, sync_id = $sync, last_seen = greatest(r.last_seen, coalesce(d.previous_complete_at, r.last_seen))
FROM done_scopes d
WHERE r.integration = $integration AND r.deleted_at IS NULL
  AND r.account_id = d.account_id AND r.scope_region = d.region AND r.resource_type = d.resource_type
  AND NOT EXISTS (SELECT 1 FROM staged s WHERE s.arn = r.arn)
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
    _write_integration_status(con, run, sync_id)


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


def commit_run(path: str, run: RunRecord) -> MergeCounts:
    rows = pa.Table.from_batches(run.rows, schema=STAGED_SCHEMA)
    with open_writer(path) as con:
        con.execute("BEGIN").fetchall()
        try:
            row = fetch_one(con, "SELECT coalesce(max(sync_id), 0) + 1 FROM sync_runs")
            sync_id = int(row[0]) if row else 1
            params = {"integration": run.integration, "sync": sync_id, "now": run.finished_at}
            con.register("staged_arrow", rows)
            con.register("done_arrow", _done_scopes_arrow(run))
            con.execute(_STAGE).fetchall()
            execute(con, _DONE_SCOPES, {"integration": run.integration})
            restored = _count(con, _RESTORE, params)
            modified = _count(con, _MODIFY, params)
            added = _count(con, _INSERT, params)
            deleted = _count(con, _DELETE, params)
            execute(con, _SCOPE_STATE, params)
            counts = MergeCounts(
                sync_id=sync_id,
                seen=rows.num_rows,
                added=added,
                modified=modified,
                restored=restored,
                deleted=deleted,
            )
            _write_run_tables(con, run, sync_id, counts)
            con.execute("DROP TABLE staged").fetchall()
            con.execute("DROP TABLE done_scopes").fetchall()
            con.unregister("staged_arrow")
            con.unregister("done_arrow")
            con.execute("COMMIT").fetchall()
        except BaseException:
            con.execute("ROLLBACK").fetchall()
            raise
    return counts
