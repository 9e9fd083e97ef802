"""Which accounts and regions an integration covers, each with a working session, as a stream.

An account is handed to `on_ready` as soon as its role is assumed and its regions are known, so
listing starts while the (slow, serialized) Organizations walk is still going: on a large
organization the walk alone takes minutes at the Organizations API's low request rate.
Accounts whose role cannot be assumed, or whose regions cannot be listed, are recorded as failed
with the AWS error code; the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
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

OnReady = Callable[[str, tuple[str, ...]], None]  # (account id, regions)


class IntegrationUnreachable(Exception):
    """The integration itself could not be reached (no identity, no organization)."""

    def __init__(self, step: str, error: ClassifiedError) -> None:
        super().__init__(f"{step} failed: {error.code}: {error.message}")
        self.step = step
        self.error = error


@dataclass
class Targets:
    """What discovery found; filled in while it runs."""

    decisions: dict[str, AccountDecision] = field(default_factory=dict)
    regions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # ready accounts only
    organization_id: str | None = None
    management_account_id: str | None = None
    warnings: list[str] = field(default_factory=list)

    def decide(self, decision: AccountDecision) -> None:
        self.decisions[decision.account.account_id] = decision

    def mark_failed(self, account_id: str, error: ClassifiedError, step: str) -> None:
        self.regions.pop(account_id, None)
        account = self.decisions[account_id].account
        self.decisions[account_id] = AccountDecision(account, "failed", f"{step}: {error.code}: {error.message}")


async def _call(pool: ClientPool, label: str, region: str, service: str, op: str,
                params: dict[str, Any], stats: CallStats) -> dict[str, Any]:
    return await (await pool.caller(label, region, service)).call(op, params, stats)


async def _identity(pool: ClientPool, label: str, region: str, stats: CallStats) -> str:
    try:
        ident = await _call(pool, label, region, "sts", "GetCallerIdentity", {}, stats)
    except Exception as exc:
        raise IntegrationUnreachable("sts:GetCallerIdentity", classify(exc)) from exc
    return str(ident["Account"])


class _Discovery:
    def __init__(self, integration: Integration, pool: ClientPool, stats: CallStats, on_ready: OnReady,
                 only_accounts: Collection[str] | None, only_regions: Collection[str] | None,
                 list_flat_first: bool) -> None:
        self.integration = integration
        self.list_flat_first = list_flat_first
        self.pool = pool
        self.stats = stats
        self.on_ready = on_ready
        self.only_accounts = only_accounts
        self.only_regions = only_regions
        self.targets = Targets()

    async def regions_of(self, account_id: str) -> None:
        integration = self.integration
        if integration.regions is not None:
            found: Collection[str] = integration.regions
        else:
            try:
                page = await _call(self.pool, account_id, integration.region, "ec2", "DescribeRegions", {}, self.stats)
            except Exception as exc:
                self.targets.mark_failed(account_id, classify(exc), "ec2:DescribeRegions")
                return
            found = [r["RegionName"] for r in page.get("Regions") or ()
                     if r.get("OptInStatus", "opt-in-not-required") in ENABLED_OPT_IN]
        regions = tuple(sorted(r for r in found if self.only_regions is None or r in self.only_regions))
        self.targets.regions[account_id] = regions
        self.on_ready(account_id, regions)

    async def account(self, integration: AccountIntegration) -> None:
        session = new_session(integration.aws_profile)
        self.pool.register_account(BASE, session)
        account_id = await _identity(self.pool, BASE, integration.region, self.stats)
        self.pool.register_account(account_id, session)
        account = OrgAccount(account_id, integration.name, "", "ACTIVE", "", "")
        [decision] = decide_accounts([account], exclude_account_ids=(), only_account_ids=self.only_accounts)
        self.targets.decide(decision)
        if decision.status == "selected":
            await self.regions_of(account_id)

    async def _management_session(self, integration: OrganizationIntegration) -> None:
        self.pool.register_account(BASE, new_session())
        if not integration.management_account_role_arn:
            self.pool.register_account(MANAGEMENT, self.pool.session(BASE))
            return

        async def assume(params: dict[str, Any]) -> dict[str, Any]:
            return await _call(self.pool, BASE, integration.region, "sts", "AssumeRole", params, self.stats)

        try:
            session = await assumed_role_session(assume, role_arn=integration.management_account_role_arn,
                                                 external_id=integration.external_id)
        except Exception as exc:
            raise IntegrationUnreachable("sts:AssumeRole (management account role)", classify(exc)) from exc
        self.pool.register_account(MANAGEMENT, session)

    async def member(self, integration: OrganizationIntegration, account_id: str) -> None:
        if account_id != self.targets.management_account_id:
            role_arn = f"arn:aws:iam::{account_id}:role/{integration.member_role_name}"

            async def assume(params: dict[str, Any]) -> dict[str, Any]:
                return await _call(self.pool, MANAGEMENT, integration.region, "sts", "AssumeRole", params, self.stats)

            try:
                session = await assumed_role_session(assume, role_arn=role_arn, external_id=integration.external_id)
            except Exception as exc:
                self.targets.mark_failed(account_id, classify(exc), f"sts:AssumeRole {role_arn}")
                return
            self.pool.register_account(account_id, session)
        await self.regions_of(account_id)

    async def organization(self, integration: OrganizationIntegration) -> None:
        await self._management_session(integration)
        region = integration.region

        async def org_call(op: str, params: dict[str, Any]) -> dict[str, Any]:
            return await _call(self.pool, MANAGEMENT, region, "organizations", op, params, self.stats)

        async with asyncio.TaskGroup() as members:
            def found(accounts: list[OrgAccount]) -> None:
                for decision in decide_accounts(accounts, exclude_account_ids=integration.exclude_account_ids,
                                                only_account_ids=self.only_accounts):
                    known = self.targets.decisions.get(decision.account.account_id)
                    if known is not None:
                        # The walk reports again, with its OU path, an account the flat listing
                        # already started: keep what has happened to it since (a failure).
                        self.targets.decide(replace(known, account=decision.account))
                        continue
                    self.targets.decide(decision)
                    if decision.status == "selected":
                        members.create_task(self.member(integration, decision.account.account_id))

            def organization_known(organization_id: str, management_account_id: str) -> None:
                self.targets.organization_id = organization_id
                self.targets.management_account_id = management_account_id
                self.pool.register_account(management_account_id, self.pool.session(MANAGEMENT))

            failure: Exception | None = None
            try:
                tree = await walk_organization(org_call, integration.exclude_organization_unit_ids,
                                               on_organization=organization_known, on_accounts=found,
                                               list_flat_first=self.list_flat_first)
            except Exception as exc:
                # Accounts found before the failure still sync: leave the group normally first.
                failure = exc
        if failure is not None:
            raise IntegrationUnreachable("organizations: listing the organization", classify(failure)) from failure
        self.targets.warnings.extend(
            unknown_exclusions(tree, integration.exclude_organization_unit_ids, integration.exclude_account_ids))


async def discover_targets(
    integration: Integration,
    pool: ClientPool,
    stats: CallStats,
    on_ready: OnReady,
    *,
    only_accounts: Collection[str] | None = None,
    only_regions: Collection[str] | None = None,
    targets_out: list[Targets] | None = None,
    list_flat_first: bool = False,
) -> Targets:
    """Discover accounts, calling `on_ready` for each account as soon as it can be listed.

    `targets_out` receives the Targets object at once, so a caller still holds what was found
    when discovery fails half-way with IntegrationUnreachable. `list_flat_first`: see
    `walk_organization`.
    """
    discovery = _Discovery(integration, pool, stats, on_ready, only_accounts, only_regions, list_flat_first)
    if targets_out is not None:
        targets_out.append(discovery.targets)
    if isinstance(integration, OrganizationIntegration):
        await discovery.organization(integration)
    else:
        await discovery.account(integration)
    return discovery.targets
