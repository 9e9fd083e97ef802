"""Schema versions: a newer orgsync upgrades an older catalog in place keeping every row; an older
orgsync refuses a newer catalog with a clear error and exit code 2.

The v1 catalog here is built the way orgsync 0.1 built it: v1's DDL, then rows written by a frozen
copy of v1's insert (its content hash included), so the upgrade meets real v1 data. The v2 catalog
is that v1 catalog upgraded by v2's migration, with history rows and, optionally, an identity
directory in the tables `idp sync` created on demand under v2 (frozen copies of that DDL and of
its one-row-per-integration idp_sources).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

import catalog.schema
from catalog.connect import open_reader, open_writer
from catalog.schema import MIGRATIONS, SCHEMA_VERSION, CatalogVersionError
from catalog.staging import STAGED_SCHEMA
from catalog.writer import commit_run
from sync.owners import resolve_owners
from tests.conftest import run_cli
from tests.test_history import A1, A2, at, query, row, run, scope
from tests.test_owners_resolution import load_directory

V1_TABLES = ("catalog_meta", "integrations", "sync_runs", "sync_scopes", "accounts", "scope_state", "resource_rows")

# orgsync 0.1's insert of new rows (catalog/writer.py at schema v1), frozen.
_V1_HASHED = "name, tags, owner_tag_value, properties, region, scope_region, resource_id, source, account_id, resource_type"
_V1_INSERT = f"""
INSERT INTO resource_rows
SELECT 'acme', s.arn, s.account_id, s.region, s.scope_region, s.service, s.resource_type,
       s.resource_id, s.name, s.tags, s.owner_tag_value, s.source, s.properties, s.last_reported_at,
       hash({_V1_HASHED}), $first, $seen, $deleted, $sync
FROM staged_arrow s
"""

LIVE = [row("web", {"owner": "alice"}), row("db", {"owner": "bob"}, account=A2),
        row("fn", {"team": "x"}, resource_type="lambda:function")]
GONE = [row("old", {"owner": "zed"})]


def build_v1(path: Path) -> None:
    t1, t2 = at(0), at(1)
    with duckdb.connect(str(path)) as con:
        con.execute(MIGRATIONS[1]).fetchall()
        con.execute("INSERT INTO catalog_meta VALUES ('schema_version', '1')").fetchall()
        con.execute("INSERT INTO integrations VALUES ('acme', 'aws-organization', '{}', 'active', NULL, 2, 2, ?)",
                    [t2]).fetchall()
        for sync_id, when in ((1, t1), (2, t2)):
            con.execute("INSERT INTO sync_runs (sync_id, integration, mode, started_at, finished_at, status) "
                        "VALUES (?, 'acme', 'full', ?, ?, 'partial')", [sync_id, when - timedelta(minutes=5), when])
        scopes = [(1, A1, "eu-west-1", "ec2:instance", "complete", None), (1, A2, "eu-west-1", "ec2:instance",
                  "complete", None), (1, A1, "eu-west-1", "lambda:function", "complete", None),
                  (2, A1, "eu-west-1", "ec2:instance", "complete", None),
                  (2, A2, "eu-west-1", "ec2:instance", "failed", "InternalError"),
                  (2, A1, "eu-west-1", "lambda:function", "skipped", "AccessDenied")]
        for sync_id, account, region, rtype, status, code in scopes:
            con.execute("INSERT INTO sync_scopes (sync_id, integration, account_id, region, resource_type, source, "
                        "status, error_code) VALUES (?, 'acme', ?, ?, ?, 'services', ?, ?)",
                        [sync_id, account, region, rtype, status, code]).fetchall()
        for account in (A1, A2):
            con.execute("INSERT INTO accounts VALUES ('acme', ?, ?, '', 'ACTIVE', 'Root', 'r-1', 'selected', NULL, "
                        "['eu-west-1'], 2)", [account, account]).fetchall()
        con.execute("INSERT INTO scope_state VALUES ('acme', ?, 'eu-west-1', 'ec2:instance', 2, ?, 1), "
                    "('acme', ?, 'eu-west-1', 'ec2:instance', 1, ?, 1), ('acme', ?, 'eu-west-1', 'lambda:function', 1, ?, 1)",
                    [A1, t2, A2, t1, A1, t1]).fetchall()
        for rows, deleted in ((LIVE, None), (GONE, t2)):
            con.register("staged_arrow", pa.Table.from_pylist(rows, schema=STAGED_SCHEMA))
            con.execute(_V1_INSERT, {"first": t1, "seen": t1, "deleted": deleted, "sync": 2 if deleted else 1})
            con.unregister("staged_arrow")


def dump(path: Path, tables: tuple[str, ...] = V1_TABLES,
         columns: dict[str, str] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each table (`columns`: the columns to read of some, by default all)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: sorted(con.execute(f"SELECT {(columns or {}).get(t, '*')} FROM {t}").fetchall(), key=repr)
                for t in tables}


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    path = tmp_path / "v1.duckdb"
    build_v1(path)
    return path


def test_a_reader_upgrades_a_v1_catalog_in_place_keeping_every_row(v1: Path) -> None:
    before = dump(v1)
    result = run_cli("query", "SELECT count(*) AS n FROM current_resources", "--catalog", str(v1), "--format", "csv")
    assert result.exit_code == 0 and result.output.splitlines() == ["n", "3"]
    after = dump(v1)
    assert after.pop("catalog_meta") == [("schema_version", str(SCHEMA_VERSION))]
    before.pop("catalog_meta")
    assert after == before
    # The new tables start from what v1 knew: each scope's last attempt, no history yet.
    assert query(v1, "SELECT account_id, resource_type, sync_id, status, error_code FROM scope_attempts ORDER BY ALL") == [
        (A1, "ec2:instance", 2, "complete", None), (A1, "lambda:function", 2, "skipped", "AccessDenied"),
        (A2, "ec2:instance", 2, "failed", "InternalError")]
    assert query(v1, "SELECT count(*) FROM resource_changes") == [(0,)]
    assert query(v1, "SELECT resource_id, stale_reason FROM stale_resources ORDER BY 1") == [
        ("db", "scope failed"), ("fn", "scope skipped")]
    assert query(v1, "SELECT resource_id FROM resources_as_of(?) ORDER BY 1", [at(0.5)]) == [
        ("db",), ("fn",), ("old",), ("web",)]


def test_the_first_commit_after_the_upgrade_rewrites_nothing_unchanged(v1: Path) -> None:
    with open_writer(str(v1)):
        pass
    rows_before = query(v1, "SELECT * FROM resource_rows ORDER BY arn")
    counts = commit_run(str(v1), run(at(2), LIVE, [scope(), scope(account=A2),
                                                    scope(resource_type="lambda:function")]))
    # v1's content hashes still match: nothing modified, nothing in the history but the facts
    assert (counts.added, counts.modified, counts.deleted, counts.restored) == (0, 0, 0, 0)
    assert query(v1, "SELECT * FROM resource_rows ORDER BY arn") == rows_before
    assert query(v1, "SELECT count(*) FROM stale_resources") == [(0,)]


def test_a_failed_upgrade_leaves_the_v1_catalog_as_it_was(v1: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = dump(v1)
    broken = dict(MIGRATIONS)
    broken[2] = MIGRATIONS[2] + "\nSELECT error('disk full');"
    monkeypatch.setattr(catalog.schema, "MIGRATIONS", broken)
    with pytest.raises(duckdb.Error, match="disk full"):
        with open_reader(str(v1)):
            pass
    assert dump(v1) == before
    assert query(v1, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'resource_changes'") == [(0,)]


@pytest.mark.parametrize("command", [("query", "SELECT 1"), ("status",), ("changes", "--since", "1"),
                                     ("prune", "--keep-days", "1")])
def test_an_older_orgsync_refuses_a_newer_catalog(v1: Path, command: tuple[str, ...]) -> None:
    with duckdb.connect(str(v1)) as con:
        con.execute("UPDATE catalog_meta SET value = '99' WHERE key = 'schema_version'").fetchall()
    before = dump(v1)
    result = run_cli(*command, "--catalog", str(v1))
    assert result.exit_code == 2
    assert f"has catalog schema version 99, newer than this orgsync understands ({SCHEMA_VERSION})" in result.output
    assert "upgrade orgsync" in result.output
    assert dump(v1) == before


def test_the_writer_refuses_a_newer_catalog_too(v1: Path) -> None:
    with duckdb.connect(str(v1)) as con:
        con.execute("UPDATE catalog_meta SET value = '99' WHERE key = 'schema_version'").fetchall()
    with pytest.raises(CatalogVersionError, match="newer"):
        commit_run(str(v1), run(at(3), LIVE))
    assert query(v1, "SELECT count(*) FROM sync_runs") == [(2,)]


def test_every_version_has_a_migration() -> None:
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION + 1))
    assert datetime.now(timezone.utc) > at(0)  # the fixtures' times are in the past


# orgsync 0.2 (schema v2): `idp sync` created these tables on demand, and kept one idp_sources row
# per integration (each sync deleted the previous one). Frozen.
_V2_IDENTITY_DDL = """
CREATE TABLE IF NOT EXISTS idp_sources (integration VARCHAR NOT NULL, source VARCHAR NOT NULL, source_ref VARCHAR,
    synced_at TIMESTAMPTZ NOT NULL, users BIGINT NOT NULL, groups BIGINT NOT NULL, memberships BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS idp_users (integration VARCHAR NOT NULL, user_id VARCHAR NOT NULL, user_name VARCHAR,
    display_name VARCHAR, primary_email VARCHAR, emails VARCHAR[]);
CREATE TABLE IF NOT EXISTS idp_groups (integration VARCHAR NOT NULL, group_id VARCHAR NOT NULL, display_name VARCHAR,
    description VARCHAR);
CREATE TABLE IF NOT EXISTS idp_memberships (integration VARCHAR NOT NULL, group_id VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL);
"""
IDENTITY_TABLES = ("idp_users", "idp_groups", "idp_memberships", "idp_sources")
V2_TABLES = (*V1_TABLES, "resource_changes", "scope_attempts", *IDENTITY_TABLES)
V2_COLUMNS = {"idp_sources": "integration, source, source_ref, synced_at, users, groups, memberships"}
SYNCED = at(1.5)


def build_v2(path: Path, *, directory: bool) -> None:
    build_v1(path)
    with duckdb.connect(str(path)) as con:
        con.execute(MIGRATIONS[2]).fetchall()
        con.execute("UPDATE catalog_meta SET value = '2' WHERE key = 'schema_version'").fetchall()
        # The history v2's writer recorded: the first sync added everything, the second deleted 'old'.
        for r in LIVE + GONE:
            con.execute("INSERT INTO resource_changes VALUES (1, 'acme', ?, ?, ?, ?, 'added', ?, NULL, ?, NULL, ?)",
                        [r["arn"], r["account_id"], r["region"], r["resource_type"], at(0), r["tags"],
                         r["owner_tag_value"]]).fetchall()
        gone = GONE[0]
        con.execute("INSERT INTO resource_changes VALUES (2, 'acme', ?, ?, ?, ?, 'deleted', ?, ?, NULL, ?, NULL)",
                    [gone["arn"], gone["account_id"], gone["region"], gone["resource_type"], at(1), gone["tags"],
                     gone["owner_tag_value"]]).fetchall()
        if not directory:
            return
        con.execute(_V2_IDENTITY_DDL).fetchall()
        con.execute("INSERT INTO idp_users VALUES ('acme', 'u-1', 'alice', 'Alice', 'alice@acme.com', "
                    "['alice@acme.com', 'a@acme.com']), ('acme', 'u-2', 'bob', NULL, NULL, [])").fetchall()
        con.execute("INSERT INTO idp_groups VALUES ('acme', 'g-1', 'payments', 'on call'), "
                    "('acme', 'g-2', 'empty', NULL)").fetchall()
        con.execute("INSERT INTO idp_memberships VALUES ('acme', 'g-1', 'u-1'), ('acme', 'g-1', 'u-2')").fetchall()
        con.execute("INSERT INTO idp_sources VALUES ('acme', 'file', 'idp.json', ?, 2, 2, 2)", [SYNCED]).fetchall()


@pytest.fixture
def v2(tmp_path: Path) -> Path:
    path = tmp_path / "v2.duckdb"
    build_v2(path, directory=True)
    return path


def test_a_v2_catalog_is_upgraded_in_place_keeping_every_row_and_its_directory(v2: Path) -> None:
    before = dump(v2, V2_TABLES, V2_COLUMNS)
    assert len(before["resource_changes"]) == 5 and len(before["idp_users"]) == 2  # there is something to keep
    result = run_cli("query", "SELECT count(*) AS n FROM current_resources", "--catalog", str(v2), "--format", "csv")
    assert result.exit_code == 0 and result.output.splitlines() == ["n", "3"]
    after = dump(v2, V2_TABLES, V2_COLUMNS)
    assert after.pop("catalog_meta") == [("schema_version", str(SCHEMA_VERSION))]
    before.pop("catalog_meta")
    assert after == before
    # The directory v2 knew is the first directory sync of the run table and the start of the history.
    assert query(v2, "SELECT idp_sync_id, added, modified, removed FROM idp_sources") == [(1, None, None, None)]
    assert query(v2, "SELECT kind, change, count(*), min(changed_at) = max(changed_at), min(changed_at) "
                     "FROM idp_changes GROUP BY ALL ORDER BY 1") == [
        ("group", "added", 2, True, SYNCED), ("membership", "added", 2, True, SYNCED), ("user", "added", 2, True, SYNCED)]
    for table in ("idp_users", "idp_groups", "idp_memberships"):
        assert query(v2, f"SELECT * FROM {table}_as_of(?) EXCEPT ALL SELECT * FROM {table}", [SYNCED]) == []
        assert query(v2, f"SELECT * FROM {table} EXCEPT ALL SELECT * FROM {table}_as_of(?)", [SYNCED]) == []
    # The next directory sync records only what changed since the directory v2 knew.
    load_directory(v2, "acme", {"users": [{"id": "u-1", "name": "alice", "display_name": "Alice",
                                           "emails": ["alice@acme.com", "a@acme.com"], "groups": ["g-1"]}],
                                "groups": [{"id": "g-1", "name": "payments", "description": "on call"},
                                           {"id": "g-2", "name": "empty"}]})
    assert query(v2, "SELECT idp_sync_id, added, modified, removed FROM idp_sources ORDER BY 1") == [
        (1, None, None, None), (2, 0, 0, 2)]
    assert query(v2, "SELECT kind, user_id FROM idp_changes WHERE idp_sync_id = 2 ORDER BY 1") == [
        ("membership", "u-2"), ("user", "u-2")]


def test_coverage_is_a_view_of_each_integrations_last_sync(v2: Path) -> None:
    with open_writer(str(v2)):
        pass
    expected = [("acme", 2, A1, "eu-west-1", "ec2:instance", "services", "complete", None),
                ("acme", 2, A1, "eu-west-1", "lambda:function", "services", "skipped", "AccessDenied"),
                ("acme", 2, A2, "eu-west-1", "ec2:instance", "services", "failed", "InternalError")]
    assert query(v2, "SELECT integration, sync_id, account_id, region, resource_type, source, status, error_code "
                     "FROM coverage ORDER BY ALL") == expected
    named = run_cli("query", "coverage", "-p", f"account={A2}", "--catalog", str(v2), "--format", "csv")
    assert named.exit_code == 0, named.output
    assert named.output.splitlines() == [
        "integration,account_id,region,resource_type,source,status,resources,reason,error_code",
        f"acme,{A2},eu-west-1,ec2:instance,services,failed,,,InternalError"]
    # A new sync replaces what coverage shows, scope by scope; another integration keeps its own.
    commit_run(str(v2), run(at(3), LIVE[:1], [scope()]))
    commit_run(str(v2), run(at(4), [], [scope(account=A2, status="skipped", error_code="AccessDenied")],
                            integration="other"))
    assert query(v2, "SELECT integration, sync_id, account_id, status FROM coverage ORDER BY ALL") == [
        ("acme", 3, A1, "complete"), ("other", 4, A2, "skipped")]


def test_a_v2_catalog_without_a_directory_gets_empty_identity_tables(tmp_path: Path) -> None:
    path = tmp_path / "v2.duckdb"
    build_v2(path, directory=False)
    before = dump(path, V2_TABLES[:-len(IDENTITY_TABLES)])
    resolution = resolve_owners(LIVE[0]["arn"], catalog=str(path))  # a reader upgrades it
    assert resolution.source == "none" and [p.code for p in resolution.problems] == ["no-integration-owner"]
    after = dump(path, V2_TABLES[:-len(IDENTITY_TABLES)])
    assert after.pop("catalog_meta") == [("schema_version", str(SCHEMA_VERSION))]
    before.pop("catalog_meta")
    assert after == before
    for table in (*IDENTITY_TABLES, "idp_changes"):
        assert query(path, f"SELECT count(*) FROM {table}") == [(0,)]


def test_a_new_catalog_has_the_identity_tables_from_creation(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    commit_run(str(path), run(at(0), LIVE, [scope()]))
    assert query(path, "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'idp_%' "
                       "ORDER BY 1") == [("idp_changes",), ("idp_groups",), ("idp_memberships",), ("idp_sources",),
                                         ("idp_users",)]
    assert query(path, "SELECT sync_id, account_id, status FROM coverage") == [(1, A1, "complete")]
    # A run without a Resource Explorer probe records none.
    assert query(path, "SELECT count(*) FROM explorer_setup") == [(0,)]
    assert query(path, "SELECT count(*) FROM explorer_coverage") == [(0,)]
    # A fresh catalog and an upgraded one have the same identity tables, column for column.
    upgraded = tmp_path / "v2.duckdb"
    build_v2(upgraded, directory=True)
    with open_writer(str(upgraded)):
        pass
    columns = ("SELECT table_name, column_name, data_type FROM information_schema.columns "
               "WHERE table_name LIKE 'idp_%' ORDER BY table_name, ordinal_position")
    assert query(path, columns) == query(upgraded, columns)


def test_a_failed_v3_upgrade_leaves_the_v2_catalog_as_it_was(v2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = dump(v2, V2_TABLES)
    broken = dict(MIGRATIONS)
    broken[3] = MIGRATIONS[3] + "\nSELECT error('disk full');"
    monkeypatch.setattr(catalog.schema, "MIGRATIONS", broken)
    with pytest.raises(duckdb.Error, match="disk full"):
        with open_reader(str(v2)):
            pass
    assert dump(v2, V2_TABLES) == before
    assert query(v2, "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('idp_changes', 'coverage')"
                 ) == [(0,)]


def test_an_orgsync_of_schema_v2_refuses_a_newer_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "new.duckdb"
    commit_run(str(path), run(at(0), LIVE, [scope()]))
    monkeypatch.setattr(catalog.schema, "SCHEMA_VERSION", 2)
    with pytest.raises(CatalogVersionError,
                       match=rf"schema version {SCHEMA_VERSION}, newer than this orgsync understands \(2\)"):
        with open_reader(str(path)):
            pass
