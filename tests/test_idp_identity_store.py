"""End to end against moto (server mode): a real resource sync of an organization, its Identity
Store read through `orgsync idp sync`, and owners resolved from both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest

from tests.conftest import run_cli, write
from tests.support.fault_proxy import Fault, FaultProxy, fault_proxy
from tests.support.moto_server import moto_server

SSO_REGION = "eu-west-1"  # not the integration's region: the Identity Store must be read from here


@dataclass
class Seeded:
    proxy: FaultProxy
    store_id: str
    arns: dict[str, str]  # label -> instance ARN
    groups: dict[str, str]  # display name -> group id
    users: dict[str, str]  # user name -> user id
    memberships: dict[tuple[str, str], str]  # (group, user) -> membership id


def _seed(url: str) -> tuple[str, dict[str, str], dict[str, str], dict[str, str], dict[tuple[str, str], str]]:
    kw = {"endpoint_url": url, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    account = boto3.client("organizations", region_name="us-east-1", **kw).create_organization(
        FeatureSet="ALL")["Organization"]["MasterAccountId"]
    ec2 = boto3.client("ec2", region_name="us-east-1", **kw)
    arns = {}
    for label, tags in (("team", {"owner": "Payments-Team"}), ("ghost", {"owner": "ghost-team"}), ("plain", {})):
        spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in {**tags, "Name": label}.items()]}]
        instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                     TagSpecifications=spec)["Instances"][0]
        arns[label] = f"arn:aws:ec2:us-east-1:{account}:instance/{instance['InstanceId']}"
    [instance] = boto3.client("sso-admin", region_name=SSO_REGION, **kw).list_instances()["Instances"]
    store = instance["IdentityStoreId"]
    ids = boto3.client("identitystore", region_name=SSO_REGION, **kw)
    users = {name: ids.create_user(IdentityStoreId=store, UserName=name, DisplayName=name.title(),
                                   Name={"GivenName": name, "FamilyName": "Test"},
                                   Emails=[{"Value": f"{name}@acme.com", "Primary": True}])["UserId"]
             for name in ("alice", "bob", "carol")}
    groups = {name: ids.create_group(IdentityStoreId=store, DisplayName=name)["GroupId"]
              for name in ("payments-team", "platform-admins")}
    memberships = {(g, u): ids.create_group_membership(IdentityStoreId=store, GroupId=groups[g],
                                                       MemberId={"UserId": users[u]})["MembershipId"]
                   for g, u in (("payments-team", "alice"), ("payments-team", "bob"), ("platform-admins", "carol"))}
    return store, arns, groups, users, memberships


@pytest.fixture(scope="module")
def seeded() -> Iterator[Seeded]:
    with moto_server() as url, fault_proxy(url) as proxy:
        yield Seeded(proxy, *_seed(url))


@pytest.fixture
def env(seeded: Seeded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Seeded, str, str]]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", seeded.proxy.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    config = write(tmp_path / "orgsync.toml", f"""
[[integration]]
name = "acme"
type = "aws-organization"
region = "us-east-1"
regions = ["us-east-1"]
resource_types = ["ec2:instance"]
sso_region = "{SSO_REGION}"
sso_portal = "https://acme.awsapps.com/start"
custom_access_details = "Ask in #payments before touching prod."
integration_owner = {{ attribute = "group", values = ["platform-admins"] }}
resource_owner = {{ tag_key = "owner", attribute = "group" }}
""")
    catalog = str(tmp_path / "c.duckdb")
    synced = run_cli("sync", config, "--catalog", catalog, "--quiet")
    assert synced.exit_code == 0, synced.output
    yield seeded, config, catalog
    seeded.proxy.clear()


def _owners(catalog: str, arn: str) -> dict[str, Any]:
    result = run_cli("owners", arn, "--catalog", catalog, "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


def _approvers(data: dict[str, Any]) -> list[str]:
    return [a["user_name"] for a in data["approvers"]]


def test_identity_store_found_through_sso_admin_and_owners_resolved(env: tuple[Seeded, str, str]) -> None:
    seeded, config, catalog = env
    result = run_cli("idp", "sync", config, "--catalog", catalog, "--json")
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.output)
    assert (summary["source"], summary["source_ref"]) == ("identity-store", seeded.store_id)
    assert (summary["users"], summary["groups"], summary["memberships"]) == (3, 2, 3)
    assert summary["api_calls"] >= 5  # ListInstances, ListUsers, ListGroups, ListGroupMemberships x2

    team = _owners(catalog, seeded.arns["team"])
    assert team["source"] == "resource-owner-tag" and _approvers(team) == ["alice", "bob"]
    assert team["approvers"][0]["email"] == "alice@acme.com"
    assert team["access"]["custom_access_details"] == "Ask in #payments before touching prod."
    ghost = _owners(catalog, seeded.arns["ghost"])
    assert ghost["source"] == "integration-owner-fallback" and _approvers(ghost) == ["carol"]
    assert ghost["problems"] == [{"code": "owner-not-in-idp", "value": "ghost-team"}]
    plain = _owners(catalog, seeded.arns["plain"])
    assert plain["source"] == "integration-owner-fallback" and _approvers(plain) == ["carol"]

    unresolved = json.loads(run_cli("owners", "--unresolved", "--catalog", catalog, "--format", "json").output)
    assert sorted((r["problem"], r["resources"]) for r in unresolved) == [
        ("owner-not-in-idp", 1), ("owner-tag-missing", 1)]


def test_membership_change_followed_after_the_next_idp_sync(env: tuple[Seeded, str, str]) -> None:
    seeded, config, catalog = env
    assert run_cli("idp", "sync", config, "--catalog", catalog).exit_code == 0
    assert _approvers(_owners(catalog, seeded.arns["team"])) == ["alice", "bob"]
    ids = boto3.client("identitystore", region_name=SSO_REGION, endpoint_url=seeded.proxy.target,
                       aws_access_key_id="testing", aws_secret_access_key="testing")

    def move(group: str, leaves: str, joins: str) -> None:
        ids.delete_group_membership(IdentityStoreId=seeded.store_id, MembershipId=seeded.memberships.pop((group, leaves)))
        seeded.memberships[(group, joins)] = ids.create_group_membership(
            IdentityStoreId=seeded.store_id, GroupId=seeded.groups[group],
            MemberId={"UserId": seeded.users[joins]})["MembershipId"]

    move("payments-team", leaves="bob", joins="carol")
    try:
        assert _approvers(_owners(catalog, seeded.arns["team"])) == ["alice", "bob"]  # until the next idp sync
        again = run_cli("idp", "sync", config, "--catalog", catalog, "--identity-store-id", seeded.store_id)
        assert again.exit_code == 0, again.output
        assert _approvers(_owners(catalog, seeded.arns["team"])) == ["alice", "carol"]
    finally:
        move("payments-team", leaves="carol", joins="bob")  # the seeded store is shared by this module's tests


def test_a_failed_read_keeps_the_previous_directory(env: tuple[Seeded, str, str]) -> None:
    seeded, config, catalog = env
    assert run_cli("idp", "sync", config, "--catalog", catalog).exit_code == 0
    seeded.proxy.add(Fault(
        match=lambda r: r.service == "identitystore" and b'"GroupId"' in r.body, status=400,
        body=b'{"__type": "AccessDeniedException", "message": "not allowed"}',
        content_type="application/x-amz-json-1.1"))
    result = run_cli("idp", "sync", config, "--catalog", catalog)
    assert result.exit_code == 1
    assert "identitystore:ListGroupMemberships in eu-west-1: AccessDeniedException: not allowed" in result.output
    with duckdb.connect(catalog, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM idp_memberships").fetchall()[0][0] >= 2
    assert len(_approvers(_owners(catalog, seeded.arns["team"]))) == 2


def test_orgsim_identity_store_matches_its_ground_truth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second Identity Store implementation, with more than one page of users (orgsim has no sso-admin)."""
    import orgsim

    overrides = {"quotas": {"enabled": False}, "identity": {"users": 230, "groups": 7, "members_per_group": 40}}
    with orgsim.run_in_thread("small", overrides=overrides) as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        identity = sim.world.identity
        config = write(tmp_path / "orgsync.toml", f"""
[[integration]]
name = "sim"
type = "aws-organization"
region = "us-east-1"
sso_region = "{sim.world.org.identity_region}"
sso_portal = "https://sim.awsapps.com/start"
""")
        catalog = str(tmp_path / "c.duckdb")
        without_id = run_cli("idp", "sync", config, "--catalog", catalog, "--max-attempts", "1")
        assert without_id.exit_code == 1 and "pass --identity-store-id" in without_id.output
        result = run_cli("idp", "sync", config, "--catalog", catalog, "--identity-store-id", identity.store_id)
        assert result.exit_code == 0, result.output
    with duckdb.connect(catalog, read_only=True) as con:
        users = dict(con.execute("SELECT user_name, primary_email FROM idp_users").fetchall())
        members = set(con.execute("SELECT g.display_name, u.user_name FROM idp_memberships m "
                                  "JOIN idp_groups g USING (integration, group_id) "
                                  "JOIN idp_users u USING (integration, user_id)").fetchall())
    assert users == {u.user_name: u.email for u in identity.users}
    assert members == {(g.display_name, identity.users[i].user_name) for g in identity.groups for i in g.members}
