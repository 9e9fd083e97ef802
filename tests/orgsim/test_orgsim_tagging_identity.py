"""Tagging API and Identity Store through real boto3 clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from orgsim_testkit import client, creds_for, error_code

import orgsim


@pytest.fixture(scope="module")
def sim() -> Iterator[orgsim.Simulator]:
    with orgsim.run_in_thread("small", overrides={"quotas": {"enabled": False}}) as s:
        yield s


def test_get_resources_matches_truth(sim: orgsim.Simulator) -> None:
    org = sim.world.org
    tags = sim.world.tags
    for a in (0, 2):
        creds = creds_for(sim, a)
        for region in org.accounts[a].regions:
            tg = client(sim, "resourcegroupstaggingapi", region, creds)
            pages = list(tg.get_paginator("get_resources").paginate(ResourcesPerPage=7))
            assert pages[-1]["PaginationToken"] == ""
            got = {m["ResourceARN"]: {t["Key"]: t["Value"] for t in m["Tags"]}
                   for p in pages for m in p["ResourceTagMappingList"]}
            # Global resources' tags answer in us-east-1 only, and of IAM only policies'.
            here = {region, "global"} if region == "us-east-1" else {region}
            expected = {
                r["arn"]: r["tags"] for r in sim.truth()
                if r["account_id"] == org.accounts[a].account_id and r["region"] in here
                and r["tags"] and r["resource_type"] not in ("iam:role", "iam:user")
            }
            assert got == expected
            filtered = tg.get_resources(
                TagFilters=[{"Key": tags.owner_key}], ResourceTypeFilters=["ec2:instance", "s3"]
            )["ResourceTagMappingList"]
            assert all(tags.owner_key in {t["Key"] for t in m["Tags"]} for m in filtered)
            assert all(m["ResourceARN"].split(":")[2] in ("ec2", "s3") for m in filtered)


def test_iam_policies_answer_in_us_east_1_and_users_and_roles_nowhere(sim: orgsim.Simulator) -> None:
    """AWS: GetResources does not serve IAM users and roles; global resources' tags answer in
    us-east-1. A policy's tags there are those ListPolicyTags gives."""
    creds = creds_for(sim, 2)
    account = sim.world.org.accounts[2]
    iam = client(sim, "iam", creds=creds)
    policies = [p for page in iam.get_paginator("list_policies").paginate(Scope="Local") for p in page["Policies"]]
    tagged = {p["Arn"]: {t["Key"]: t["Value"] for t in iam.list_policy_tags(PolicyArn=p["Arn"])["Tags"]}
              for p in policies}
    tagged = {arn: tags for arn, tags in tagged.items() if tags}
    assert tagged, "the small scenario tags some policies"

    def listed(region: str, types: list[str]) -> dict[str, dict[str, str]]:
        tg = client(sim, "resourcegroupstaggingapi", region, creds)
        return {m["ResourceARN"]: {t["Key"]: t["Value"] for t in m["Tags"]}
                for p in tg.get_paginator("get_resources").paginate(ResourceTypeFilters=types)
                for m in p["ResourceTagMappingList"]}

    assert listed("us-east-1", ["iam:policy"]) == tagged
    assert listed("us-east-1", ["iam:role", "iam:user"]) == {}
    other = next(r for r in account.regions if r != "us-east-1")
    assert listed(other, ["iam:policy"]) == {}


def test_identity_store(sim: orgsim.Simulator) -> None:
    store = sim.world.identity.store_id
    ids = client(sim, "identitystore")
    users = [u for p in ids.get_paginator("list_users").paginate(
        IdentityStoreId=store, PaginationConfig={"PageSize": 7}) for u in p["Users"]]
    assert len(users) == len(sim.world.identity.users)
    u = users[0]
    assert u["UserName"] and u["DisplayName"] and u["Emails"][0]["Value"].endswith("@example.com")
    one = ids.list_users(IdentityStoreId=store, Filters=[
        {"AttributePath": "UserName", "AttributeValue": u["UserName"]}])["Users"]
    assert [x["UserId"] for x in one] == [u["UserId"]]
    groups = ids.list_groups(IdentityStoreId=store)["Groups"]
    assert len(groups) == len(sim.world.identity.groups) and groups[0]["DisplayName"]
    members = ids.list_group_memberships(IdentityStoreId=store, GroupId=groups[0]["GroupId"])
    user_ids = {x["UserId"] for x in users}
    assert members["GroupMemberships"]
    assert all(m["MemberId"]["UserId"] in user_ids for m in members["GroupMemberships"])
    owners = {r["tags"].get("owner") for r in sim.truth()} - {None}
    names = {x["UserName"] for x in users} | {g["DisplayName"] for g in groups}
    assert owners & names and owners - names  # resolvable owners, and some that resolve to nobody
    with pytest.raises(ClientError) as exc:
        ids.list_users(IdentityStoreId="d-0000000000")
    assert error_code(exc.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client(sim, "identitystore", creds=creds_for(sim, 2)).list_users(IdentityStoreId=store)
    assert error_code(exc.value) == "AccessDeniedException"
