"""Incremental syncs refresh what is due and leave the rest untouched; --arn refreshes one scope."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest

from catalog.state import ScopeMemory
from sync.arns import UnknownArn, scope_of_arn
from sync.plan import ExplorerQuery, ScopeKey, WorkItem
from sync.refresh import DEFAULT_REFRESH_MINUTES, decide, select_due
from sync.sources.registry import service_specs
from tests.conftest import run_cli, write
from tests.test_explorer_sync import CONFIG, simulated

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
SPECS = service_specs()
GLOBAL = {t for t, s in SPECS.items() if s.is_global}


def test_refresh_policy_by_age_and_type_interval() -> None:
    assert decide(None, 60, NOW).refresh
    assert not decide(ScopeMemory(3, NOW - timedelta(minutes=59)), 60, NOW).refresh
    assert decide(ScopeMemory(3, NOW - timedelta(minutes=61)), 60, NOW).refresh
    fresh = WorkItem(ScopeKey("1", "us-east-1", "ec2:instance"), "services", "us-east-1", "r")
    old = WorkItem(ScopeKey("1", "us-east-1", "rds:db"), "services", "us-east-1", "r")
    never = WorkItem(ScopeKey("2", "us-east-1", "rds:db"), "services", "us-east-1", "r")
    query = ExplorerQuery((ScopeKey("3", "us-east-1", "rds:db"),), "explorer-aggregator", "3", "us-east-1", "v", "f", "r")
    previous = {("1", "us-east-1", "ec2:instance"): ScopeMemory(1, NOW - timedelta(minutes=10)),
                ("1", "us-east-1", "rds:db"): ScopeMemory(1, NOW - timedelta(minutes=10)),
                ("3", "us-east-1", "rds:db"): ScopeMemory(1, NOW)}
    keep, tally = select_due([fresh, old, never, query], previous=previous, intervals={"rds:db": 5}, now=NOW)
    assert [i.keys for i in keep] == [old.keys, never.keys, query.keys]
    # A fresh Resource Explorer scope is spared only by a change signal: without one it is listed.
    assert tally == {"not refreshed: fresh": 1, "refreshed: older than its interval": 1,
                     "refreshed: never completed": 1, "refreshed: no change signal": 1}
    assert DEFAULT_REFRESH_MINUTES == 60


def test_arn_to_scope() -> None:
    assert scope_of_arn("arn:aws:ec2:eu-west-1:111122223333:instance/i-1", SPECS, GLOBAL) == \
        ScopeKey("111122223333", "eu-west-1", "ec2:instance")
    assert scope_of_arn("arn:aws:rds:eu-west-1:111122223333:db:orders", SPECS, GLOBAL).resource_type == "rds:db"
    assert scope_of_arn("arn:aws:iam::111122223333:role/admin", SPECS, GLOBAL) == \
        ScopeKey("111122223333", "global", "iam:role")
    assert scope_of_arn("arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf", SPECS, GLOBAL).resource_type == \
        "secretsmanager:secret"
    for bad in ("nope", "arn:aws:ec2:eu-west-1:1:volume/vol-1", "arn:aws:s3:::bucket"):
        with pytest.raises(UnknownArn):
            scope_of_arn(bad, SPECS, GLOBAL)


def sync(tmp_path: Path, *args: str) -> dict[str, Any]:
    config = write(tmp_path / "orgsync.toml", CONFIG + 'refresh_minutes = { "rds:db" = 5 }\n')
    result = run_cli("sync", config, "--catalog", str(tmp_path / "c.duckdb"), "--json", "--rate-scale", "20", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)[0]  # type: ignore[no-any-return]


def q(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_incremental_refreshes_only_what_is_due(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with simulated(monkeypatch) as sim:
        first = sync(tmp_path, "--source", "services")
        rows = q(tmp_path, "SELECT * FROM resource_rows ORDER BY arn")
        ec2_before = {a for (a,) in q(tmp_path, "SELECT arn FROM resources WHERE resource_type = 'ec2:instance'")}
        second = sync(tmp_path, "--source", "services", "--incremental")
        assert second["mode"] == "incremental" and second["scopes"]["complete"] == 0
        assert second["refresh"] == {"not refreshed: fresh": first["scopes"]["complete"]}
        assert q(tmp_path, "SELECT * FROM resource_rows ORDER BY arn") == rows

        # Age the RDS scopes past their 5-minute interval and the EC2 ones past the default hour.
        with duckdb.connect(str(tmp_path / "c.duckdb")) as con:
            con.execute("""UPDATE scope_state SET last_complete_at = last_complete_at - INTERVAL 10 MINUTE
                           WHERE resource_type IN ('rds:db', 'ec2:instance')""").fetchall()
        sim.mutate(0.2, seed=3)
        third = sync(tmp_path, "--source", "services", "--incremental")
        refreshed = {t for (t,) in q(tmp_path, """SELECT DISTINCT resource_type FROM sync_scopes
                                                 WHERE sync_id = (SELECT max(sync_id) FROM sync_runs)""")}
        assert refreshed == {"rds:db"}
        assert third["refresh"]["refreshed: older than its interval"] == \
            len(q(tmp_path, "SELECT 1 FROM scope_state WHERE resource_type = 'rds:db'"))
        truth = {t["arn"] for t in sim.truth() if t["reachable"]}
    rds = {a for (a,) in q(tmp_path, "SELECT arn FROM current_resources WHERE resource_type = 'rds:db'")}
    assert rds == {a for a in truth if ":rds:" in a}  # refreshed: exactly the new truth
    ec2 = {a for (a,) in q(tmp_path, "SELECT arn FROM current_resources WHERE resource_type = 'ec2:instance'")}
    assert ec2 == ec2_before  # not due: untouched, though the simulator changed some


def test_arn_refreshes_exactly_its_scope(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with simulated(monkeypatch):
        sync(tmp_path, "--source", "services")
        [(arn, account, region)] = q(tmp_path, """SELECT arn, account_id, region FROM current_resources
                                                  WHERE resource_type = 'ec2:instance' ORDER BY arn LIMIT 1""")
        summary = sync(tmp_path, "--arn", arn)
    assert summary["scopes"] == {"complete": 1, "skipped": 0, "failed": 0}
    assert q(tmp_path, "SELECT account_id, region, resource_type FROM sync_scopes WHERE sync_id = 2") == \
        [(account, region, "ec2:instance")]
    bad = run_cli("sync", str(tmp_path / "orgsync.toml"), "--catalog", str(tmp_path / "c.duckdb"),
                  "--arn", "arn:aws:ec2:eu-west-1:1:volume/vol-1")
    assert bad.exit_code == 2 and "--arn" in bad.output
