"""The benchmark harness keeps working: `python -m benchmarks run small --quick` end to end.

No timing assertions (CI machines vary); only that every reported field is there, that both
tools found exactly the simulator's reachable resources, and that the bound model agrees with
what the engine actually called.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import orgsim
from benchmarks.bound import BucketLoad, compute_bound, org_walk_calls
from orgsim.world import World

REPO = Path(__file__).resolve().parent.parent
TOOL_FIELDS = ("runs", "wall_s", "resources", "count_matches_truth", "resources_per_s", "api_calls", "throttled",
               "retries", "peak_rss_mb", "cpu_s", "cpu_per_wall", "efficiency")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    results = out / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "small", "--quick", "--out", str(out), "--rev", "worktree",
         "--results", str(results), "--source", "auto", "--source", "services"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not results.exists(), "--quick must not append to the results file"
    [path] = out.glob("*-small.json")
    return dict(json.loads(path.read_text()))


def test_report_has_every_field(quick_run: dict[str, Any]) -> None:
    for key in ("scenario", "commit", "command", "started_at", "machine", "bound", "bounds", "truth_resources",
                "tools", "runs", "baseline_ratio"):
        assert key in quick_run, key
    assert quick_run["machine"]["cores"] >= 1 and quick_run["machine"]["memory_gib"] > 0
    assert quick_run["bound"]["seconds"] > 0 and "T_bound" in quick_run["bound"]["formula"]
    assert set(quick_run["tools"]) == {"orgsync[auto]", "orgsync[services]", "baseline-sequential"}
    for name, tool in quick_run["tools"].items():
        for field in TOOL_FIELDS:
            assert field in tool, (name, field)
        assert tool["wall_s"] > 0 and tool["peak_rss_mb"] > 0 and tool["cpu_s"] > 0
    auto, services = quick_run["tools"]["orgsync[auto]"], quick_run["tools"]["orgsync[services]"]
    assert auto["efficiency"] > 0 and services["efficiency"] > 0
    # Each source is held to its own bound: services to the services model, auto to any source's.
    assert (auto["bound_model"], services["bound_model"]) == ("any", "services")
    assert quick_run["bound"]["model"] == "any"
    assert quick_run["tools"]["baseline-sequential"]["efficiency"] is None  # it skips the OU walk
    assert set(quick_run["baseline_ratio"]) == {"orgsync[services]", "baseline-sequential"}  # against auto
    assert all(r > 0 for r in quick_run["baseline_ratio"].values())
    assert [r["argv_source"] for r in quick_run["runs"]["orgsync[services]"]] == ["services"]


def test_both_tools_find_the_ground_truth(quick_run: dict[str, Any]) -> None:
    # Independent of the harness's own count: generate every resource and keep the reachable ones.
    truth = sum(1 for row in orgsim.iter_inventory("small") if row["reachable"])
    assert quick_run["truth_resources"] == truth
    for name, tool in quick_run["tools"].items():
        assert tool["resources"] == truth, name
        assert tool["count_matches_truth"], name
        assert tool["type_mismatches"] == {}, name


@pytest.mark.parametrize(("tool", "model"), [("orgsync[services]", "services"), ("orgsync[auto]", "any")])
def test_bound_walk_matches_the_engine_walk(quick_run: dict[str, Any], tool: str, model: str) -> None:
    # The bound counts the Organizations calls of the OU walk and of the flat listing before it
    # (forced modes only); the engine must have made exactly those, plus the ones the simulator
    # throttled.
    [run] = quick_run["runs"][tool]
    org_calls = sum(n for op, n in run["sim_calls_by_op"].items() if op.startswith("organizations:"))
    org_throttled = sum(n for op, n in run["sim_throttled_by_op"].items() if op.startswith("organizations:"))
    bound = quick_run["bounds"][model]
    assert (bound["account_listing_calls"] > 0) == (model != "any")
    assert org_calls - org_throttled == bound["org_walk_calls"] + bound["account_listing_calls"]
    assert run["sim_calls_by_op"].get("organizations:ListAccounts", 0) >= bound["account_listing_calls"]


def test_bucket_time_is_calls_beyond_the_burst_over_the_rate() -> None:
    assert BucketLoad(("1", "global", "iam", "*"), calls=140, rate=20.0, burst=40.0).seconds == 5.0
    assert BucketLoad(("1", "global", "iam", "*"), calls=30, rate=20.0, burst=40.0).seconds == 0.0


def test_bound_follows_the_scenario_quotas() -> None:
    small = World("small")
    assert org_walk_calls(small) > 0
    unmetered = compute_bound(World("small", {"quotas": {"enabled": False}}))
    assert unmetered.seconds == 0.0
    slow = compute_bound(World("small", {"quotas": {"scale": 0.1}}))
    assert slow.seconds == pytest.approx(compute_bound(small).seconds * 10, rel=0.05)
    throttled = compute_bound("throttle-storm")
    # The big account is found by the flat listing's first pages, not late in the walk, so it
    # adds nothing to the walk (171 s when accounts were found by the walk alone).
    assert throttled.account_listing_calls == 3
    assert throttled.walk_critical_path_s == throttled.seconds == throttled.org_walk_seconds
    latent = compute_bound(World("small", {"quotas": {"enabled": False}, "latency": {"base_ms": 100}}))
    assert latent.seconds == pytest.approx((latent.org_walk_calls + 3) * 0.1)


def test_incremental_benchmark_compares_both_syncs_after_one_mutation(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text((REPO / "orgsim" / "scenarios" / "small.toml").read_text()
                        .replace("[quotas]\nenabled = true", "[quotas]\nenabled = false"))
    results = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.incremental", str(scenario), "--share", "0.05", "--rev", "worktree",
         "--results", str(results), "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = results.read_text()
    assert "incremental vs full" in text and "| incremental |" in text and "| full |" in text
    assert "incremental / full, same simulated state" in text
    [path] = tmp_path.glob("*-tiny-incremental.json")
    data = json.loads(path.read_text())
    assert data["mutation"]["number"] == 1
    # The full sync after the change must see it; the initial one wrote everything once.
    assert data["initial"]["written"]["added"] == data["initial"]["seen"] > 0
    full = data["full"]["written"]
    assert full["added"] + full["modified"] + full["deleted"] > 0
    assert data["incremental"]["argv"][-1] == "--incremental"
    assert data["incremental"]["refresh"]  # the tally says what was refreshed and why
    assert set(data["ratios"]) >= {"wall_s", "api_calls"}


def test_the_explorer_bound_puts_what_the_aggregator_view_lists_on_its_one_quota() -> None:
    world = World("small")
    ex = world.explorer
    [view] = [v for vs in ex.views.values() for v in vs if v.scope == "org"]
    inv = world.inventory
    # The simulator's own answer to "what can the org view return", IAM and S3 left to their APIs.
    listed = sum(inv.counts[s] for s in ex.scopes(view, [], 0)
                 if inv.info(s).rtype.service not in ("iam", "s3") and not inv.info(s).rtype.is_global)
    assert listed > 0
    explorer, anything, services = (compute_bound(world, m) for m in ("explorer", "any", "services"))
    assert explorer.calls_by_op["resource-explorer-2:ListResources"] == -(-listed // 1000)
    assert "resource-explorer-2:ListResources" not in anything.calls_by_op
    # The types the view lists leave their service APIs; IAM's and S3's calls stay as they are.
    assert explorer.calls_by_op.get("ec2:DescribeInstances", 0) < services.calls_by_op["ec2:DescribeInstances"]
    for op in ("iam:ListPolicyTags", "s3:ListBuckets", "s3:GetBucketTagging"):
        assert explorer.calls_by_op[op] == services.calls_by_op[op], op
    assert explorer.seconds >= anything.seconds


def test_the_any_bound_reads_policy_tags_from_the_tagging_api_in_us_east_1() -> None:
    """GetResources serves IAM customer managed policies in us-east-1, 100 a call; an account whose
    us-east-1 an SCP denies needs a ListPolicyTags call per policy, as the engine falls back to."""
    world = World("small")
    inv = world.inventory
    t = inv.type_index["iam:policy"]
    policies = {a.index: inv.counts[inv.scope_index(a.index, inv.GLOBAL_R, t)] for a in world.org.accounts
                if a.state == "ACTIVE" and (a.index == 0 or a.assumable)}
    anything = compute_bound(world, "any")
    assert "iam:ListPolicyTags" not in anything.calls_by_op
    assert anything.calls_by_op["tagging:GetResources"] == sum(-(-n // 100) for n in policies.values() if n)
    member = next(a for a in policies if a and policies[a])
    denied = World("small", {"faults": {"scp_denied_regions": [f"#{member}:us-east-1"]}})
    assert compute_bound(denied, "any").calls_by_op["iam:ListPolicyTags"] == policies[member]


def test_the_explorer_bound_without_resource_explorer_is_the_services_bound() -> None:
    world = World("small", {"explorer": {"enabled": False}})
    explorer, services = compute_bound(world, "explorer"), compute_bound(world, "services")
    assert explorer.calls_by_op == services.calls_by_op
    assert explorer.seconds == services.seconds


def test_sso_org_500_is_where_a_forced_aggregator_waits_on_its_own_quota() -> None:
    world = World("sso-org-500")
    explorer, anything = compute_bound(world, "explorer"), compute_bound(world, "any")
    assert explorer.limiting[0]["bucket"] == "resource-explorer-2:*"
    assert explorer.seconds > 1.2 * anything.seconds  # room for auto's member views to show
    # On org-500 the same organization's IAM policies bound every source alike.
    assert compute_bound("org-500", "explorer").limiting[0]["bucket"] == "iam:*"
