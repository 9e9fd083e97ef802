"""One doctor run over one integration: gather the evidence (I/O), then evaluate the checks (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from sync.aws.clients import ClientPool
from sync.aws.limits import Limiters
from sync.aws.stats import CallStats
from sync.config import Integration, OrganizationIntegration
from sync.doctor.access import AccessEvidence, access_checks, gather_access
from sync.doctor.explorer_checks import ExplorerEvidence, explorer_checks
from sync.doctor.explorer_gather import gather_explorer, probe_local_indexes
from sync.doctor.model import CheckResult
from sync.doctor.prerequisites import (
    PrereqEvidence,
    gather_prerequisites,
    prerequisite_checks,
)
from sync.doctor.probe import Prober
from sync.doctor.scp import CatalogEvidence, permissions_check, read_catalog, scp_check
from sync.sources.model import partition_for
from sync.targets import MANAGEMENT

CATEGORIES = ("access", "explorer", "scp", "prerequisites")


@dataclass(frozen=True)
class DoctorOptions:
    categories: frozenset[str] = frozenset(CATEGORIES)
    catalog_path: str | None = None
    aggregator_region: str | None = None  # when the management account has no aggregator index
    view_pages: int = 40  # ListResources pages per type when comparing the view with the last sync
    max_attempts: int = 3  # a doctor reports; it does not need a sync's patience
    concurrency: int = 16


def expected_indexes(access: AccessEvidence) -> dict[str, tuple[str, ...]]:
    """Every account x region that should have a local index: the reachable accounts' regions, and
    the configured regions of accounts whose role could not be assumed."""
    out = dict(access.ready())
    for account in access.accounts:
        if account.status == "failed" and access.integration.regions:
            out[account.account_id] = tuple(access.integration.regions)
    return out


def connector_roles(access: AccessEvidence) -> dict[str, str]:
    """The principal the connector acts as in each account, which EKS access entries must name."""
    integration = access.integration
    roles = {a: access.management_arn or "" for a in access.ready()}
    if isinstance(integration, OrganizationIntegration):
        partition = partition_for(integration.region)
        for account_id in access.ready():
            if account_id != access.management_account_id:
                roles[account_id] = f"arn:{partition}:iam::{account_id}:role/{integration.member_role_name}"
    return roles


async def diagnose(integration: Integration, options: DoctorOptions) -> list[CheckResult]:
    wanted = options.categories
    stats = CallStats()
    async with ClientPool(Limiters(), max_attempts=options.max_attempts, max_backoff=2.0) as pool:
        prober = Prober(pool, stats)
        access = await gather_access(integration, pool, prober, stats)
        if access.fatal:
            return access_checks(access)  # nothing else can be looked at; say why, whatever was asked
        results = access_checks(access) if "access" in wanted else []
        catalog: CatalogEvidence | None = None
        if options.catalog_path and ("scp" in wanted or "explorer" in wanted):
            catalog = read_catalog(options.catalog_path, integration.name)
        organization = isinstance(integration, OrganizationIntegration)
        management = access.management_account_id or ""
        explorer = ExplorerEvidence(
            organization=organization, home_region=integration.region, management_account_id=management,
            aggregator_region=options.aggregator_region or integration.region,
            owners_configured=integration.resource_owner is not None, expected=expected_indexes(access),
            baseline=dict(catalog.baseline) if catalog else {})
        if "explorer" in wanted:
            await gather_explorer(prober, explorer, management_label=MANAGEMENT if organization else management,
                                  ready=access.ready(),
                                  unreachable=[a.account_id for a in access.accounts if a.status == "failed"],
                                  aggregator_region=options.aggregator_region, max_pages=options.view_pages,
                                  concurrency=options.concurrency)
            results += explorer_checks(explorer)
        elif "scp" in wanted:
            await probe_local_indexes(prober, explorer, access.ready(), options.concurrency)  # the regional probes
        if "prerequisites" in wanted:
            prereq = PrereqEvidence(check_ec2="ec2:instance" in integration.resource_types,
                                    check_eks="eks:cluster" in integration.resource_types,
                                    connector_roles=connector_roles(access))
            await gather_prerequisites(prober, prereq, access.ready(), options.concurrency)
            results += prerequisite_checks(prereq)
        if "scp" in wanted:
            results.append(scp_check(prober.errors, catalog, integration.regions))
        if "access" in wanted:
            results.append(permissions_check(prober.errors))
    return results
