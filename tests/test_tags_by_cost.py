"""Auto mode reads the tags of service-listed Lambda functions, DynamoDB tables, S3 buckets and IAM
customer managed policies from the Tagging API (100 a call) instead of one call per resource; forced
modes keep those calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import sync.explorer.tagging as tagging
from sync.sources.model import global_home
from tests.conftest import run_cli, write
from tests.test_explorer_sync import CONFIG, assert_matches_truth, inventory, q, simulated, sync

NO_EXPLORER = {"explorer": {"enabled": False}}


def lambda_reasons(path: Path) -> set[str]:
    """Why the Lambda scopes that found functions were listed as they were."""
    return {r for (r,) in q(path, """SELECT DISTINCT reason FROM sync_scopes
                                     WHERE resource_type = 'lambda:function' AND resources > 0""")}


def test_auto_takes_per_resource_tags_from_the_tagging_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with simulated(monkeypatch, **NO_EXPLORER) as sim:
        sim.reset_stats()
        _, auto = sync(tmp_path, "auto.duckdb")
        auto_calls = sim.stats()["calls"]
        assert_matches_truth(auto, sim)
        sim.reset_stats()
        _, forced = sync(tmp_path, "services.duckdb", "--source", "services")
        forced_calls = sim.stats()["calls"]
    assert auto_calls["tagging:GetResources"] > 0
    per_resource = {"lambda:function": "lambda:ListTags", "dynamodb:table": "dynamodb:ListTagsOfResource",
                    "s3:bucket": "s3:GetBucketTagging", "iam:policy": "iam:ListPolicyTags"}
    # A per-resource call only where GetResources returned none of a scope's resources (silence
    # it cannot tell from not serving the type): one call per resource of those scopes.
    silent = dict(q(auto, """SELECT resource_type, sum(resources) FROM sync_scopes
                             WHERE reason LIKE '%returned none of its%' GROUP BY ALL"""))
    assert {t: auto_calls.get(op, 0) for t, op in per_resource.items()} == {t: silent.get(t, 0) for t in per_resource}
    assert sum(silent.values()) * 10 < sum(forced_calls[op] for op in per_resource.values())
    assert all(forced_calls[op] > 0 for op in per_resource.values())
    assert forced_calls.get("tagging:GetResources", 0) == 0
    assert inventory(auto) == inventory(forced)
    assert all("tags from the Tagging API" in r for r in lambda_reasons(auto))
    assert not any("Tagging API" in r for r in lambda_reasons(forced))


def test_a_failing_tagging_api_falls_back_to_the_per_resource_calls(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    async def denied(*args: Any, **kwargs: Any) -> dict[str, dict[str, str]]:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no tag:GetResources"}},
                          "GetResources")

    monkeypatch.setattr(tagging, "area_tags", denied)
    with simulated(monkeypatch, **NO_EXPLORER) as sim:
        summary, path = sync(tmp_path)
        calls = sim.stats()["calls"]
        assert_matches_truth(path, sim)
    assert calls["lambda:ListTags"] > 0 and calls["iam:ListPolicyTags"] > 0
    assert any("Tagging API failed (AccessDeniedException): tags through ListTags" in w for w in summary["warnings"])
    assert any("iam:policy: Tagging API failed (AccessDeniedException): tags through ListPolicyTags" in w
               for w in summary["warnings"])
    assert lambda_reasons(path) == {"Tagging API failed (AccessDeniedException): tags through ListTags"}


def test_policy_tags_are_asked_in_us_east_1_whatever_the_integration_region(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Path) -> None:
    """AWS answers for global resources in us-east-1 only (orgsim likewise): an integration homed
    in eu-west-1 must still ask there, or every policy would read as untagged."""
    config = write(tmp_path / "eu.toml", CONFIG.replace('region = "us-east-1"', 'region = "eu-west-1"', 1))
    path = tmp_path / "eu.duckdb"
    with simulated(monkeypatch, **NO_EXPLORER) as sim:
        result = run_cli("sync", config, "--catalog", str(path), "--json", "--rate-scale", "20")
        assert result.exit_code in (0, 1), result.output
        calls = sim.stats()["calls"]
        assert_matches_truth(path, sim)
    assert calls.get("iam:ListPolicyTags", 0) == 0
    assert global_home("eu-west-1") == "us-east-1" and global_home("us-gov-east-1") == "us-gov-west-1"
    assert global_home("cn-northwest-1") == "cn-north-1"
