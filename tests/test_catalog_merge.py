"""The catalog writer's scoped merge, run bookkeeping, atomicity, versioning and locks.

Runs are hand-made RunRecords whose rows are Arrow batches in catalog.staging.STAGED_SCHEMA.
Every commit opens the DuckDB file, so tests keep commits and reads few: each reads the whole
catalog state once, through `read_state`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

import catalog.writer
from catalog.connect import CatalogBusy, CatalogMissing, open_reader, open_writer, sync_lock
from catalog.records import AccountRecord, MergeCounts, RunRecord, ScopeRecord
from catalog.schema import SCHEMA_VERSION, CatalogVersionError
from catalog.sql import execute
from catalog.staging import STAGED_SCHEMA
from catalog.writer import commit_run

A1 = "111111111111"
A2 = "222222222222"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
INTEGRATION = "acme"


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


# --- building what the engine hands over ----------------------------------------------------------


def row(name: str, *, account: str = A1, region: str = "eu-west-1", scope_region: str | None = None,
        resource_type: str = "ec2:instance", tags: dict[str, str] | None = None,
        properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """One staged row; `name` doubles as the resource id and makes the ARN."""
    service, kind = resource_type.split(":")
    if service == "s3":
        arn = f"arn:aws:s3:::{name}"
    elif service == "iam":
        arn = f"arn:aws:iam::{account}:{kind}/{name}"
    else:
        arn = f"arn:aws:{service}:{region}:{account}:{kind}/{name}"
    tags = tags or {}
    return {
        "arn": arn, "account_id": account, "region": region, "scope_region": scope_region or region,
        "service": service, "resource_type": resource_type, "resource_id": name, "name": name,
        "tags": json.dumps(tags, sort_keys=True, separators=(",", ":")), "owner_tag_value": tags.get("owner"),
        "source": "services", "properties": json.dumps(properties or {}, sort_keys=True, separators=(",", ":")),
        "last_reported_at": None,
    }


def scope(account: str = A1, region: str = "eu-west-1", resource_type: str = "ec2:instance",
          status: str = "complete", resources: int = 0, error_code: str | None = None) -> ScopeRecord:
    return ScopeRecord(
        account_id=account, region=region, resource_type=resource_type, source="services", reason="test",
        status=status, error_code=error_code, error_message=f"{error_code}: nope" if error_code else None,
        resources=resources, pages=1, api_calls=1, throttles=0, retries=0, started_at=T0, duration_ms=5,
    )


def run(finished: datetime, scopes: list[ScopeRecord], rows: list[dict[str, Any]], *,
        error: str | None = None, integration: str = INTEGRATION, batch: int = 0) -> RunRecord:
    """`rows` become Arrow batches of `batch` rows each (0: a single batch)."""
    size = batch or max(1, len(rows))
    batches = [pa.RecordBatch.from_pylist(rows[i:i + size], schema=STAGED_SCHEMA) for i in range(0, len(rows), size)]
    return RunRecord(
        integration=integration, kind="aws-organization", settings={"region": "us-east-1"}, mode="full",
        started_at=finished - timedelta(minutes=5), finished_at=finished, error=error,
        accounts=[AccountRecord(a, f"acct-{a}", f"{a}@example.com", "ACTIVE", "Root", "r-1", "selected", None,
                                ("eu-west-1",)) for a in sorted({s.account_id for s in scopes})],
        scopes=scopes, rows=batches,
    )


def counts(c: MergeCounts) -> tuple[int, int, int, int]:
    return c.added, c.modified, c.restored, c.deleted


EC2 = scope(resources=2)


def first_run(finished: datetime = T0) -> RunRecord:
    return run(finished, [EC2], [row("web", tags={"owner": "alice"}), row("db", tags={"owner": "bob"})])


# --- reading the catalog back ---------------------------------------------------------------------


@dataclass
class State:
    tables: dict[str, list[tuple[Any, ...]]]  # whole tables, rows sorted
    rows: dict[str, dict[str, Any]]  # resource_rows by name (this test's names are unique per catalog)
    view: dict[str, dict[str, Any]]  # the `resources` view by name
    scope_state: list[tuple[Any, ...]]
    runs: list[dict[str, Any]]
    integrations: dict[str, dict[str, Any]]

    @property
    def live(self) -> set[str]:
        return {n for n, r in self.view.items() if r["deleted_at"] is None}


def _dicts(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


SOME_TABLES = ("resource_rows", "accounts", "sync_scopes", "catalog_meta")


def read_state(path: str, tables: tuple[str, ...] | None = SOME_TABLES) -> State:
    """The catalog in one read; `tables` are dumped whole (None: every base table there is)."""
    with open_reader(path) as con:
        names = list(tables) if tables is not None else [
            r[0] for r in execute(con, "SELECT table_name FROM information_schema.tables "
                                       "WHERE table_type = 'BASE TABLE' AND table_schema = 'main'")
        ]
        dumped = {t: sorted(execute(con, f'SELECT * FROM "{t}"'), key=repr) for t in names}
        rows = _dicts(con, "SELECT * FROM resource_rows")
        view = _dicts(con, "SELECT * FROM resources")
        state = execute(con, "SELECT integration, account_id, region, resource_type, last_complete_sync_id, "
                             "last_complete_at, resources FROM scope_state ORDER BY ALL")
        runs = _dicts(con, "SELECT * FROM sync_runs ORDER BY sync_id")
        integrations = {i["name"]: i for i in _dicts(con, "SELECT * FROM integrations")}
    by_name = {r["name"]: r for r in rows}
    assert len(by_name) == len(rows), "test names must be unique"
    return State(dumped, by_name, {r["name"]: r for r in view}, state, runs, integrations)


@pytest.fixture(scope="module")
def empty_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog migrated once per module; tests start from a copy (migrating costs as much as a commit)."""
    template = tmp_path_factory.mktemp("template") / "empty.duckdb"
    with open_writer(str(template)):
        pass
    return template


@pytest.fixture
def path(tmp_path: Path, empty_catalog: Path) -> str:
    target = tmp_path / "catalog.duckdb"
    shutil.copyfile(empty_catalog, target)
    return str(target)


@pytest.fixture
def fresh_path(tmp_path: Path) -> str:
    return str(tmp_path / "fresh.duckdb")


# --- insert, no-op, modify ------------------------------------------------------------------------


def test_first_commit_inserts_into_a_new_catalog(fresh_path: str) -> None:
    c = commit_run(fresh_path, first_run())
    assert c.sync_id == 1 and c.seen == 2 and counts(c) == (2, 0, 0, 0)
    s = read_state(fresh_path)
    assert s.tables["catalog_meta"] == [("schema_version", str(SCHEMA_VERSION))]
    web = s.rows["web"]
    assert (web["integration"], web["account_id"], web["region"], web["scope_region"]) == (
        INTEGRATION, A1, "eu-west-1", "eu-west-1"
    )
    assert web["arn"] == f"arn:aws:ec2:eu-west-1:{A1}:instance/web"
    assert (web["first_seen"], web["last_seen"], web["deleted_at"], web["sync_id"]) == (T0, T0, None, 1)
    assert web["owner_tag_value"] == "alice" and json.loads(web["tags"]) == {"owner": "alice"}
    assert s.live == {"web", "db"}
    assert s.scope_state == [(INTEGRATION, A1, "eu-west-1", "ec2:instance", 1, T0, 2)]
    [r] = s.runs
    assert (r["sync_id"], r["integration"], r["status"], r["resources_seen"], r["added"], r["deleted"]) == (
        1, INTEGRATION, "complete", 2, 2, 0
    )
    assert s.tables["accounts"][0][:3] == (INTEGRATION, A1, f"acct-{A1}")
    i = s.integrations[INTEGRATION]
    assert (i["status"], i["status_reason"], i["last_sync_id"], i["last_complete_sync_id"]) == ("active", None, 1, 1)
    assert i["kind"] == "aws-organization" and json.loads(i["settings"]) == {"region": "us-east-1"}
    assert i["updated_at"] == T0


def test_unchanged_recommit_rewrites_no_row_but_last_seen_moves(path: str) -> None:
    commit_run(path, first_run())
    before = read_state(path)
    again = first_run(at(2))
    again.accounts = [replace(again.accounts[0], name="renamed", regions=())]
    c = commit_run(path, again)
    assert c.sync_id == 2 and c.seen == 2 and counts(c) == (0, 0, 0, 0)
    after = read_state(path)
    assert after.tables["resource_rows"] == before.tables["resource_rows"]  # every column, sync_id included
    assert {(v["last_seen"], v["first_seen"], v["sync_id"]) for v in after.view.values()} == {(at(2), T0, 1)}
    assert [(x[4], x[5]) for x in after.scope_state] == [(2, at(2))]
    # accounts are upserted; empty regions (an account that could not be entered) keep the old ones
    [account] = after.tables["accounts"]  # (integration, account_id, name, ..., regions, last_sync_id)
    assert (account[1], account[2], account[-2], account[-1]) == (A1, "renamed", ["eu-west-1"], 2)


def test_a_run_with_an_error_sets_the_integration_to_error_and_touches_no_row(path: str) -> None:
    commit_run(path, first_run())
    before = read_state(path)
    commit_run(path, run(at(1), [], [], error="cannot assume the management role"))
    s = read_state(path)
    i = s.integrations[INTEGRATION]
    assert (i["status"], i["status_reason"]) == ("error", "cannot assume the management role")
    assert (i["last_sync_id"], i["last_complete_sync_id"]) == (2, 1)  # the last good sync is kept
    assert (s.runs[1]["status"], s.runs[1]["error"]) == ("failed", "cannot assume the management role")
    assert s.tables["resource_rows"] == before.tables["resource_rows"]
    assert s.scope_state == before.scope_state


def test_modified_tags_and_properties_update_the_row(path: str) -> None:
    commit_run(path, run(T0, [scope(resources=3)], [
        row("web", tags={"owner": "alice"}), row("db", properties={"State": "running"}), row("cache"),
    ]))
    c = commit_run(path, run(at(1), [scope(resources=3)], [
        row("web", tags={"owner": "carol", "env": "prod"}), row("db", properties={"State": "stopped"}), row("cache"),
    ]))
    assert counts(c) == (0, 2, 0, 0)
    s = read_state(path)
    web = s.rows["web"]
    assert json.loads(web["tags"]) == {"owner": "carol", "env": "prod"} and web["owner_tag_value"] == "carol"
    assert (web["first_seen"], web["last_seen"], web["sync_id"], web["deleted_at"]) == (T0, at(1), 2, None)
    assert json.loads(s.rows["db"]["properties"]) == {"State": "stopped"}
    assert (s.rows["cache"]["last_seen"], s.rows["cache"]["sync_id"]) == (T0, 1)  # unchanged: untouched
    assert s.view["cache"]["last_seen"] == at(1)
    assert (s.runs[1]["modified"], s.runs[1]["added"]) == (2, 0)


# --- scoped deletion ------------------------------------------------------------------------------


def test_rows_missing_from_completed_scopes_are_deleted(path: str) -> None:
    rds = scope(resource_type="rds:db", resources=1)
    commit_run(path, run(T0, [EC2, rds], [row("web"), row("db"), row("orders", resource_type="rds:db")]))
    c = commit_run(path, run(at(1), [scope(resources=1), replace(rds, resources=0)], [row("web")]))
    assert counts(c) == (0, 0, 0, 2)  # one missing from a scope, one from a scope that came back empty
    s = read_state(path)
    assert s.live == {"web"}
    for name in ("db", "orders"):
        gone = s.rows[name]
        assert gone["deleted_at"] == at(1) and gone["sync_id"] == 2
        assert gone["last_seen"] == T0 == s.view[name]["last_seen"]  # the last time its scope saw it
    assert s.runs[1]["deleted"] == 2


def test_rows_missing_from_failed_or_skipped_scopes_are_untouched(path: str) -> None:
    use1 = scope(region="us-east-1", resources=1)
    rds = scope(resource_type="rds:db", resources=1)
    commit_run(path, run(T0, [EC2, use1, rds], [row("web"), row("db"), row("api", region="us-east-1"),
                                               row("orders", resource_type="rds:db")]))
    before = read_state(path)
    c = commit_run(path, run(at(1), [
        scope(status="failed", error_code="InternalError"),
        scope(region="us-east-1", status="skipped", error_code="AccessDenied"),
        rds,
    ], [row("orders", resource_type="rds:db")]))
    assert counts(c) == (0, 0, 0, 0)
    after = read_state(path)
    assert after.tables["resource_rows"] == before.tables["resource_rows"]
    assert after.live == {"web", "db", "api", "orders"}
    # failed and skipped scopes keep their last completion: last_seen of their rows does not move
    assert {x[2]: x[4] for x in after.scope_state if x[3] == "ec2:instance"} == {"eu-west-1": 1, "us-east-1": 1}
    assert after.view["web"]["last_seen"] == T0 and after.view["orders"]["last_seen"] == at(1)
    assert (after.runs[1]["scopes_failed"], after.runs[1]["scopes_skipped"], after.runs[1]["status"]) == (
        1, 1, "partial"
    )


def test_rows_of_scopes_not_in_the_run_and_of_other_integrations_are_untouched(path: str) -> None:
    commit_run(path, run(T0, [EC2, scope(A2, resources=1), scope(resource_type="rds:db", resources=1)],
                         [row("web"), row("db"), row("other-account", account=A2),
                          row("orders", resource_type="rds:db")]))
    before = read_state(path)
    c = commit_run(path, run(at(1), [EC2], [], integration="other"))  # same scope, another integration
    assert counts(c) == (0, 0, 0, 0)
    c = commit_run(path, run(at(2), [scope(resources=1)], [row("web")]))  # only A1/eu-west-1/ec2:instance ran
    assert counts(c) == (0, 0, 0, 1)
    after = read_state(path)
    assert after.live == {"web", "other-account", "orders"}
    for name in ("web", "other-account", "orders"):
        assert after.rows[name] == before.rows[name]


def test_a_deleted_row_that_reappears_is_restored(path: str) -> None:
    commit_run(path, first_run())
    c = commit_run(path, run(at(1), [scope()], []))
    assert counts(c) == (0, 0, 0, 2)
    # web comes back as it was, db with a new owner: both are restored, neither is "modified"
    c = commit_run(path, run(at(2), [EC2], [row("web", tags={"owner": "alice"}), row("db", tags={"owner": "dan"})]))
    assert counts(c) == (0, 0, 2, 0)
    s = read_state(path)
    assert s.live == {"web", "db"}
    for name in ("web", "db"):
        r = s.rows[name]
        assert (r["deleted_at"], r["sync_id"], r["first_seen"], r["last_seen"]) == (None, 3, T0, at(2))
    assert s.rows["db"]["owner_tag_value"] == "dan"  # restored with this run's content
    assert (s.runs[2]["restored"], s.runs[2]["deleted"], s.runs[2]["added"]) == (2, 0, 0)


def test_global_scopes_delete_s3_rows_whose_region_is_a_real_region(path: str) -> None:
    s3 = scope(region="global", resource_type="s3:bucket", resources=3)

    def bucket(name: str, region: str) -> dict[str, Any]:
        return row(name, region=region, scope_region="global", resource_type="s3:bucket")

    commit_run(path, run(T0, [s3], [bucket("logs", "eu-west-1"), bucket("site", "us-east-1"),
                                    bucket("keep", "eu-west-1")]))
    # The global scope lists keep and site but not logs. A regional scope of the same type that
    # completed empty in eu-west-1 does not own the bucket rows: it deletes neither logs nor keep.
    c = commit_run(path, run(at(1), [replace(s3, resources=2), scope(region="eu-west-1", resource_type="s3:bucket")],
                             [bucket("site", "us-east-1"), bucket("keep", "eu-west-1")]))
    assert counts(c) == (0, 0, 0, 1)
    s = read_state(path)
    assert s.live == {"site", "keep"}
    assert (s.rows["logs"]["region"], s.rows["logs"]["scope_region"]) == ("eu-west-1", "global")
    assert s.rows["logs"]["deleted_at"] == at(1)
    assert s.view["keep"]["last_seen"] == at(1)  # from the global scope's completion


def test_unreadable_tags_keep_what_the_catalog_had(path: str) -> None:
    s3 = scope(region="global", resource_type="s3:bucket", resources=2)

    def bucket(name: str, tags: dict[str, str] | None) -> dict[str, Any]:
        r = row(name, region="eu-west-1", scope_region="global", resource_type="s3:bucket", tags=tags or {})
        return r if tags is not None else r | {"tags": None, "owner_tag_value": None}

    commit_run(path, run(T0, [s3], [bucket("logs", {"owner": "alice"}), bucket("site", {})]))
    # An SCP now denies the region the tags are read in: both come back with tags unknown, plus
    # a new bucket whose tags were never known.
    c = commit_run(path, run(at(1), [replace(s3, resources=3)],
                             [bucket("logs", None), bucket("site", None), bucket("new", None)]))
    assert counts(c) == (1, 0, 0, 0)  # the known ones are unchanged, not "modified to no tags"
    s = read_state(path)
    assert json.loads(s.rows["logs"]["tags"]) == {"owner": "alice"} and s.rows["logs"]["owner_tag_value"] == "alice"
    assert s.rows["logs"]["sync_id"] == 1
    assert s.rows["new"]["tags"] is None and s.rows["new"]["owner_tag_value"] is None
    # Readable again, and changed: an ordinary modification.
    c = commit_run(path, run(at(2), [replace(s3, resources=3)],
                             [bucket("logs", {"owner": "bob"}), bucket("site", {}), bucket("new", {})]))
    assert counts(c) == (0, 2, 0, 0)
    assert read_state(path).rows["logs"]["owner_tag_value"] == "bob"


def test_duplicate_arns_in_one_run_are_stored_once(path: str) -> None:
    web = row("web", tags={"owner": "alice"})
    c = commit_run(path, run(T0, [EC2], [web, row("db"), web], batch=2))  # the duplicate in another batch
    assert counts(c) == (2, 0, 0, 0)
    s = read_state(path)
    assert len(s.tables["resource_rows"]) == 2 and s.live == {"web", "db"}


def test_resources_seen_counts_each_resource_once(path: str) -> None:
    web = row("web")
    c = commit_run(path, run(T0, [EC2], [web, row("db"), web]))
    assert c.seen == 2


# --- integrations and runs ------------------------------------------------------------------------


def test_integration_active_after_a_partial_run(path: str) -> None:
    record = run(T0, [EC2, scope(region="us-east-1", status="failed", error_code="InternalError")],
                 [row("web"), row("db")])
    assert record.status == "partial"
    commit_run(path, record)
    s = read_state(path)
    i = s.integrations[INTEGRATION]
    assert (i["status"], i["last_complete_sync_id"]) == ("active", 1)
    assert "1 scope(s)" in i["status_reason"]
    r = s.runs[0]
    assert (r["status"], r["scopes_total"], r["scopes_complete"], r["scopes_failed"]) == ("partial", 2, 1, 1)
    scopes = sorted((x[3], x[7], x[8]) for x in s.tables["sync_scopes"])  # region, status, error_code
    assert scopes == [("eu-west-1", "complete", None), ("us-east-1", "failed", "InternalError")]


def test_integration_error_when_every_scope_failed(path: str) -> None:
    commit_run(path, run(T0, [scope(status="failed", error_code="InternalError"),
                              scope(region="us-east-1", status="failed", error_code="InternalError")], []))
    i = read_state(path).integrations[INTEGRATION]
    assert (i["status"], i["status_reason"], i["last_complete_sync_id"]) == ("error", "every scope failed", None)


# --- atomicity ------------------------------------------------------------------------------------


def _explode(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("disk full")


def test_a_commit_that_fails_midway_leaves_the_previous_state(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    commit_run(path, first_run())
    before = read_state(path, tables=None).tables
    # This run adds, modifies and deletes; the rows are merged by the time the failure comes.
    doomed = run(at(1), [scope(resources=2)], [row("web", tags={"owner": "zed"}), row("new")])
    monkeypatch.setattr(catalog.writer, "_write_run_tables", _explode)
    with pytest.raises(RuntimeError, match="disk full"):
        commit_run(path, doomed)
    assert read_state(path, tables=None).tables == before  # every table, exactly
    monkeypatch.undo()
    c = commit_run(path, doomed)  # the catalog is still usable; the failed sync consumed no id
    assert c.sync_id == 2 and counts(c) == (1, 1, 0, 1)


def test_a_failing_first_commit_leaves_an_empty_catalog(fresh_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog.writer, "_write_integration_status", _explode)
    with pytest.raises(RuntimeError, match="disk full"):
        commit_run(fresh_path, first_run())
    tables = read_state(fresh_path, tables=None).tables
    assert tables["catalog_meta"] == [("schema_version", str(SCHEMA_VERSION))]
    assert {t: rows for t, rows in tables.items() if rows and t != "catalog_meta"} == {}


# --- schema version, missing catalog, lock --------------------------------------------------------


def test_a_newer_catalog_is_refused(path: str) -> None:
    with open_reader(path) as con:
        assert execute(con, "SELECT value FROM catalog_meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    with duckdb.connect(path) as con:
        con.execute("UPDATE catalog_meta SET value = ? WHERE key = 'schema_version'",
                    [str(SCHEMA_VERSION + 1)]).fetchall()
    with pytest.raises(CatalogVersionError, match="newer"), open_reader(path):
        pass
    with pytest.raises(CatalogVersionError):
        commit_run(path, first_run())  # the writer refuses too, and changes nothing
    with duckdb.connect(path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM resource_rows").fetchall() == [(0,)]


def test_open_reader_on_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.duckdb"
    with pytest.raises(CatalogMissing, match="nope.duckdb"), open_reader(str(missing)):
        pass
    assert not missing.exists()  # and it does not create one


def test_sync_lock_refuses_a_second_holder(path: str) -> None:
    with sync_lock(path), pytest.raises(CatalogBusy, match="pid"), sync_lock(path):
        pass
    with sync_lock(path):  # released: the next sync can take it
        pass
