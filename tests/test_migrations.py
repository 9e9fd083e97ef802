"""Schema versions: a newer orgsync upgrades an older catalog in place keeping every row; an older
orgsync refuses a newer catalog with a clear error and exit code 2.

The v1 catalog here is built the way orgsync 0.1 built it: v1's DDL, then rows written by a frozen
copy of v1's insert (its content hash included), so the upgrade meets real v1 data.
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
from tests.conftest import run_cli
from tests.test_history import A1, A2, at, query, row, run, scope

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


def dump(path: Path, tables: tuple[str, ...] = V1_TABLES) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


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
