"""Resource Explorer through real boto3 clients: coverage, filters, quirks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from orgsim_testkit import client, creds_for, error_code

import orgsim

OVERRIDES = {
    "quotas": {"enabled": False},
    "resources": {"total": 2500},
    "explorer": {
        "indexes_missing": ["#3:eu-west-1"],
        "index_states": {"#4:us-east-1": "CREATING"},
        "lagging": ["#5:eu-west-1"],
        "unsupported_types": ["eks:cluster"],
        "default_view_tags": False,
        "default_view_share": 0.5,
        "member_aggregator_share": 0.3,
    },
}


@pytest.fixture(scope="module")
def sim() -> Iterator[orgsim.Simulator]:
    with orgsim.run_in_thread("small", overrides=OVERRIDES) as s:
        yield s


def _all(re: Any, **kw: Any) -> list[dict[str, Any]]:
    pages = re.get_paginator("list_resources").paginate(**kw, PaginationConfig={"PageSize": 400})
    return [r for p in pages for r in p["Resources"]]


def _expected(sim: orgsim.Simulator, account: int | None = None) -> dict[str, dict[str, str]]:
    """What the org view should hold: covered account x region, indexed types only."""
    ex = sim.world.explorer
    org = sim.world.org
    out = {}
    for row in sim.truth():
        a = org.by_id[row["account_id"]].index
        if account is not None and a != account:
            continue
        region = ex.global_home(a) if row["region"] == "global" else row["region"]
        idx = ex.indexes.get((a, region))
        if idx is None or idx.state != "ACTIVE" or (a, region) in ex.lagging:
            continue
        if row["resource_type"] == "eks:cluster":
            continue
        out[row["arn"]] = {} if row["resource_type"].startswith("iam:") else row["tags"]
    return out


def _tags(r: dict[str, Any]) -> dict[str, str]:
    for p in r["Properties"]:
        if p["Name"] == "tags":
            return {d["Key"]: d["Value"] for d in p["Data"]}
    return {}


def test_org_view_lists_exactly_the_covered_inventory(sim: orgsim.Simulator) -> None:
    re = client(sim, "resource-explorer-2")
    got = _all(re)
    assert {r["Arn"]: _tags(r) for r in got} == _expected(sim)
    sample = got[0]
    assert set(sample) >= {"Arn", "OwningAccountId", "Region", "ResourceType", "Service",
                           "LastReportedAt", "Properties"}
    iam = [r for r in got if r["Service"] == "iam"]
    assert iam and all(r["Region"] == "global" and r["Properties"] == [] for r in iam)


def test_list_resources_no_token_at_1000(sim: orgsim.Simulator) -> None:
    re = client(sim, "resource-explorer-2")
    page = re.list_resources(MaxResults=1000)
    assert len(page["Resources"]) == 1000 and "NextToken" not in page
    page = re.list_resources(MaxResults=999)
    assert len(page["Resources"]) == 999 and page["NextToken"]


def test_search_caps_at_1000(sim: orgsim.Simulator) -> None:
    re = client(sim, "resource-explorer-2")
    pages = list(re.get_paginator("search").paginate(
        QueryString="", PaginationConfig={"PageSize": 300}))
    results = [r for p in pages for r in p["Resources"]]
    assert len(results) == 1000
    assert pages[0]["Count"] == {"TotalResources": 1000, "Complete": False}
    small = re.search(QueryString="service:dynamodb region:eu-west-1")
    expected = [a for a, r in _expected_rows(sim) if r["resource_type"] == "dynamodb:table"
                and r["region"] == "eu-west-1"]
    assert small["Count"] == {"TotalResources": len(expected), "Complete": True}
    assert sorted(r["Arn"] for r in small["Resources"]) == sorted(expected)


def _expected_rows(sim: orgsim.Simulator) -> list[tuple[str, dict[str, Any]]]:
    keep = _expected(sim)
    return [(r["arn"], r) for r in sim.truth() if r["arn"] in keep]


@pytest.mark.parametrize(
    "filt, pred",
    [
        ("region:eu-west-1", lambda r: r["region"] == "eu-west-1"),
        ("service:iam", lambda r: r["resource_type"].startswith("iam:")),
        ("resourcetype:lambda:function", lambda r: r["resource_type"] == "lambda:function"),
        ("resourcetype:iam:*", lambda r: r["resource_type"].startswith("iam:")),
        ("-service:ec2 -service:iam", lambda r: r["resource_type"].split(":")[0] not in
         ("ec2", "iam")),
        ("tag.key:owner", lambda r: "owner" in r["tags"] and not r["resource_type"].startswith("iam")),
        ("tag:env=prod service:s3", lambda r: r["tags"].get("env") == "prod"
         and r["resource_type"] == "s3:bucket"),
        ("tag:owner=former-employee-*", lambda r: r["tags"].get("owner", "").startswith(
            "former-employee-") and not r["resource_type"].startswith("iam")),
        ("region:us-east-1 region:eu-west-1 service:rds", lambda r: r["resource_type"] == "rds:db"),
    ],
)
def test_filter_strings(sim: orgsim.Simulator, filt: str, pred: Any) -> None:
    re = client(sim, "resource-explorer-2")
    got = sorted(r["Arn"] for r in _all(re, Filters={"FilterString": filt}))
    expected = sorted(a for a, r in _expected_rows(sim) if pred(r))
    assert got == expected and got


def test_accountid_filter_and_bad_filter(sim: orgsim.Simulator) -> None:
    re = client(sim, "resource-explorer-2")
    acct = sim.world.org.accounts[1].account_id
    got = _all(re, Filters={"FilterString": f"accountid:{acct}"})
    assert got and all(r["OwningAccountId"] == acct for r in got)
    with pytest.raises(ClientError) as exc:
        re.list_resources(Filters={"FilterString": "hello world"})
    assert error_code(exc.value) == "ValidationException"


def test_member_views_and_indexes(sim: orgsim.Simulator) -> None:
    ex = sim.world.explorer
    org = sim.world.org
    checked = 0
    for a in range(1, len(org.accounts)):
        if org.accounts[a].state != "ACTIVE":
            continue
        creds = creds_for(sim, a)
        for region in org.accounts[a].regions:
            re = client(sim, "resource-explorer-2", region, creds)
            idx = ex.indexes.get((a, region))
            view = ex.default_view(a, region)
            if idx is None:
                with pytest.raises(ClientError) as exc:
                    re.get_index()
                assert error_code(exc.value) == "ResourceNotFoundException"
                continue
            assert re.get_index()["State"] == idx.state
            if view is None:
                assert "ViewArn" not in re.get_default_view()
                with pytest.raises(ClientError) as exc:
                    re.list_resources()
                assert error_code(exc.value) == "UnauthorizedException"
                continue
            got = _all(re)
            expect = {arn for arn, r in _expected_rows(sim)
                      if org.by_id[r["account_id"]].index == a}
            if idx.type == "LOCAL":
                home = ex.global_home(a)
                expect = {arn for arn, r in _expected_rows(sim)
                          if org.by_id[r["account_id"]].index == a
                          and (r["region"] == region or (r["region"] == "global" and home == region))}
                if idx.state not in ("ACTIVE", "UPDATING") or (a, region) in ex.lagging:
                    expect = set()
            assert {r["Arn"] for r in got} == expect
            assert all(r["Properties"] == [] for r in got)  # member views exclude tags here
            checked += 1
    assert checked >= 3


def test_list_indexes_for_members_rules(sim: orgsim.Simulator) -> None:
    re = client(sim, "resource-explorer-2")
    ids = [a.account_id for a in sim.world.org.accounts]
    with pytest.raises(ClientError) as exc:
        re.list_indexes_for_members(AccountIdList=ids + ["1" * 12])
    assert error_code(exc.value) == "ValidationException"
    got = [i for p in re.get_paginator("list_indexes_for_members").paginate(
        AccountIdList=ids[1:6]) for i in p["Indexes"]]
    assert {i["AccountId"] for i in got} <= set(ids[1:6])
    assert ("eu-west-1" not in {i["Region"] for i in got if i["AccountId"] == ids[3]})
    member = client(sim, "resource-explorer-2", creds=creds_for(sim, 1))
    with pytest.raises(ClientError) as exc:
        member.list_indexes_for_members(AccountIdList=ids[1:2])
    assert error_code(exc.value) == "AccessDeniedException"
    types = [t["ResourceType"] for p in re.get_paginator("list_supported_resource_types")
             .paginate() for t in p["ResourceTypes"]]
    assert "ec2:instance" in types and "eks:cluster" not in types
    cfg = re.get_account_level_service_configuration()["OrgConfiguration"]
    assert cfg["AWSServiceAccessStatus"] == "ENABLED"


def test_views_api(sim: orgsim.Simulator) -> None:
    re = client(sim, "resource-explorer-2")
    arns = re.list_views()["Views"]
    default = re.get_default_view()["ViewArn"]
    assert default in arns
    view = re.get_view(ViewArn=default)["View"]
    assert view["Scope"] == sim.world.org.org_arn and view["IncludedProperties"] == [{"Name": "tags"}]
    batch = re.batch_get_view(ViewArns=arns + ["arn:aws:resource-explorer-2:us-east-1:1:view/x/y"])
    assert len(batch["Views"]) == len(arns) and len(batch["Errors"]) == 1
    with pytest.raises(ClientError) as exc:
        re.list_resources(ViewArn="arn:aws:resource-explorer-2:us-east-1:1:view/x/y")
    assert error_code(exc.value) == "ResourceNotFoundException"


def test_no_explorer_and_untagged_org_view() -> None:
    with orgsim.run_in_thread("no-explorer", overrides={"quotas": {"enabled": False}}) as s:
        re = client(s, "resource-explorer-2")
        assert re.list_indexes()["Indexes"] == []
        with pytest.raises(ClientError) as exc:
            re.get_index()
        assert error_code(exc.value) == "ResourceNotFoundException"
        with pytest.raises(ClientError) as exc:
            re.list_resources()
        assert error_code(exc.value) == "UnauthorizedException"
    with orgsim.run_in_thread("small", overrides={
        "quotas": {"enabled": False}, "explorer": {"org_view_tags": False}
    }) as s:
        re = client(s, "resource-explorer-2")
        got = _all(re)
        assert got and all(r["Properties"] == [] for r in got)
        view = re.get_view(ViewArn=re.get_default_view()["ViewArn"])["View"]
        assert view["IncludedProperties"] == []
        # without the tags property a tag filter can never match
        assert _all(re, Filters={"FilterString": "tag.key:owner"}) == []
