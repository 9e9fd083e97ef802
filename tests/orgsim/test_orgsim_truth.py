"""Determinism, mutations and ground truth (Python API, admin HTTP endpoint and CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from orgsim_testkit import client, collect_services

import orgsim

ROOT = Path(__file__).resolve().parents[2]


def _by_arn(rows: Any) -> dict[str, dict[str, Any]]:
    return {r["arn"]: r for r in rows}


def test_same_seed_same_inventory() -> None:
    a = list(orgsim.World("small").truth())
    b = list(orgsim.iter_inventory("small"))
    assert a == b and len(a) > 500
    c = list(orgsim.World("small", {"organization": {"seed": 99}}).truth())
    assert {r["arn"] for r in c} != {r["arn"] for r in a}
    assert len({r["arn"] for r in a}) == len(a)  # ARNs are unique


def test_mutate_changes_exactly_the_share() -> None:
    world = orgsim.World("small", {"resources": {"total": 3000}})
    before = _by_arn(world.truth())
    live = world.inventory.live_total()
    gen = world.mutate(0.02, seed=7)
    after = _by_arn(world.truth())
    k = round(0.02 * live)
    assert gen.deleted == gen.retagged == gen.added == k > 10
    gone = before.keys() - after.keys()
    new = after.keys() - before.keys()
    changed = [a for a in before.keys() & after.keys() if before[a]["tags"] != after[a]["tags"]]
    assert (len(gone), len(new), len(changed)) == (k, k, k)
    assert any(before[a]["tags"].get("owner") != after[a]["tags"].get("owner") for a in changed)
    assert not any(r["resource_type"] == "iam:group" for r in (before[a] for a in gone))
    # generations are cumulative and replayable
    assert _by_arn(world.truth(0)) == before
    world.mutate(0.01, seed=8)
    replay = orgsim.World("small", {"resources": {"total": 3000}})
    assert list(orgsim.iter_inventory(replay, mutations=[(0.02, 7), (0.01, 8)])) == list(
        world.truth())


def test_mutations_visible_through_apis_and_admin() -> None:
    with orgsim.run_in_thread("small", overrides={
        "quotas": {"enabled": False}, "explorer": {"mutation_lag": 1}
    }) as sim:
        re = client(sim, "resource-explorer-2")
        before_re = {r["Arn"] for p in re.get_paginator("list_resources").paginate()
                     for r in p["Resources"]}
        req = urllib.request.Request(f"{sim.endpoint_url}/_orgsim/mutate",
                                     data=b'{"share": 0.05, "seed": 3}', method="POST")
        with urllib.request.urlopen(req) as resp:
            gen = json.loads(resp.read())
        assert gen["number"] == 1 and gen["deleted"] > 0
        truth = [r for r in sim.truth() if r["account_id"] == sim.world.org.management_id]
        assert collect_services(sim, 0) == {r["arn"]: r["tags"] for r in truth}
        # Resource Explorer trails by one generation here, like an index catching up
        after_re = {r["Arn"] for p in re.get_paginator("list_resources").paginate()
                    for r in p["Resources"]}
        assert after_re == before_re
        with urllib.request.urlopen(f"{sim.endpoint_url}/_orgsim/truth?generation=1") as resp:
            rows = [json.loads(line) for line in resp.read().splitlines()]
        assert rows == list(sim.truth())
        stats = json.loads(urllib.request.urlopen(f"{sim.endpoint_url}/_orgsim/stats").read())
        assert stats["generation"] == 1 and stats["internal_errors"] == 0
        sim.mutate(0.01, 4)
        assert sim.world.generation == 2


def test_cli_truth_and_serve() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "orgsim", "truth", "--scenario", "small", "--mutation", "0.05:3",
         "--generation", "1"],
        cwd=ROOT, capture_output=True, check=True, timeout=60,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    world = orgsim.World("small")
    world.mutate(0.05, 3)
    assert rows == list(world.truth())
    proc = subprocess.Popen(
        [sys.executable, "-m", "orgsim", "serve", "--scenario", "small", "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        port = url.rsplit(":", 1)[-1]
        res = subprocess.run(
            [sys.executable, "-m", "orgsim", "mutate", "--port", port, "--share", "0.01",
             "--seed", "7"], cwd=ROOT, capture_output=True, check=True, timeout=60, text=True)
        assert json.loads(res.stdout)["number"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_bad_scenarios_name_the_field() -> None:
    with pytest.raises(orgsim.ScenarioError, match="organization.acounts"):
        orgsim.load_scenario("small", {"organization": {"acounts": 3}})
    with pytest.raises(orgsim.ScenarioError, match="resources.total"):
        orgsim.load_scenario("small", {"resources": {"total": "many"}})
    with pytest.raises(orgsim.ScenarioError, match="unknown scenario"):
        orgsim.load_scenario("no-such-scenario")
