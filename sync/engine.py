"""One sync of one integration: targets -> plan -> scopes -> a RunRecord for the catalog writer.

Nothing here touches the catalog; the caller commits the returned record in one transaction.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


from catalog.records import AccountRecord, RunRecord, ScopeRecord
from catalog.state import ScopeMemory
from sync.aws.calls import MAX_ATTEMPTS, ApiCaller
from sync.aws.clients import ClientPool
from sync.aws.limits import Limiters
from sync.aws.stats import CallStats
from sync.batches import BatchBuilder
from sync.config import Integration
from sync.aws.errors import error_code
from sync.explorer.coverage import explorer_record
from sync.explorer.planner import tags_by_cost
from sync.explorer.source import list_query
from sync.explorer.tagging import apply_tags, areas_of, tag_listing, tags_by_area
from sync.plan import ExplorerQuery, ScopeKey, WorkItem
from sync.progress import Progress
from sync.scheduler import Item, RoundRobinQueue, ScopeOutput, ScopeResult, run_queue
from sync.sources.fetch import fetch_service_scope
from sync.sources.model import GLOBAL_REGION, ScopeContext, global_home
from sync.sources.registry import service_specs
from sync.targets import IntegrationUnreachable, Targets, discover_targets
from sync.usage import AccountUsage
from sync.work import WorkPlanner


@dataclass(frozen=True)
class SyncOptions:
    accounts: frozenset[str] | None = None
    regions: frozenset[str] | None = None
    types: frozenset[str] | None = None
    mode: str = "full"  # full | incremental (see sync/refresh.py)
    # The retry budget per API call; tests shrink it to fail fast.
    max_attempts: int = MAX_ATTEMPTS
    max_backoff: float = 20.0
    # Multiplies every rate in sync.aws.limits (e.g. 0.5 to be gentler on a shared account).
    rate_scale: float = 1.0
    source: str = "auto"  # auto | explorer | services

    def as_dict(self) -> dict[str, Any]:
        return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in dataclasses.asdict(self).items()}


def selected_types(integration: Integration, only: Collection[str] | None) -> tuple[str, ...]:
    return tuple(t for t in integration.resource_types if only is None or t in only)


def _account_records(targets: Targets) -> list[AccountRecord]:
    return [
        AccountRecord(
            account_id=d.account.account_id, name=d.account.name, email=d.account.email,
            state=d.account.state, ou_path=d.account.ou_path, parent_id=d.account.parent_id,
            status=d.status, status_reason=d.reason,
            regions=targets.regions.get(d.account.account_id, ()),
        )
        for d in sorted(targets.decisions.values(), key=lambda d: d.account.account_id)
    ]


def _scope_record(result: ScopeResult) -> ScopeRecord:
    k = result.key
    return ScopeRecord(
        account_id=k.account_id, region=k.region, resource_type=k.resource_type,
        source=result.source, reason=result.reason, status=result.status,
        error_code=result.error_code, error_message=result.error_message,
        resources=result.rows, pages=result.stats.pages, api_calls=result.stats.api_calls,
        throttles=result.stats.throttles, retries=result.stats.retries,
        started_at=result.started_at, duration_ms=result.duration_ms,
    )


def integration_settings(integration: Integration) -> dict[str, Any]:
    return dataclasses.asdict(integration)


async def sync_integration(
    integration: Integration,
    options: SyncOptions,
    progress: Progress,
    previous_scopes: Mapping[tuple[str, str, str], ScopeMemory] | None = None,
) -> RunRecord:
    """Discover, probe, plan and list concurrently: an account's scopes start once it is ready.

    `previous_scopes` ((account, region, type) -> the scope's last completion, from the catalog)
    feeds the planner's estimates, the incremental refresh policy, and the guard against an index
    that lags behind.
    """
    started = datetime.now(timezone.utc)
    specs = service_specs()
    types = selected_types(integration, options.types)
    global_types = frozenset(t for t in types if specs[t].is_global)
    owner_key = integration.resource_owner.tag_key if integration.resource_owner else None
    memory = dict(previous_scopes or {})
    previous = {key: m.resources for key, m in memory.items()}
    per_account_region: dict[tuple[str, str], int] = {}
    for (account, region, _), count in previous.items():
        per_account_region[(account, region)] = per_account_region.get((account, region), 0) + count
    run_stats = CallStats()
    record = RunRecord(
        integration=integration.name, kind=integration.kind, settings=integration_settings(integration),
        mode=options.mode, started_at=started, finished_at=started, error=None, accounts=[], scopes=[],
        rows=[], options=options.as_dict(),
    )
    queue = RoundRobinQueue()
    found: list[Targets] = []

    async with ClientPool(Limiters(options.rate_scale), on_event=progress.event, max_attempts=options.max_attempts,
                          max_backoff=options.max_backoff) as pool:

        def home_account() -> str | None:
            if not found:
                return None
            targets = found[0]
            return targets.management_account_id or next(iter(targets.regions), None)

        usage = AccountUsage()
        planner = WorkPlanner(
            integration=integration, source=options.source, types=types, global_types=global_types, pool=pool,
            stats=run_stats, queue=queue, progress=progress, previous_counts=per_account_region,
            home_account=home_account, previous_scopes=memory if options.mode == "incremental" else None,
            on_planned=usage.add, hold=usage.hold, unhold=usage.unhold,
        )

        async def discover() -> None:
            try:
                # Forced modes read some tags a call per resource (IAM policies at 20/s: 250 s for
                # an account at IAM's quota), so an account found late in the walk may finish
                # last: finding every account first pays. Auto pages its tags 100 or 1,000 a call,
                # accounts finish within seconds of being found, and the walk's own calls decide.
                targets = await discover_targets(integration, pool, run_stats, planner.account_ready,
                                                 only_accounts=options.accounts, only_regions=options.regions,
                                                 targets_out=found, list_flat_first=options.source != "auto")
                for warning in targets.warnings:
                    progress.warn(warning)
                record.warnings.extend(targets.warnings)
            except IntegrationUnreachable as exc:
                record.error = str(exc)
            finally:
                planner.discovery_done()

        async def services_scope(item: WorkItem, stats: CallStats) -> ScopeOutput:
            spec = specs[item.key.resource_type]
            if item.tags_from == "tagging":
                spec = dataclasses.replace(spec, tags=None)  # GetResources below brings them
            ctx = ScopeContext(account_id=item.key.account_id, region=item.api_region)
            builder = BatchBuilder(source=item.source, scope_region=item.key.region, owner_tag_key=owner_key)

            async def caller_for(region: str, service: str) -> ApiCaller:
                return await pool.caller(item.key.account_id, region, service)

            unread_before = stats.unread_tags
            async for page in fetch_service_scope(spec, ctx, caller_for, stats):
                builder.extend(page)
            if unread := stats.unread_tags - unread_before:
                assert spec.tags is not None  # only a tag call leaves tags unread
                warning = (f"{item.key.account_id} {item.key.region} {item.key.resource_type}: the tags of {unread} "
                           f"resource(s) could not be read ({spec.tags.operation}: "
                           f"{'/'.join(sorted(spec.tags.unreadable_on))}, e.g. an SCP denying their region); "
                           "they are kept with the tags the catalog had, new ones with tags unknown (NULL)")
                record.warnings.append(warning)
                progress.warn(warning)
            batches = builder.batches()
            if item.tags_from == "tagging" and builder.rows:
                listing = await tag_listing(batches, item.key.account_id, item.key.resource_type,
                                            tagging_caller, stats, owner_key)
                batches = listing.batches
                own = specs[item.key.resource_type].tags
                assert own is not None  # the planner chose the Tagging API in place of it
                scope = f"{item.key.account_id} {item.key.region} {item.key.resource_type}"
                again: str | None = None  # why the scope is listed again with the spec's own tag calls
                if listing.failed:
                    codes = "/".join(sorted({error_code(e) or type(e).__name__ for e in listing.failed.values()}))
                    if listing.unknown == builder.rows:  # nothing came back
                        again = f"Tagging API failed ({codes}): tags through {own.operation}"
                        record.warnings.append(f"{scope}: {again}")
                    else:
                        warning = (f"{scope}: the tags of {listing.unknown} resource(s) in "
                                   f"{', '.join(sorted(listing.failed))} could not be read (GetResources: {codes}, "
                                   "e.g. an SCP denying the region); they are kept with the tags the catalog had, "
                                   "new ones with tags unknown (NULL)")
                        record.warnings.append(warning)
                        progress.warn(warning)
                elif not listing.answered:
                    # Silence reads as "none tagged" only from an API known to serve the type here;
                    # an endpoint that does not (moto serves no IAM) would make every tag vanish.
                    again = (f"{item.reason}; the Tagging API returned none of its {builder.rows} resource(s), "
                             f"which cannot be told from not serving them: tags through {own.operation}")
                if again is not None:
                    return await services_scope(dataclasses.replace(item, tags_from="items", reason=again), stats)
            return ScopeOutput(builder.rows, batches, item.source, item.reason)

        def fallback(item: WorkItem) -> WorkItem:
            """A scope Resource Explorer could not vouch for, re-listed through its service API; in
            auto mode with the cheaper tag source, as the planner gives any service-listed scope.
            (On org-2000 these re-lists' ListTags calls, at Lambda's 15/s, were the sync's tail.)"""
            return tags_by_cost(item) if options.source == "auto" else item

        async def tagging_caller(account_id: str, region: str) -> ApiCaller:
            where = global_home(integration.region) if region == GLOBAL_REGION else region
            return await pool.caller(account_id, where, "resourcegroupstaggingapi")

        async def explorer_scopes(query: ExplorerQuery, stats: CallStats) -> dict[ScopeKey, ScopeOutput]:
            out: dict[ScopeKey, ScopeOutput] = {}
            tags: dict[str, dict[str, str]] = {}
            if query.tags_from == "tagging":
                tags, failed = await tags_by_area(areas_of(query.keys), tagging_caller, stats)
                if failed:
                    # The service APIs still list these scopes whole, tags included.
                    for key in [k for k in query.keys if (k.account_id, k.region) in failed]:
                        exc = failed[(key.account_id, key.region)]
                        reason = f"Tagging API failed ({error_code(exc) or type(exc).__name__}): listed through the service API"
                        record.warnings.append(f"{key.account_id} {key.region} {key.resource_type}: {reason}")
                        out[key] = await services_scope(WorkItem(key, "services", key.region, reason), stats)
                    query = dataclasses.replace(query, keys=tuple(k for k in query.keys if k not in out))
                    if not query.keys:
                        return out
            caller = await pool.caller(query.account_id, query.region, "resource-explorer-2")
            builder, counts = await list_query(query, caller, stats, global_types=global_types,
                                               owner_tag_key=owner_key)
            unconfirmed = _unconfirmed_empty(counts, previous)
            # The query's rows travel with its first kept scope; a query completes or fails as a
            # whole. Scopes re-listed below had no rows in it, so nothing needs taking out.
            batches = builder.batches()
            if query.tags_from == "tagging":
                batches = apply_tags(batches, tags, owner_key)
            for key, rows in counts.items():
                if key not in unconfirmed:
                    out[key] = ScopeOutput(rows, batches, query.source, query.reason_for(key))
                    batches = []
            # An index that is still catching up answers nothing; taking that at its word would
            # lose resources (or mark every resource of the scope deleted). The re-lists run side
            # by side: on a first sync every empty account x region of the query is re-listed, and
            # one after another they held an aggregator worker for up to 20 s (org-2000: 375 calls
            # behind one 47-page query), while the aggregator's queue waited.
            for key, reason in unconfirmed.items():
                record.warnings.append(f"{key.account_id} {key.region} {key.resource_type}: {reason}")
            relisted = await asyncio.gather(*(
                services_scope(fallback(WorkItem(
                    key, "services", integration.region if key.region == GLOBAL_REGION else key.region, reason)), stats)
                for key, reason in unconfirmed.items()), return_exceptions=True)
            for key, result in zip(unconfirmed, relisted, strict=True):
                if isinstance(result, BaseException):
                    raise result  # the query fails as a whole, as it did on its first error
                out[key] = result
            return out

        async def run(item: Item, stats: CallStats) -> dict[ScopeKey, ScopeOutput]:
            try:
                if isinstance(item, ExplorerQuery):
                    return await explorer_scopes(item, stats)
                return {item.key: await services_scope(item, stats)}
            finally:
                for account_id in usage.done(item):
                    await pool.release_account(account_id)

        progress.phase("discovering accounts and listing resources")
        async with asyncio.TaskGroup() as group:
            group.create_task(discover())
            group.create_task(planner.run())
            listing = group.create_task(run_queue(queue, run, progress.scope_done))
        results = listing.result()
    progress.phase("committing")
    if planner.refresh_tally:
        record.options["refresh"] = dict(sorted(planner.refresh_tally.items()))
    for problem in planner.coverage.problems:
        record.warnings.append(f"Resource Explorer: {problem}")
    record.warnings.extend(planner.warnings)
    if planner.probed:
        record.explorer = explorer_record(planner.coverage)
    if found:
        record.accounts = _account_records(found[0])
    record.scopes = [_scope_record(r) for r in results]
    record.rows = [b for r in results if r.status == "complete" for b in r.batches]
    record.finished_at = datetime.now(timezone.utc)
    _add_stats(record, run_stats, results)
    return record


def _unconfirmed_empty(counts: Mapping[ScopeKey, int],
                       previous: Mapping[tuple[str, str, str], int]) -> dict[ScopeKey, str]:
    """Explorer scopes whose emptiness Resource Explorer alone cannot vouch for, with the reason.

    An index can report ACTIVE while its resources have not reached any view yet (indexing can
    take up to 36 hours). Two cases are re-listed through the service APIs: a scope that had
    resources at its last completion and now has none, and an account x region where every
    scope is empty and no earlier sync ever completed one of them.
    """
    out: dict[ScopeKey, str] = {}
    by_area: dict[tuple[str, str], list[ScopeKey]] = {}
    for key in counts:
        by_area.setdefault((key.account_id, key.region), []).append(key)
    for keys in by_area.values():
        empty = all(counts[k] == 0 for k in keys)
        known = [k for k in keys if (k.account_id, k.region, k.resource_type) in previous]
        for key in keys:
            before = previous.get((key.account_id, key.region, key.resource_type))
            if counts[key] == 0 and before:
                out[key] = (f"Resource Explorer returned nothing though the last sync found {before}; "
                            "indexing can lag up to 36 hours: listed through the service API")
            elif empty and not known:
                out[key] = ("Resource Explorer found nothing in this account x region and no earlier sync "
                            "confirms it (indexing can lag up to 36 hours): listed through the service API")
    return out


def _add_stats(record: RunRecord, run_stats: CallStats, results: list[ScopeResult]) -> None:
    total = CallStats()
    total.add(run_stats)
    for r in results:
        total.add(r.stats)
    record.api_calls, record.throttles, record.retries = total.api_calls, total.throttles, total.retries
