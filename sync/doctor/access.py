"""Credentials, the management role, the organization walk and the member roles.

`gather_access` (I/O) reuses the engine's own discovery (sync.targets: the OU walk, the
assume-role sessions, the region listing), so the doctor sees exactly what a sync would;
`access_checks` (pure) turns what it found into findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sync.aws.clients import ClientPool
from sync.aws.sessions import new_session
from sync.aws.stats import CallStats
from sync.config import AccountIntegration, Integration, OrganizationIntegration
from sync.doctor.model import CallError, CheckResult, Status, ok, plural, short_list
from sync.doctor.probe import Prober
from sync.targets import (
    BASE,
    MANAGEMENT,
    IntegrationUnreachable,
    Targets,
    discover_targets,
)


@dataclass(frozen=True)
class AccountState:
    account_id: str
    name: str
    status: str  # selected | excluded | inactive | failed
    regions: tuple[str, ...] = ()  # selected accounts: where to look
    failure: CallError | None = None


@dataclass
class AccessEvidence:
    integration: Integration
    caller_arn: str | None = None
    caller_error: CallError | None = None
    unreachable: CallError | None = None  # the management role or the organization listing failed
    management_account_id: str | None = None
    management_arn: str | None = None  # the principal the management side runs as
    accounts: list[AccountState] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def fatal(self) -> bool:
        return self.caller_error is not None or self.unreachable is not None

    def ready(self) -> dict[str, tuple[str, ...]]:
        """Accounts a session exists for, with the regions to probe."""
        return {a.account_id: a.regions for a in self.accounts if a.status == "selected"}


def parse_failure(reason: str, account_id: str, region: str) -> CallError:
    """sync.targets records a failed account as "<step>: <code>: <message>"."""
    step, _, rest = reason.partition(": ")
    code, _, message = rest.partition(": ")
    return CallError(step, account_id, region, code or "unknown", message or reason)


def _accounts(targets: Targets, region: str) -> list[AccountState]:
    out = []
    for account_id, decision in sorted(targets.decisions.items()):
        failure = parse_failure(decision.reason or "", account_id, region) if decision.status == "failed" else None
        out.append(AccountState(account_id, decision.account.name, decision.status,
                                targets.regions.get(account_id, ()), failure))
    return out


async def gather_access(integration: Integration, pool: ClientPool, prober: Prober, stats: CallStats) -> AccessEvidence:
    evidence = AccessEvidence(integration)
    region = integration.region
    profile = integration.aws_profile if isinstance(integration, AccountIntegration) else None
    pool.register_account(BASE, new_session(profile))
    ident = await prober.call(BASE, region, "sts", "GetCallerIdentity", account_id="")
    if isinstance(ident, CallError):
        evidence.caller_error = ident
        return evidence
    evidence.caller_arn = str(ident.get("Arn") or "")
    found: list[Targets] = []
    try:
        await discover_targets(integration, pool, stats, lambda account_id, regions: None, targets_out=found)
    except IntegrationUnreachable as exc:
        evidence.unreachable = CallError(exc.step, "", region, exc.error.code, exc.error.message)
    targets = found[0]
    evidence.accounts = _accounts(targets, region)
    evidence.warnings = list(targets.warnings)
    if isinstance(integration, AccountIntegration):
        evidence.management_account_id = next(iter(targets.decisions), None)
        evidence.management_arn = evidence.caller_arn
    elif targets.management_account_id and evidence.unreachable is None:
        evidence.management_account_id = targets.management_account_id
        mgmt = await prober.call(MANAGEMENT, region, "sts", "GetCallerIdentity",
                                 account_id=targets.management_account_id)
        evidence.management_arn = None if isinstance(mgmt, CallError) else str(mgmt.get("Arn") or "")
    return evidence


# ---- pure checks -------------------------------------------------------------------------------

CREDENTIALS_FIX = ("Give orgsync the connector's credentials through the standard AWS SDK configuration: "
                   "environment variables, AWS_PROFILE or the integration's aws_profile, SSO, or an instance role "
                   "(`aws sts get-caller-identity` must succeed).")


def _management_role(ev: AccessEvidence, integration: OrganizationIntegration) -> CheckResult:
    title = "The management account role can be assumed"
    arn = integration.management_account_role_arn
    if ev.unreachable is not None and ev.unreachable.call.startswith("sts:AssumeRole"):
        extra = " with the configured external_id" if integration.external_id else ""
        return CheckResult(
            "access.management-role", title, Status.ERROR, f"cannot assume management_account_role_arn {arn}",
            evidence=(ev.unreachable.describe(),),
            remediation=(f"Let {ev.caller_arn} assume {arn}{extra}: the role's trust policy must name the connector's "
                         "principal, and the connector needs sts:AssumeRole on it (`orgsync iam-policy --role "
                         "connector`). Or remove management_account_role_arn to use the connector's own credentials."))
    if arn:
        return ok("access.management-role", title, f"assumed {arn}")
    return ok("access.management-role", title,
              f"no management_account_role_arn: the connector's credentials ({ev.caller_arn}) act as the "
              "management account")


def _organization(ev: AccessEvidence) -> CheckResult:
    title = "The organization can be listed"
    if ev.unreachable is not None and not ev.unreachable.call.startswith("sts:AssumeRole"):
        not_org = ev.unreachable.code == "AWSOrganizationsNotInUseException"
        fix = ("This account is not part of an organization: use an aws-account integration."
               if not_org else
               "Run with the management account's credentials (or a delegated administrator's), or set "
               "management_account_role_arn to a role there that may call organizations:DescribeOrganization, "
               "ListRoots, ListOrganizationalUnitsForParent, ListAccountsForParent and ListAccounts (`orgsync iam-policy "
               "--role management`).")
        return CheckResult("access.organization", title, Status.ERROR, "listing the organization failed",
                           evidence=(ev.unreachable.describe(),), remediation=fix)
    counts: dict[str, int] = {}
    for account in ev.accounts:
        counts[account.status] = counts.get(account.status, 0) + 1
    summary = f"{len(ev.accounts)} accounts: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    if ev.warnings:
        return CheckResult("access.organization", title, Status.WARNING, summary + "; " + "; ".join(ev.warnings),
                           remediation="Fix or remove the exclusions that match nothing (likely typos).")
    return ok("access.organization", title, summary)


def _member_roles(ev: AccessEvidence, integration: OrganizationIntegration) -> CheckResult:
    title = "Every selected member account lets the member role be assumed"
    failed = [a for a in ev.accounts if a.failure is not None and a.failure.call.startswith("sts:AssumeRole")]
    if not failed:
        reached = sum(1 for a in ev.accounts if a.status == "selected")
        return ok("access.member-roles", title,
                  f"assumed {integration.member_role_name} in {plural(reached, 'account')}")
    ids = [a.account_id for a in failed]
    codes = sorted({a.failure.code for a in failed if a.failure})
    external = " and ExternalId" if integration.external_id else ""
    return CheckResult(
        "access.member-roles", title, Status.ERROR,
        f"{plural(len(failed), 'member account')} refused {integration.member_role_name} ({', '.join(codes)}): "
        f"{short_list(ids)}",
        accounts=tuple(ids), evidence=tuple(a.failure.describe() for a in failed[:20] if a.failure),
        remediation=(f"Create the role {integration.member_role_name} in these accounts with a trust policy for the "
                     f"management account's role{external} (AWS creates OrganizationAccountAccessRole only in "
                     "accounts created through Organizations, not in invited ones), or exclude the accounts with "
                     "exclude_account_ids / exclude_organization_unit_ids."),
        details={"accounts": {a.account_id: a.name for a in failed}})


def _regions(ev: AccessEvidence) -> CheckResult:
    title = "The enabled regions of every account can be listed"
    failed = [a for a in ev.accounts if a.failure is not None and a.failure.call.startswith("ec2:DescribeRegions")]
    if not failed:
        return ok("access.regions", title, "ec2:DescribeRegions answered in every reachable account")
    return CheckResult(
        "access.regions", title, Status.ERROR, f"the regions of {plural(len(failed), 'account')} cannot be listed",
        accounts=tuple(a.account_id for a in failed),
        evidence=tuple(a.failure.describe() for a in failed[:20] if a.failure),
        remediation="Allow ec2:DescribeRegions to the role (`orgsync iam-policy`), or list the regions to scan in "
                    "the integration's `regions` setting.")


def access_checks(ev: AccessEvidence) -> list[CheckResult]:
    title = "Credentials resolve to an identity"
    if ev.caller_error is not None:
        return [CheckResult("access.credentials", title, Status.ERROR, "sts:GetCallerIdentity failed",
                            evidence=(ev.caller_error.describe(),), remediation=CREDENTIALS_FIX)]
    out = [ok("access.credentials", title, f"running as {ev.caller_arn}",
              evidence=[f"sts:GetCallerIdentity -> {ev.caller_arn}"])]
    integration = ev.integration
    if isinstance(integration, OrganizationIntegration):
        out.append(_management_role(ev, integration))
        if ev.unreachable is None or not ev.unreachable.call.startswith("sts:AssumeRole"):
            out.append(_organization(ev))
        if ev.unreachable is None:
            out.append(_member_roles(ev, integration))
    elif ev.unreachable is not None:
        out.append(CheckResult("access.credentials", title, Status.ERROR, "the account cannot be reached",
                               evidence=(ev.unreachable.describe(),), remediation=CREDENTIALS_FIX))
    if integration.regions is None and ev.unreachable is None:
        out.append(_regions(ev))
    return out
