"""Which accounts and regions an integration covers, with a working session for each account.

Accounts whose role cannot be assumed, or whose regions cannot be listed, are recorded as failed
with the AWS error code; the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sync.aws.clients import ClientPool
from sync.aws.errors import ClassifiedError, classify
from sync.aws.sessions import assumed_role_session, new_session
from sync.aws.stats import CallStats
from sync.config import AccountIntegration, Integration, OrganizationIntegration
from sync.org import AccountDecision, OrgAccount, decide_accounts, unknown_exclusions, walk_organization

BASE = "@base"
MANAGEMENT = "@management"
ENABLED_OPT_IN = frozenset({"opt-in-not-required", "opted-in"})


class IntegrationUnreachable(Exception):
    """The integration itself could not be reached (no identity, no organization): nothing to sync."""

    def __init__(self, step: str, error: ClassifiedError) -> None:
        super().__init__(f"{step} failed: {error.code}: {error.message}")
        self.step = step
        self.error = error


@dataclass
class Targets:
    decisions: list[AccountDecision]
    regions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # selected and reachable accounts only
    organization_id: str | None = None
    management_account_id: str | None = None
    warnings: list[str] = field(default_factory=list)

    def mark_failed(self, account_id: str, error: ClassifiedError, step: str) -> None:
        self.regions.pop(account_id, None)
        self.decisions = [
            AccountDecision(d.account, "failed", f"{step}: {error.code}: {error.message}")
            if d.account.account_id == account_id else d
            for d in self.decisions
        ]


async def _call(pool: ClientPool, label: str, region: str, service: str, op: str,
                params: dict[str, Any], stats: CallStats) -> dict[str, Any]:
    return await (await pool.caller(label, region, service)).call(op, params, stats)


async def _identity(pool: ClientPool, label: str, region: str, stats: CallStats) -> str:
    try:
        ident = await _call(pool, label, region, "sts", "GetCallerIdentity", {}, stats)
    except Exception as exc:
        raise IntegrationUnreachable("sts:GetCallerIdentity", classify(exc)) from exc
    return str(ident["Account"])


async def _account_targets(integration: AccountIntegration, pool: ClientPool, stats: CallStats) -> Targets:
    session = new_session(integration.aws_profile)
    pool.register_account(BASE, session)
    account_id = await _identity(pool, BASE, integration.region, stats)
    pool.register_account(account_id, session)
    account = OrgAccount(account_id, integration.name, "", "ACTIVE", "", "")
    return Targets(decisions=[AccountDecision(account, "selected")])


async def _organization_targets(
    integration: OrganizationIntegration, pool: ClientPool, stats: CallStats, only_accounts: Collection[str] | None
) -> Targets:
    region = integration.region
    pool.register_account(BASE, new_session())
    if integration.management_account_role_arn:
        async def assume_management(params: dict[str, Any]) -> dict[str, Any]:
            return await _call(pool, BASE, region, "sts", "AssumeRole", params, stats)

        try:
            management = await assumed_role_session(
                assume_management, role_arn=integration.management_account_role_arn,
                external_id=integration.external_id,
            )
        except Exception as exc:
            raise IntegrationUnreachable("sts:AssumeRole (management account role)", classify(exc)) from exc
        pool.register_account(MANAGEMENT, management)
    else:
        pool.register_account(MANAGEMENT, new_session())

    async def org_call(op: str, params: dict[str, Any]) -> dict[str, Any]:
        return await _call(pool, MANAGEMENT, region, "organizations", op, params, stats)

    try:
        tree = await walk_organization(org_call, integration.exclude_organization_unit_ids)
    except Exception as exc:
        raise IntegrationUnreachable("organizations: listing the organization", classify(exc)) from exc

    targets = Targets(
        decisions=decide_accounts(tree.accounts, exclude_account_ids=integration.exclude_account_ids,
                                  only_account_ids=only_accounts),
        organization_id=tree.organization_id,
        management_account_id=tree.management_account_id,
        warnings=unknown_exclusions(tree, integration.exclude_organization_unit_ids, integration.exclude_account_ids),
    )
    management_session = pool.session(MANAGEMENT)
    pool.register_account(tree.management_account_id, management_session)

    async def assume_member(account_id: str) -> None:
        role_arn = f"arn:aws:iam::{account_id}:role/{integration.member_role_name}"

        async def assume(params: dict[str, Any]) -> dict[str, Any]:
            return await _call(pool, MANAGEMENT, region, "sts", "AssumeRole", params, stats)

        try:
            session = await assumed_role_session(assume, role_arn=role_arn, external_id=integration.external_id)
        except Exception as exc:
            targets.mark_failed(account_id, classify(exc), f"sts:AssumeRole {role_arn}")
            return
        pool.register_account(account_id, session)

    members = [d.account.account_id for d in targets.decisions
               if d.status == "selected" and d.account.account_id != tree.management_account_id]
    async with asyncio.TaskGroup() as group:
        for account_id in members:
            group.create_task(assume_member(account_id))
    return targets


async def _resolve_regions(integration: Integration, targets: Targets, pool: ClientPool, stats: CallStats,
                           only_regions: Collection[str] | None) -> None:
    async def regions_of(account_id: str) -> None:
        if integration.regions is not None:
            found: Collection[str] = integration.regions
        else:
            try:
                page = await _call(pool, account_id, integration.region, "ec2", "DescribeRegions", {}, stats)
            except Exception as exc:
                targets.mark_failed(account_id, classify(exc), "ec2:DescribeRegions")
                return
            found = [r["RegionName"] for r in page.get("Regions") or ()
                     if r.get("OptInStatus", "opt-in-not-required") in ENABLED_OPT_IN]
        targets.regions[account_id] = tuple(sorted(r for r in found if only_regions is None or r in only_regions))

    selected = [d.account.account_id for d in targets.decisions if d.status == "selected"]
    async with asyncio.TaskGroup() as group:
        for account_id in selected:
            group.create_task(regions_of(account_id))


async def resolve_targets(
    integration: Integration,
    pool: ClientPool,
    stats: CallStats,
    *,
    only_accounts: Collection[str] | None = None,
    only_regions: Collection[str] | None = None,
) -> Targets:
    if isinstance(integration, OrganizationIntegration):
        targets = await _organization_targets(integration, pool, stats, only_accounts)
    else:
        targets = await _account_targets(integration, pool, stats)
        if only_accounts is not None:
            targets.decisions = decide_accounts([d.account for d in targets.decisions],
                                                exclude_account_ids=(), only_account_ids=only_accounts)
    await _resolve_regions(integration, targets, pool, stats, only_regions)
    return targets
