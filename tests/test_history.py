"""Change history: one resource_changes row per resource a commit added, modified, deleted or
restored, written with the rows in one transaction; the inventory as of a past time; prune.

Runs are hand-made RunRecords (what the engine hands the writer); the helpers here are shared by
the other history, migration and crash tests.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

import catalog.writer
from catalog.connect import open_writer
from catalog.prune import prune
from catalog.records import AccountRecord, ExplorerIndexRecord, ExplorerRecord, RunRecord, ScopeRecord
from catalog.staging import STAGED_SCHEMA
from catalog.writer import commit_run
from tests.conftest import run_cli

A1 = "111111111111"
A2 = "222222222222"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def row(name: str, tags: dict[str, str] | None = None, *, account: str = A1, region: str = "eu-west-1",
        resource_type: str = "ec2:instance", state: str = "running") -> dict[str, Any]:
    service, kind = resource_type.split(":")
    tags = tags or {}
    return {
        "arn": f"arn:aws:{service}:{region}:{account}:{kind}/{name}", "account_id": account, "region": region,
        "scope_region": region, "service": service, "resource_type": resource_type, "resource_id": name,
        "name": name, "tags": json.dumps(tags, sort_keys=True, separators=(",", ":")),
        "owner_tag_value": tags.get("owner"), "source": "services",
        "properties": json.dumps({"State": state}), "last_reported_at": None,
    }


def scope(account: str = A1, region: str = "eu-west-1", resource_type: str = "ec2:instance",
          status: str = "complete", error_code: str | None = None) -> ScopeRecord:
    return ScopeRecord(
        account_id=account, region=region, resource_type=resource_type, source="services", reason="test",
        status=status, error_code=error_code, error_message="denied" if error_code else None, resources=0,
        pages=1, api_calls=1, throttles=0, retries=0, started_at=T0, duration_ms=5,
    )


def run(finished: datetime, rows: list[dict[str, Any]], scopes: list[ScopeRecord] | None = None,
        integration: str = "acme") -> RunRecord:
    scopes = scopes if scopes is not None else [scope()]
    return RunRecord(
        integration=integration, kind="aws-organization", settings={}, mode="full",
        started_at=finished - timedelta(minutes=5), finished_at=finished, error=None,
        accounts=[AccountRecord(a, a, f"{a}@example.com", "ACTIVE", "Root", "r-1", "selected", None, ("eu-west-1",))
                  for a in sorted({s.account_id for s in scopes})],
        scopes=scopes, rows=[pa.RecordBatch.from_pylist(rows, schema=STAGED_SCHEMA)] if rows else [],
    )


def query(path: str | Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def changes(path: str | Path, sync_id: int) -> dict[str, tuple[Any, ...]]:
    """name -> (change, old_tags, new_tags, old_owner, new_owner) of one sync."""
    rows = query(path, "SELECT arn, change, old_tags, new_tags, old_owner, new_owner FROM resource_changes "
                       "WHERE sync_id = ?", [sync_id])
    decode = lambda v: None if v is None else json.loads(v)  # noqa: E731
    return {arn.rsplit("/", 1)[1]: (c, decode(o), decode(n), oo, no) for arn, c, o, n, oo, no in rows}


@pytest.fixture(scope="module")
def empty_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    template = tmp_path_factory.mktemp("template") / "empty.duckdb"
    with open_writer(str(template)):
        pass
    return template


@pytest.fixture
def path(empty_catalog: Path, tmp_path: Path) -> str:
    target = tmp_path / "catalog.duckdb"
    shutil.copy(empty_catalog, target)
    return str(target)


WEB = {"owner": "alice", "env": "prod"}


def test_every_kind_of_change_is_recorded_once(path: str) -> None:
    first = commit_run(path, run(at(0), [row("web", WEB), row("db", {"owner": "bob"}), row("tmp")]))
    assert changes(path, first.sync_id) == {
        "web": ("added", None, WEB, None, "alice"),
        "db": ("added", None, {"owner": "bob"}, None, "bob"),
        "tmp": ("added", None, {}, None, None),
    }
    second = commit_run(path, run(at(1), [row("web", {"owner": "carol", "team": "x"}), row("db", {"owner": "bob"})]))
    assert changes(path, second.sync_id) == {
        "web": ("modified", WEB, {"owner": "carol", "team": "x"}, "alice", "carol"),
        "tmp": ("deleted", {}, None, None, None),
    }
    third = commit_run(path, run(at(2), [row("web", {"owner": "carol", "team": "x"}), row("db", {"owner": "bob"}),
                                         row("tmp", {"owner": "dan"})]))
    assert changes(path, third.sync_id) == {"tmp": ("restored", {}, {"owner": "dan"}, None, "dan")}
    counts = query(path, "SELECT sync_id, added, modified, deleted, restored FROM sync_runs ORDER BY 1")
    assert counts == [(1, 3, 0, 0, 0), (2, 0, 1, 1, 0), (3, 0, 0, 0, 1)]
    diff = query(path, "SELECT tags_diff(old_tags, new_tags) FROM resource_changes WHERE change = 'modified'")
    assert diff == [({"added": {"team": "x"}, "removed": {"env": "prod"}, "changed": {"owner": ["alice", "carol"]}},)]


def test_an_unchanged_resync_writes_no_resource_row_and_no_history(path: str) -> None:
    rows = [row(f"r{i}", {"owner": f"o{i % 3}"}) for i in range(50)]
    commit_run(path, run(at(0), rows))
    before = query(path, "SELECT rowid, * FROM resource_rows ORDER BY rowid")
    again = commit_run(path, run(at(1), rows))
    assert (again.added, again.modified, again.deleted, again.restored) == (0, 0, 0, 0)
    assert query(path, "SELECT rowid, * FROM resource_rows ORDER BY rowid") == before  # same rows, same places
    assert query(path, "SELECT count(*) FROM resource_changes WHERE sync_id = ?", [again.sync_id]) == [(0,)]
    # last_seen still moves: it comes from the scope's completion
    assert query(path, "SELECT DISTINCT last_seen FROM resources") == [(at(1),)]


def test_only_the_changed_rows_are_rewritten(path: str) -> None:
    rows = [row(f"r{i}", {"owner": "a"}) for i in range(20)]
    commit_run(path, run(at(0), rows))
    rows[3] = row("r3", {"owner": "b"})
    second = commit_run(path, run(at(1), rows[:-1]))
    assert query(path, "SELECT resource_id, sync_id FROM resource_rows WHERE sync_id = ? ORDER BY 1",
                 [second.sync_id]) == [("r19", 2), ("r3", 2)]
    assert sorted(changes(path, second.sync_id)) == ["r19", "r3"]
    assert query(path, "SELECT first_seen FROM resource_rows WHERE resource_id = 'r3'") == [(at(0),)]


def test_failed_and_skipped_scopes_record_no_change(path: str) -> None:
    commit_run(path, run(at(0), [row("web", WEB), row("fn", resource_type="lambda:function")],
                         [scope(), scope(resource_type="lambda:function")]))
    second = commit_run(path, run(at(1), [], [scope(status="failed", error_code="InternalError"),
                                               scope(resource_type="lambda:function", status="skipped",
                                                     error_code="AccessDenied")]))
    assert second.deleted == 0 and changes(path, second.sync_id) == {}
    assert query(path, "SELECT count(*) FROM current_resources") == [(2,)]


def test_history_commits_with_the_rows_or_not_at_all(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    commit_run(path, run(at(0), [row("web", WEB)]))

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(catalog.writer, "_write_run_tables", explode)
    with pytest.raises(RuntimeError):
        commit_run(path, run(at(1), [row("web", {"owner": "zed"}), row("new")]))
    assert query(path, "SELECT sync_id, count(*) FROM resource_changes GROUP BY 1") == [(1, 1)]
    assert query(path, "SELECT owner_tag_value FROM resource_rows") == [("alice",)]


def as_of(path: str, when: datetime) -> dict[str, str | None]:
    rows = query(path, "SELECT resource_id, owner_tag_value, tags FROM resources_as_of(?)", [when])
    for _, owner, tags in rows:
        assert json.loads(tags).get("owner") == owner
    return {name: owner for name, owner, _ in rows}


def test_resources_as_of_replays_presence_and_tags(path: str) -> None:
    commit_run(path, run(at(0), [row("web", {"owner": "alice"}), row("tmp", {"owner": "t1"})]))
    commit_run(path, run(at(1), [row("web", {"owner": "bob"})]))                                 # tmp deleted
    commit_run(path, run(at(2), [row("web", {"owner": "bob"}), row("tmp", {"owner": "t2"}), row("db")]))  # restored
    commit_run(path, run(at(3), [row("web", {"owner": "carol"}), row("tmp", {"owner": "t2"}), row("db")]))
    assert as_of(path, at(-1)) == {}
    assert as_of(path, at(0)) == {"web": "alice", "tmp": "t1"}
    assert as_of(path, at(0.5)) == {"web": "alice", "tmp": "t1"}
    assert as_of(path, at(1.5)) == {"web": "bob"}
    assert as_of(path, at(2)) == {"web": "bob", "tmp": "t2", "db": None}
    assert as_of(path, at(9)) == {"web": "carol", "tmp": "t2", "db": None}
    # Pruning the first two syncs' history still answers for times after the cutoff.
    prune(path, keep_days=0, now=at(1.7))
    assert query(path, "SELECT min(sync_id) FROM resource_changes") == [(3,)]
    assert as_of(path, at(1.8)) == {"web": "bob"}
    assert as_of(path, at(2.5)) == {"web": "bob", "tmp": "t2", "db": None}
    assert as_of(path, at(9)) == {"web": "carol", "tmp": "t2", "db": None}


def test_as_of_a_catalog_without_history_uses_first_seen_and_deleted_at(path: str) -> None:
    commit_run(path, run(at(0), [row("web", {"owner": "alice"}), row("tmp")]))
    commit_run(path, run(at(1), [row("web", {"owner": "alice"})]))
    with duckdb.connect(path) as con:  # as a catalog upgraded from v1 looks: rows, no history yet
        con.execute("DELETE FROM resource_changes").fetchall()
    assert as_of(path, at(0.5)) == {"web": "alice", "tmp": None}
    assert as_of(path, at(1.5)) == {"web": "alice"}


# --- prune ----------------------------------------------------------------------------------------


def _probe(day: int) -> ExplorerRecord:
    index = ExplorerIndexRecord(A1, "us-east-1", "AGGREGATOR", "ACTIVE" if day else "CREATING",
                                None, None, None, day)
    return ExplorerRecord(True, A1, "us-east-1", "arn:view", "arn:org", True, "", 100, (), (index,))


def _daily_syncs(path: str) -> None:
    """Daily syncs for 15 days: a resource added every day, the oldest deleted every fifth day."""
    names: list[str] = []
    for day in range(15):
        names.append(f"d{day}")
        if day % 5 == 4:
            names.pop(0)
        record = run(T0 + timedelta(days=day), [row(n, {"owner": n}) for n in names])
        record.explorer = _probe(day)
        commit_run(path, record)


def test_prune_removes_history_but_never_current_rows(path: str) -> None:
    _daily_syncs(path)
    now = T0 + timedelta(days=15)
    live = query(path, "SELECT arn FROM current_resources ORDER BY 1")
    dry = prune(path, keep_days=5, now=now, dry_run=True)
    assert query(path, "SELECT count(*) FROM sync_runs") == [(15,)]
    report = prune(path, keep_days=5, now=now)
    assert report.removed == dry.removed
    assert report.removed["sync_runs"] == 10 and report.removed["sync_scopes"] == 10
    assert report.removed["explorer_setup"] == 10 and report.removed["explorer_indexes"] == 10
    assert query(path, "SELECT min(resources_counted), count(*) FROM explorer_indexes") == [(10, 5)]
    assert query(path, "SELECT index_state, resources_counted FROM explorer_coverage") == [("ACTIVE", 14)]
    assert report.removed["resource_changes"] == 10 + 2  # 10 added, 2 deleted before day 10
    assert "resource_rows" not in report.removed
    assert query(path, "SELECT arn FROM current_resources ORDER BY 1") == live
    assert query(path, "SELECT count(*) FROM resources WHERE deleted_at IS NOT NULL") == [(3,)]
    assert query(path, "SELECT min(changed_at) FROM resource_changes") == [(T0 + timedelta(days=10),)]

    # --deleted-too: the resources deleted before the cutoff go, the later ones and live ones stay.
    again = prune(path, keep_days=5, now=now, deleted_too=True)
    assert again.removed == {"resource_changes": 0, "sync_scopes": 0, "explorer_indexes": 0, "explorer_setup": 0,
                             "sync_runs": 0, "resource_rows": 2}
    assert query(path, "SELECT count(*) FROM resources WHERE deleted_at IS NOT NULL") == [(1,)]
    assert query(path, "SELECT arn FROM current_resources ORDER BY 1") == live


def test_prune_keeps_the_runs_an_integration_points_at(path: str) -> None:
    commit_run(path, run(at(0), [row("web")]))
    commit_run(path, run(at(1), [row("x")], integration="other"))
    report = prune(path, keep_days=0, now=at(100))
    assert report.removed["sync_runs"] == 0
    assert query(path, "SELECT sync_id FROM sync_runs ORDER BY 1") == [(1,), (2,)]
    assert report.removed["resource_changes"] == 2
    status = json.loads(run_cli("status", "--catalog", path, "--format", "json").output)
    assert [(s["integration"], s["last_sync"], s["resources"]) for s in status] == [("acme", 1, 1), ("other", 2, 1)]


def test_prune_cli_reports_what_it_removed(path: str) -> None:
    _daily_syncs(path)
    result = run_cli("prune", "--keep-days", "3650", "--catalog", path)
    assert result.exit_code == 0 and "removed 0 row(s)" in result.output
    result = run_cli("prune", "--keep-days", "0", "--catalog", path, "--format", "json", "--deleted-too")
    assert result.exit_code == 0
    removed = {r["table"]: r["removed"] for r in json.loads(result.output)}
    assert removed["resource_changes"] == 15 + 3 and removed["resource_rows"] == 3
    assert removed["sync_runs"] == 14  # the last one stays: the integration points at it
    assert query(path, "SELECT count(*) FROM current_resources") == [(12,)]
    missing = run_cli("prune", "--keep-days", "1", "--catalog", path + ".nope")
    assert missing.exit_code == 2 and "no catalog" in missing.output


def test_the_catalog_write_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.catalog_write import main

    main(["--rows", "4000"])
    out = capsys.readouterr().out
    assert "full re-sync, 1% changed" in out and "incremental" in out and "x its disk writes" in out
    assert out.count("+10 ~20 -10 r0") == 2  # 40 changes per re-sync, as many history rows
