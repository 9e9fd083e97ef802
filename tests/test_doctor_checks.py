"""The doctor's pure checks over hand-built evidence: each can fail and pass without AWS."""

from __future__ import annotations

import dataclasses

from sync.config import OrganizationIntegration
from sync.doctor.access import (
    AccessEvidence,
    AccountState,
    access_checks,
    parse_failure,
)
from sync.doctor.explorer_checks import (
    ExplorerEvidence,
    IndexInfo,
    ViewInfo,
    aggregator_check,
    index_state_check,
    local_indexes_check,
    trusted_access_check,
    view_check,
    view_volume_check,
)
from sync.doctor.model import CallError, CheckResult, Status, exit_code, group_pairs
from sync.doctor.prerequisites import (
    Ec2Scope,
    EksCluster,
    PrereqEvidence,
    ec2_ssm_check,
    eks_access_check,
    principal_key,
)
from sync.doctor.scp import CatalogEvidence, permissions_check, scp_check

MGMT, A, B = "111111111111", "222222222222", "333333333333"
SCP_MESSAGE = "User: x is not authorized to perform: ec2:DescribeInstances with an explicit deny in a service control policy"
ORG_SCOPE = f"arn:aws:organizations::{MGMT}:organization/o-abc"


def org(**extra: object) -> OrganizationIntegration:
    return OrganizationIntegration(name="acme", kind="aws-organization", region="us-east-1",
                                   regions=("us-east-1", "eu-west-1"), resource_types=("ec2:instance",),
                                   sso_region="us-east-1", sso_portal="https://acme.awsapps.com/start", **extra)


def explorer(**extra: object) -> ExplorerEvidence:
    view = ViewInfo(f"arn:aws:resource-explorer-2:us-east-1:{MGMT}:view/org/1", "us-east-1", ORG_SCOPE, True, "", True)
    healthy = ExplorerEvidence(
        organization=True, home_region="us-east-1", management_account_id=MGMT, aggregator_region="us-east-1",
        trusted_access="ENABLED", management_indexes=[IndexInfo(MGMT, "us-east-1", "AGGREGATOR", None)],
        expected={MGMT: ("us-east-1",), A: ("us-east-1", "eu-west-1")},
        indexes={(MGMT, "us-east-1"): IndexInfo(MGMT, "us-east-1", "AGGREGATOR", "ACTIVE"),
                 (A, "us-east-1"): IndexInfo(A, "us-east-1", "LOCAL", "ACTIVE"),
                 (A, "eu-west-1"): IndexInfo(A, "eu-west-1", "LOCAL", "ACTIVE")},
        views=[view], view=view, view_sample=1)
    return dataclasses.replace(healthy, **extra)  # type: ignore[arg-type]


def by_id(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.id: r for r in results}


def test_exit_code_is_the_worst_status() -> None:
    assert exit_code([]) == 0
    results = [CheckResult("a", "", Status.OK, ""), CheckResult("b", "", Status.WARNING, "")]
    assert exit_code(results) == 1
    assert exit_code([*results, CheckResult("c", "", Status.ERROR, "")]) == 2


def test_failure_reasons_of_the_engine_parse_into_call_errors() -> None:
    failure = parse_failure("sts:AssumeRole arn:aws:iam::2:role/R: AccessDenied: User: x is not authorized", A, "r")
    assert (failure.call, failure.code, failure.message) == ("sts:AssumeRole arn:aws:iam::2:role/R", "AccessDenied",
                                                             "User: x is not authorized")


def test_member_roles_fail_for_unassumable_accounts_and_pass_otherwise() -> None:
    failure = CallError("sts:AssumeRole", B, "us-east-1", "AccessDenied", "no")
    broken = AccessEvidence(org(), caller_arn="arn:aws:iam::1:user/u", accounts=[
        AccountState(A, "a", "selected", ("us-east-1",)), AccountState(B, "b", "failed", (), failure)])
    result = by_id(access_checks(broken))["access.member-roles"]
    assert result.status is Status.ERROR and result.accounts == (B,)
    healthy = AccessEvidence(org(), caller_arn="x", accounts=[AccountState(A, "a", "selected", ("us-east-1",))])
    assert by_id(access_checks(healthy))["access.member-roles"].status is Status.OK


def test_credentials_error_stops_every_other_access_check() -> None:
    evidence = AccessEvidence(org(), caller_error=CallError("sts:GetCallerIdentity", "", "us-east-1",
                                                            "NoCredentialsError", "Unable to locate credentials"))
    [only] = access_checks(evidence)
    assert only.id == "access.credentials" and only.status is Status.ERROR and "NoCredentialsError" in only.evidence[0]


def test_trusted_access() -> None:
    assert trusted_access_check(explorer()).status is Status.OK
    assert trusted_access_check(explorer(trusted_access="DISABLED")).status is Status.ERROR


def test_aggregator_missing_local_and_present() -> None:
    assert aggregator_check(explorer()).status is Status.OK
    local = aggregator_check(explorer(management_indexes=[IndexInfo(MGMT, "us-east-1", "LOCAL", None)]))
    assert local.status is Status.ERROR and "exists but is LOCAL" in local.summary
    missing = aggregator_check(explorer(management_indexes=[]))
    assert missing.status is Status.ERROR and "no index in us-east-1" in missing.summary


def test_missing_local_indexes_are_grouped_by_account_and_region() -> None:
    ev = explorer()
    del ev.indexes[(A, "eu-west-1")]
    result = local_indexes_check(ev)
    assert result.status is Status.WARNING
    assert result.details["by_region"] == {"eu-west-1": [A]} and result.details["by_account"] == {A: ["eu-west-1"]}
    assert local_indexes_check(explorer()).status is Status.OK


def test_an_unknown_index_is_not_reported_missing() -> None:
    ev = explorer()
    del ev.indexes[(A, "eu-west-1")]
    ev.unknown[(A, "eu-west-1")] = CallError("resource-explorer-2:GetIndex", A, "eu-west-1", "AccessDenied", SCP_MESSAGE)
    assert local_indexes_check(ev).status is Status.OK


def test_index_states() -> None:
    ev = explorer()
    ev.indexes[(A, "us-east-1")] = IndexInfo(A, "us-east-1", "LOCAL", "CREATING")
    result = index_state_check(ev)
    assert result.status is Status.WARNING and result.details["states"] == {f"{A}:us-east-1": "CREATING"}
    assert index_state_check(explorer()).status is Status.OK


def test_view_without_tags_is_an_error_only_when_owners_are_configured() -> None:
    untagged = ViewInfo("arn:v", "us-east-1", ORG_SCOPE, False, "", True)
    assert view_check(explorer(view=untagged, views=[untagged])).status is Status.WARNING
    assert view_check(explorer(view=untagged, views=[untagged], owners_configured=True)).status is Status.ERROR
    assert view_check(explorer(view=None)).status is Status.ERROR
    assert view_check(explorer()).status is Status.OK


def test_view_volume_empty_far_below_and_inconclusive() -> None:
    assert view_volume_check(explorer(view_sample=0)).status is Status.WARNING
    assert view_volume_check(explorer(baseline={"ec2:instance": 100}, type_counts={"ec2:instance": (20, True)})
                             ).status is Status.WARNING
    assert view_volume_check(explorer(baseline={"ec2:instance": 100}, type_counts={"ec2:instance": (60, False)})
                             ).status is Status.OK
    # Counting stopped at the page budget: not enough evidence to call it far below.
    assert view_volume_check(explorer(baseline={"ec2:instance": 10_000}, type_counts={"ec2:instance": (500, False)})
                             ).status is Status.OK
    unsupported = explorer(baseline={"eks:cluster": 50}, unsupported=frozenset({"eks:cluster"}))
    assert view_volume_check(unsupported).status is Status.OK


def test_scp_denies_are_errors_in_configured_regions_warnings_elsewhere() -> None:
    denied = CallError("ec2:DescribeInstances", A, "eu-west-1", "UnauthorizedOperation", SCP_MESSAGE)
    assert scp_check([denied], None, ("us-east-1", "eu-west-1")).status is Status.ERROR
    assert scp_check([denied], None, None).status is Status.WARNING
    plain = CallError("ec2:DescribeInstances", A, "eu-west-1", "UnauthorizedOperation", "not authorized")
    assert scp_check([plain], None, None).status is Status.OK
    from_catalog = CatalogEvidence("c.duckdb", 7, (denied,))
    result = scp_check([], from_catalog, ("eu-west-1",))
    assert result.status is Status.ERROR and result.details["from_last_sync"] == 1


def test_permissions_flag_denies_that_are_not_scps() -> None:
    plain = CallError("ssm:DescribeInstanceInformation", A, "eu-west-1", "AccessDeniedException", "not authorized")
    scp = CallError("ssm:DescribeInstanceInformation", A, "eu-west-1", "AccessDeniedException", SCP_MESSAGE)
    assert permissions_check([plain]).status is Status.WARNING
    assert permissions_check([scp]).status is Status.OK


def test_ec2_instances_outside_ssm() -> None:
    ev = PrereqEvidence(True, False, {}, ec2=[Ec2Scope(A, "us-east-1", ("i-1", "i-2"), frozenset({"i-1"}))])
    result = ec2_ssm_check(ev)
    assert result.status is Status.WARNING and result.details["instances"] == {f"{A}:us-east-1": ["i-2"]}
    ok = PrereqEvidence(True, False, {}, ec2=[Ec2Scope(A, "us-east-1", ("i-1",), frozenset({"i-1"}))])
    assert ec2_ssm_check(ok).status is Status.OK


def test_eks_access_entries_match_the_connector_role_by_name() -> None:
    role = f"arn:aws:iam::{A}:role/OrganizationAccountAccessRole"
    assert principal_key(f"arn:aws:sts::{A}:assumed-role/OrganizationAccountAccessRole/orgsync") == principal_key(role)
    assert principal_key(f"arn:aws:iam::{A}:role/path/OrganizationAccountAccessRole") == principal_key(role)
    good = EksCluster(A, "us-east-1", "c1", (f"arn:aws:iam::{A}:role/path/OrganizationAccountAccessRole",))
    bad = EksCluster(A, "us-east-1", "c2", (f"arn:aws:iam::{A}:role/Other",))
    assert eks_access_check(PrereqEvidence(False, True, {A: role}, eks=[good])).status is Status.OK
    result = eks_access_check(PrereqEvidence(False, True, {A: role}, eks=[good, bad]))
    assert result.status is Status.WARNING and result.details["clusters"] == [f"{A}:us-east-1:c2"]


def test_group_pairs() -> None:
    assert group_pairs([(A, "r1"), (B, "r1"), (A, "r2")]) == {
        "by_account": {A: ["r1", "r2"], B: ["r1"]}, "by_region": {"r1": [A, B], "r2": [A]}}


def test_accounts_whose_regions_cannot_be_listed() -> None:
    integration = dataclasses.replace(org(), regions=None)
    failure = CallError("ec2:DescribeRegions", B, "us-east-1", "UnauthorizedOperation", "no")
    broken = AccessEvidence(integration, caller_arn="x", accounts=[AccountState(B, "b", "failed", (), failure)])
    result = by_id(access_checks(broken))["access.regions"]
    assert result.status is Status.ERROR and result.accounts == (B,)
    healthy = AccessEvidence(integration, caller_arn="x", accounts=[AccountState(A, "a", "selected", ("us-east-1",))])
    assert by_id(access_checks(healthy))["access.regions"].status is Status.OK
    # With regions in the config nothing lists them, so there is nothing to check.
    assert "access.regions" not in by_id(access_checks(AccessEvidence(org(), caller_arn="x")))
