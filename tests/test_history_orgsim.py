"""Writes proportional to change, end to end: the engine syncs the simulator, the simulator mutates
a share of its resources, and the next sync records exactly those changes and rewrites nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import orgsim
from tests.conftest import run_cli, write
from tests.test_history import query

SIM_CONFIG = """
[[integration]]
name = "sim"
type = "aws-organization"
region = "us-east-1"
sso_region = "us-east-1"
sso_portal = "https://sim.awsapps.com/start"
integration_owner = { attribute = "group", values = ["platform-admins"] }
resource_owner = { tag_key = "owner", attribute = "group" }
"""


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[orgsim.Simulator]:
    with orgsim.run_in_thread("small", overrides={"quotas": {"enabled": False}}) as simulator:
        for key, value in simulator.env().items():
            monkeypatch.setenv(key, value)
        yield simulator


def sync(config: str, catalog: Path) -> dict[str, Any]:
    result = run_cli("sync", config, "--catalog", str(catalog), "--json")
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.output)[0]
    return summary


def reachable(sim: orgsim.Simulator, generation: int) -> dict[str, dict[str, str]]:
    return {r["arn"]: r["tags"] for r in sim.truth(generation) if r["reachable"]}


def test_resync_writes_only_what_the_simulator_changed(sim: orgsim.Simulator, tmp_path: Path) -> None:
    config = write(tmp_path / "orgsync.toml", SIM_CONFIG)
    catalog = tmp_path / "c.duckdb"
    first = sync(config, catalog)
    truth0 = reachable(sim, 0)
    assert first["resources"]["added"] == len(truth0)
    assert query(catalog, "SELECT count(*) FROM resource_changes WHERE change = 'added'") == [(len(truth0),)]

    rows_before = query(catalog, "SELECT rowid, * FROM resource_rows ORDER BY rowid")
    unchanged = sync(config, catalog)
    res = unchanged["resources"]
    assert (res["added"], res["modified"], res["deleted"], res["restored"]) == (0, 0, 0, 0)
    assert query(catalog, "SELECT count(*) FROM resource_changes WHERE sync_id = ?", [unchanged["sync_id"]]) == [(0,)]
    assert query(catalog, "SELECT rowid, * FROM resource_rows ORDER BY rowid") == rows_before

    generation = sim.mutate(0.01, seed=7)
    assert generation["deleted"] and generation["retagged"] and generation["added"]
    truth1 = reachable(sim, 1)
    expected = {arn: "added" for arn in truth1.keys() - truth0.keys()}
    expected |= {arn: "deleted" for arn in truth0.keys() - truth1.keys()}
    expected |= {arn: "modified" for arn in truth0.keys() & truth1.keys() if truth0[arn] != truth1[arn]}
    changed = sync(config, catalog)
    recorded = query(catalog, "SELECT arn, change, new_tags FROM resource_changes WHERE sync_id = ?",
                     [changed["sync_id"]])
    assert {arn: change for arn, change, _ in recorded} == expected
    assert len(recorded) == len(expected)  # one row per changed resource
    for arn, change, tags in recorded:
        if change != "deleted":
            assert json.loads(tags) == truth1[arn]
    # Rows outside the change were not rewritten: still the first sync's.
    last_change = dict(query(catalog, "SELECT arn, sync_id FROM resource_rows"))
    assert {arn for arn, sync_id in last_change.items() if sync_id == changed["sync_id"]} == set(expected)
    assert all(last_change[arn] == first["sync_id"] for arn in truth0.keys() - expected.keys())

    listed = json.loads(run_cli("changes", "--since", str(unchanged["sync_id"]), "--catalog", str(catalog),
                                "--format", "json", "--limit", "0").output)
    assert {c["arn"]: c["change"] for c in listed} == expected
