"""`orgsync iam-policy`: derived from the specs and FIXED_ACTIONS, read-only, nothing more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.config import parse_config
from sync.policy import (
    FIXED_ACTIONS,
    ROLES,
    PolicyError,
    policy_document,
    role_grants,
    widest_integration,
)
from sync.sources.registry import service_specs, supported_types
from tests.conftest import run_cli, write

READ_ONLY_PREFIXES = ("Get", "List", "Describe", "BatchGet", "Search", "AssumeRole")


def actions_of(document: dict) -> set[str]:
    return {a for s in document["Statement"] for a in s["Action"]}


def config_text(extra: str = "", kind: str = "aws-organization") -> str:
    org = 'sso_region = "us-east-1"\nsso_portal = "https://acme.awsapps.com/start"\n' if kind == "aws-organization" else ""
    return f'[[integration]]\nname = "acme"\ntype = "{kind}"\nregion = "us-east-1"\n{org}{extra}\n'


def integration(extra: str = "", kind: str = "aws-organization"):
    [found] = parse_config(config_text(extra, kind), source="t.toml", supported_types=supported_types()).integrations
    return found


def test_every_action_is_read_only() -> None:
    for kind in ("account", "organization"):
        for role in ROLES:
            try:
                grants = role_grants(widest_integration(kind, supported_types()), role, service_specs(), with_doctor=True)
            except PolicyError:
                continue
            for grant in grants:
                operation = grant.action.split(":", 1)[1]
                assert operation.startswith(READ_ONLY_PREFIXES), grant.action
    for fixed in FIXED_ACTIONS:
        assert fixed.action.split(":", 1)[1].startswith(READ_ONLY_PREFIXES), fixed.action


def test_policy_holds_every_spec_action_of_the_selected_types_and_no_other_type() -> None:
    chosen = integration('resource_types = ["ec2:instance", "s3:bucket"]\nregions = ["us-east-1"]')
    actions = actions_of(policy_document(role_grants(chosen, "member", service_specs(), sources=("services",))))
    specs = service_specs()
    assert actions == set(specs["ec2:instance"].actions) | set(specs["s3:bucket"].actions)


def test_regions_call_only_when_regions_are_omitted() -> None:
    with_regions = integration('regions = ["us-east-1"]')
    without = integration()
    assert "ec2:DescribeRegions" not in actions_of(policy_document(role_grants(with_regions, "member", service_specs())))
    assert "ec2:DescribeRegions" in actions_of(policy_document(role_grants(without, "member", service_specs())))


def test_management_role_walks_the_org_and_assumes_only_the_member_role() -> None:
    org = integration('member_role_name = "OrgSyncReader"')
    document = policy_document(role_grants(org, "management", service_specs()))
    [assume] = [s for s in document["Statement"] if "sts:AssumeRole" in s["Action"]]
    assert assume == {"Sid": "StsAssumeRole", "Effect": "Allow", "Action": ["sts:AssumeRole"],
                      "Resource": "arn:aws:iam::*:role/OrgSyncReader"}
    assert {"organizations:ListRoots", "organizations:ListAccountsForParent"} <= actions_of(document)
    member = policy_document(role_grants(org, "member", service_specs()))
    assert not any(a.startswith(("organizations:", "sts:")) for a in actions_of(member))


def test_connector_with_a_management_role_only_assumes_it() -> None:
    arn = "arn:aws:iam::111111111111:role/orgsync-management"
    org = integration(f'management_account_role_arn = "{arn}"')
    document = policy_document(role_grants(org, "connector", service_specs()))
    assert document["Statement"] == [
        {"Sid": "Sts", "Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"},
        {"Sid": "StsAssumeRole", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": arn},
    ]


def test_owner_resolution_calls_only_when_owners_are_configured() -> None:
    plain = integration()
    owned = integration('integration_owner = { attribute = "group", values = ["admins"] }')
    assert not any(a.startswith("identitystore:") for a in actions_of(policy_document(
        role_grants(plain, "management", service_specs()))))
    assert {"identitystore:ListUsers", "identitystore:ListGroups", "identitystore:ListGroupMemberships",
            "sso:ListInstances"} <= actions_of(policy_document(role_grants(owned, "management", service_specs())))


def test_explorer_calls_only_for_the_explorer_source_or_the_doctor() -> None:
    org = integration()
    services_only = actions_of(policy_document(role_grants(org, "member", service_specs(), sources=("services",))))
    assert not any(a.startswith("resource-explorer-2:") for a in services_only)
    doctor = actions_of(policy_document(role_grants(org, "member", service_specs(), sources=("services",),
                                                    with_doctor=True)))
    assert {"resource-explorer-2:GetIndex", "ssm:DescribeInstanceInformation", "eks:ListAccessEntries"} <= doctor


def test_statements_have_one_sid_per_service() -> None:
    document = policy_document(role_grants(widest_integration("organization", supported_types()), "management", service_specs()))
    sids = [s["Sid"] for s in document["Statement"]]
    assert len(sids) == len(set(sids))
    assert all(sid.isalnum() for sid in sids)
    for statement in document["Statement"]:
        assert len({a.split(":")[0] for a in statement["Action"]}) == 1


def test_cli_prints_the_policy_for_a_config(tmp_path: Path) -> None:
    config = write(tmp_path / "o.toml", config_text('resource_types = ["iam:role"]\nregions = ["us-east-1"]',
                                                    kind="aws-account"))
    result = run_cli("iam-policy", config, "--source", "services")
    assert result.exit_code == 0, result.output
    assert actions_of(json.loads(result.output)) == {"sts:GetCallerIdentity", "iam:GetAccountAuthorizationDetails"}


def test_cli_refuses_a_role_the_integration_does_not_have(tmp_path: Path) -> None:
    config = write(tmp_path / "o.toml", config_text(kind="aws-account"))
    result = run_cli("iam-policy", config, "--role", "member")
    assert result.exit_code == 2
    assert "only the connector role" in result.output


@pytest.mark.parametrize("role", ROLES)
def test_cli_without_config_covers_every_supported_type(role: str) -> None:
    result = run_cli("iam-policy", "--role", role)
    assert result.exit_code == 0, result.output
    actions = actions_of(json.loads(result.output))
    for resource_type in supported_types():
        assert set(service_specs()[resource_type].actions) <= actions
