"""Organizations and STS through real boto3 clients."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from orgsim_testkit import client, error_code

import orgsim

OVERRIDES = {
    "quotas": {"enabled": False},
    "faults": {"unassumable": ["#2"]},
}


@pytest.fixture(scope="module")
def sim() -> Iterator[orgsim.Simulator]:
    with orgsim.run_in_thread("small", overrides=OVERRIDES) as s:
        yield s


def test_describe_organization_and_roots(sim: orgsim.Simulator) -> None:
    org = client(sim, "organizations")
    o = org.describe_organization()["Organization"]
    assert o["MasterAccountId"] == sim.world.org.management_id
    assert o["Id"].startswith("o-") and o["FeatureSet"] == "ALL"
    roots = org.list_roots()["Roots"]
    assert len(roots) == 1 and roots[0]["Id"].startswith("r-")


def test_list_accounts_paginates_with_empty_pages(sim: orgsim.Simulator) -> None:
    org = client(sim, "organizations")
    pages = list(org.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 3}))
    accounts = [a for p in pages for a in p["Accounts"]]
    assert len(accounts) == 10
    assert any(not p["Accounts"] and p.get("NextToken") for p in pages)  # AWS's empty pages
    assert not pages[-1].get("NextToken")
    states = {a["State"] for a in accounts}
    assert "SUSPENDED" in states and "ACTIVE" in states
    assert all(a["Status"] == a["State"] for a in accounts)
    assert all(len(a["Id"]) == 12 for a in accounts)


def test_walk_tree_finds_every_account(sim: orgsim.Simulator) -> None:
    org = client(sim, "organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    seen: list[str] = []
    stack = [root]
    while stack:
        parent = stack.pop()
        for p in org.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
            seen.extend(a["Id"] for a in p["Accounts"])
        for p in org.get_paginator("list_organizational_units_for_parent").paginate(
            ParentId=parent
        ):
            stack.extend(ou["Id"] for ou in p["OrganizationalUnits"])
    assert sorted(seen) == sorted(a.account_id for a in sim.world.org.accounts)
    with pytest.raises(ClientError) as exc:
        org.list_accounts_for_parent(ParentId="ou-zzzz-nothere")
    assert error_code(exc.value) == "ParentNotFoundException"
    with pytest.raises(ClientError) as exc:
        org.list_accounts(MaxResults=21)
    assert error_code(exc.value) == "InvalidInputException"


def test_assume_role_and_caller_identity(sim: orgsim.Simulator) -> None:
    member = sim.world.org.accounts[1].account_id
    sts = client(sim, "sts")
    base = sts.get_caller_identity()
    assert base["Account"] == sim.world.org.management_id
    out = sts.assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
        RoleSessionName="orgsync",
        DurationSeconds=900,
    )
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    left = creds["Expiration"].timestamp() - time.time()
    assert 890 < left <= 900
    ident = client(sim, "sts", creds=creds).get_caller_identity()
    assert ident["Account"] == member
    assert ident["Arn"].endswith("assumed-role/OrganizationAccountAccessRole/orgsync")
    # a member calling Organizations list APIs is refused, as in AWS
    with pytest.raises(ClientError) as exc:
        client(sim, "organizations", creds=creds).list_accounts()
    assert error_code(exc.value) == "AccessDeniedException"
    # role chaining is capped at one hour
    with pytest.raises(ClientError) as exc:
        client(sim, "sts", creds=creds).assume_role(
            RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
            RoleSessionName="chained", DurationSeconds=7200,
        )
    assert error_code(exc.value) == "ValidationError"


@pytest.mark.parametrize("target", ["#2", "suspended", "outsider", "badrole", "#0"])
def test_assume_role_denied(sim: orgsim.Simulator, target: str) -> None:
    org = sim.world.org
    role = "OrganizationAccountAccessRole"
    if target == "suspended":
        acct = next(a.account_id for a in org.accounts if a.state == "SUSPENDED")
    elif target == "outsider":
        acct = "999999999999"
    elif target == "badrole":
        acct, role = org.accounts[1].account_id, "NoSuchRole"
    else:
        acct = org.accounts[int(target[1:])].account_id
    with pytest.raises(ClientError) as exc:
        client(sim, "sts").assume_role(
            RoleArn=f"arn:aws:iam::{acct}:role/{role}", RoleSessionName="x1"
        )
    assert error_code(exc.value) == "AccessDenied"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_expired_and_forged_credentials(sim: orgsim.Simulator) -> None:
    member = sim.world.org.accounts[1].account_id
    old = sim.world.creds.issue(member, "OrganizationAccountAccessRole", "s", 900,
                                now=time.time() - 1000)
    with pytest.raises(ClientError) as exc:
        client(sim, "sts", creds=old).get_caller_identity()
    assert error_code(exc.value) == "ExpiredToken"
    with pytest.raises(ClientError) as exc:
        client(sim, "ec2", creds=old).describe_regions()
    assert error_code(exc.value) == "RequestExpired"
    forged = dict(old, SessionToken="orgsim.e30.deadbeef")
    with pytest.raises(ClientError) as exc:
        client(sim, "dynamodb", creds=forged).list_tables()
    assert error_code(exc.value) == "UnrecognizedClientException"


def test_unknown_service_and_missing_auth(sim: orgsim.Simulator) -> None:
    with pytest.raises(ClientError) as exc:
        client(sim, "sqs").list_queues()
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
