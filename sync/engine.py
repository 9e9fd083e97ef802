"""One sync of one integration: targets -> plan -> scopes -> a RunRecord for the catalog writer.

Nothing here touches the catalog; the caller commits the returned record in one transaction.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from catalog.records import AccountRecord, RunRecord, ScopeRecord
from sync.aws.calls import MAX_ATTEMPTS, ApiCaller
from sync.aws.clients import ClientPool
from sync.aws.limits import Limiters
from sync.aws.stats import CallStats
from sync.batches import BatchBuilder
from sync.config import Integration
from sync.plan import WorkItem, plan_work
from sync.progress import Progress
from sync.scheduler import RoundRobinQueue, ScopeResult, run_queue
from sync.sources.fetch import fetch_service_scope
from sync.sources.model import ScopeContext
from sync.sources.registry import service_specs
from sync.targets import IntegrationUnreachable, Targets, discover_targets


@dataclass(frozen=True)
class SyncOptions:
    accounts: frozenset[str] | None = None
    regions: frozenset[str] | None = None
    types: frozenset[str] | None = None
    mode: str = "full"
    # The retry budget per API call; tests shrink it to fail fast.
    max_attempts: int = MAX_ATTEMPTS
    max_backoff: float = 20.0
    # Multiplies every rate in sync.aws.limits (e.g. 0.5 to be gentler on a shared account).
    rate_scale: float = 1.0

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
    k = result.item.key
    return ScopeRecord(
        account_id=k.account_id, region=k.region, resource_type=k.resource_type,
        source=result.item.source, reason=result.item.reason, status=result.status,
        error_code=result.error_code, error_message=result.error_message,
        resources=result.rows, pages=result.stats.pages, api_calls=result.stats.api_calls,
        throttles=result.stats.throttles, retries=result.stats.retries,
        started_at=result.started_at, duration_ms=result.duration_ms,
    )


def integration_settings(integration: Integration) -> dict[str, Any]:
    return dataclasses.asdict(integration)


async def sync_integration(integration: Integration, options: SyncOptions, progress: Progress) -> RunRecord:
    """Discover and list concurrently: an account's scopes start as soon as the account is ready."""
    started = datetime.now(timezone.utc)
    specs = service_specs()
    types = selected_types(integration, options.types)
    global_types = {t for t in types if specs[t].is_global}
    owner_key = integration.resource_owner.tag_key if integration.resource_owner else None
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

        def account_ready(account_id: str, regions: tuple[str, ...]) -> None:
            items = plan_work(regions_by_account={account_id: regions}, resource_types=types,
                              global_types=global_types, home_region=integration.region)
            progress.planned(1, len(items))
            pending.append(asyncio.ensure_future(queue.put(account_id, items)))

        pending: list[asyncio.Future[None]] = []

        async def discover() -> None:
            try:
                targets = await discover_targets(integration, pool, run_stats, account_ready,
                                                 only_accounts=options.accounts, only_regions=options.regions,
                                                 targets_out=found)
                for warning in targets.warnings:
                    progress.warn(warning)
                record.warnings.extend(targets.warnings)
            except IntegrationUnreachable as exc:
                record.error = str(exc)
            finally:
                await asyncio.gather(*pending)
                await queue.close()

        async def scope(item: WorkItem, stats: CallStats) -> tuple[int, list[pa.RecordBatch]]:
            spec = specs[item.key.resource_type]
            ctx = ScopeContext(account_id=item.key.account_id, region=item.api_region)
            builder = BatchBuilder(source=item.source, scope_region=item.key.region, owner_tag_key=owner_key)

            async def caller_for(region: str, service: str) -> ApiCaller:
                return await pool.caller(item.key.account_id, region, service)

            async for page in fetch_service_scope(spec, ctx, caller_for, stats):
                builder.extend(page)
            return builder.rows, builder.batches()

        progress.phase("discovering accounts and listing resources")
        async with asyncio.TaskGroup() as group:
            group.create_task(discover())
            listing = group.create_task(run_queue(queue, scope, progress.scope_done))
        results = listing.result()
    progress.phase("committing")
    if found:
        record.accounts = _account_records(found[0])
    record.scopes = [_scope_record(r) for r in results]
    record.rows = [b for r in results if r.status == "complete" for b in r.batches]
    record.finished_at = datetime.now(timezone.utc)
    _add_stats(record, run_stats, results)
    return record


def _add_stats(record: RunRecord, run_stats: CallStats, results: list[ScopeResult]) -> None:
    total = CallStats()
    total.add(run_stats)
    for r in results:
        total.add(r.stats)
    record.api_calls, record.throttles, record.retries = total.api_calls, total.throttles, total.retries
