"""Tags from the Tagging API: for a view without the tags property, and in auto mode for service-listed
scopes whose API needs a call per resource for them (sync/explorer/tagging.py, planner.tags_by_cost)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pyarrow as pa
import pytest
from botocore.exceptions import ClientError

from catalog.staging import STAGED_SCHEMA
from sync.aws.stats import CallStats
import sync.explorer.planner as planner
from sync.explorer.coverage import Coverage
from sync.explorer.planner import AccountPlanInput, plan_account_batch, tags_without_view
from sync.explorer.tagging import apply_tags, areas_of, tags_by_area
from sync.plan import ScopeKey, WorkItem
from sync.sources.registry import spec_for

A, B = "111111111111", "222222222222"


class FakeTagging:
    def __init__(self, pages: list[dict[str, Any]] | Exception) -> None:
        self.pages = pages
        self.calls: list[dict[str, Any]] = []

    async def call(self, op: str, params: dict[str, Any], stats: CallStats) -> dict[str, Any]:
        assert op == "GetResources"
        self.calls.append(dict(params))
        if isinstance(self.pages, Exception):
            raise self.pages
        return self.pages[len(self.calls) - 1]


def mapping(arn: str, **tags: str) -> dict[str, Any]:
    return {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


async def test_pages_until_the_empty_token_and_failed_areas_are_kept_apart() -> None:
    ok = FakeTagging([{"ResourceTagMappingList": [mapping("arn:1", owner="ops")], "PaginationToken": "t"},
                      {"ResourceTagMappingList": [mapping("arn:2")], "PaginationToken": ""}])
    denied = FakeTagging(ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetResources"))
    callers = {(A, "eu-west-1"): ok, (B, "eu-west-1"): denied}

    async def caller_for(account: str, region: str) -> Any:
        return callers[(account, region)]

    keys = [ScopeKey(A, "eu-west-1", "lambda:function"), ScopeKey(A, "eu-west-1", "eks:cluster"),
            ScopeKey(B, "eu-west-1", "lambda:function")]
    tags, failed = await tags_by_area(areas_of(keys), caller_for, CallStats())
    assert tags == {"arn:1": {"owner": "ops"}, "arn:2": {}}
    assert set(failed) == {(B, "eu-west-1")}
    assert ok.calls[0] == {"ResourceTypeFilters": ["eks:cluster", "lambda:function"], "ResourcesPerPage": 100}
    assert ok.calls[1]["PaginationToken"] == "t"


async def test_a_bug_is_not_taken_for_an_area_failure() -> None:
    async def caller_for(account: str, region: str) -> Any:
        return FakeTagging(TypeError("bug"))

    with pytest.raises(TypeError):
        await tags_by_area(areas_of([ScopeKey(A, "eu-west-1", "lambda:function")]), caller_for, CallStats())


def test_apply_tags_sets_tags_and_owner_by_arn_and_absent_means_none() -> None:
    rows = [{"arn": arn, "account_id": A, "region": "eu-west-1", "scope_region": "eu-west-1", "service": "lambda",
             "resource_type": "lambda:function", "resource_id": arn, "name": arn, "tags": "{}",
             "owner_tag_value": None, "source": "explorer-aggregator", "properties": "{}", "last_reported_at": None}
            for arn in ("arn:1", "arn:2")]
    batch = pa.RecordBatch.from_pylist(rows, schema=STAGED_SCHEMA)
    [out] = apply_tags([batch], {"arn:1": {"owner": "ops", "env": "prod"}}, "owner")
    got = out.to_pylist()
    assert json.loads(got[0]["tags"]) == {"env": "prod", "owner": "ops"} and got[0]["owner_tag_value"] == "ops"
    assert got[1]["tags"] == "{}" and got[1]["owner_tag_value"] is None
    assert out.schema == STAGED_SCHEMA


def test_the_cheaper_tag_source_follows_the_calls_each_spec_makes() -> None:
    assert tags_without_view("lambda:function") is None  # ListTags per function: the Tagging API wins
    assert tags_without_view("dynamodb:table") is None
    reason = tags_without_view("ec2:instance")
    assert reason is not None and "DescribeInstances" in reason  # tags come with the listing


def test_auto_takes_per_resource_tags_of_service_listed_scopes_from_the_tagging_api() -> None:
    cov = Coverage()  # no Resource Explorer anywhere: everything goes through the service APIs
    types = ("lambda:function", "dynamodb:table", "ec2:instance", "s3:bucket", "iam:policy")

    def planned(choose: bool) -> dict[str, WorkItem]:
        items = plan_account_batch([AccountPlanInput(A, ("eu-west-1",))], resource_types=types,
                                   global_types={"s3:bucket", "iam:policy"}, home_region="us-east-1", coverage=cov,
                                   source="services", previous_counts={}, services_reason="no index",
                                   choose_tag_source=choose)
        assert all(isinstance(i, WorkItem) for i in items)
        return {i.key.resource_type: i for i in items if isinstance(i, WorkItem)}

    auto = planned(True)
    assert {t for t, i in auto.items() if i.tags_from == "tagging"} == {"lambda:function", "dynamodb:table",
                                                                        "s3:bucket", "iam:policy"}
    assert auto["lambda:function"].reason == ("no index; tags from the Tagging API (GetResources, 100 a call), "
                                              "not one ListTags call per resource")
    assert auto["iam:policy"].reason.endswith("not one ListPolicyTags call per resource")
    assert auto["ec2:instance"].reason == "no index"  # inline tags need nothing more
    assert {i.tags_from for i in planned(False).values()} == {"items"}  # a forced mode


def test_the_tagging_api_is_never_asked_for_iam_users_and_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    """GetResources does not serve them (AWS docs): were their tags ever read by a call per entity
    (ListRoleTags), that call would stay, rather than every role reading as untagged."""
    per_entity = spec_for("iam:policy").tags
    monkeypatch.setattr(planner, "spec_for", lambda t: dataclasses.replace(spec_for(t), tags=per_entity))
    for resource_type in ("iam:role", "iam:user"):
        item = WorkItem(ScopeKey(A, "global", resource_type), "services", "us-east-1", "no index")
        assert planner.tags_by_cost(item).tags_from == "items"
    policy = WorkItem(ScopeKey(A, "global", "iam:policy"), "services", "us-east-1", "no index")
    assert planner.tags_by_cost(policy).tags_from == "tagging"
