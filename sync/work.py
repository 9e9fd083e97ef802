"""From accounts handed over by discovery to queued work items: probe, plan, enqueue.

Accounts arrive one by one while the Organizations walk goes on; they are planned in batches of
up to ten, several batches at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import datetime, timezone
from collections.abc import Callable, Collection, Mapping
from typing import Any

from catalog.state import ScopeMemory
from sync.aws.clients import ClientPool
from sync.aws.errors import error_code
from sync.aws.stats import CallStats
from sync.config import Integration, OrganizationIntegration
from sync.explorer.coverage import Coverage
from sync.explorer.planner import AccountPlanInput, AggregatorBacklog, book_aggregator, plan_account_batch
from sync.plan import ExplorerQuery, ScopeKey, WorkItem, slowest_first
from sync.explorer.probe import probe_account_regions, probe_home, stats_call
from sync.explorer.signals import candidates, count_units, plan_units
from sync.progress import Progress
from sync.refresh import RefreshDecision, select_due
from sync.scheduler import RoundRobinQueue
from sync.sources.registry import service_specs

BATCH = 10
# Batches probed and planned at once. Probing a batch takes a few sequential round trips per
# account x region; at 8 (80 accounts) and ~9 s a batch on org-2000, the probe kept up with ~9
# accounts/s while the level-by-level walk finds ~18/s.
PLANS_IN_FLIGHT = 32


class WorkPlanner:
    def __init__(
        self,
        *,
        integration: Integration,
        source: str,
        types: Collection[str],
        global_types: Collection[str],
        pool: ClientPool,
        stats: CallStats,
        queue: RoundRobinQueue,
        progress: Progress,
        previous_counts: Mapping[tuple[str, str], int],
        home_account: Callable[[], str | None],
        previous_scopes: Mapping[tuple[str, str, str], ScopeMemory] | None = None,
        on_planned: Callable[[list[WorkItem | ExplorerQuery]], None] = lambda items: None,
        hold: Callable[[Collection[str]], None] = lambda accounts: None,
        unhold: Callable[[Collection[str]], list[str]] = lambda accounts: [],
    ) -> None:
        self.integration = integration
        self.source = source
        self.types = types
        self.global_types = global_types
        self.pool = pool
        self.queue = queue
        self.progress = progress
        self.previous_counts = previous_counts
        self.home_account = home_account
        self.on_planned = on_planned
        self.hold, self.unhold = hold, unhold
        self.coverage = Coverage()
        self.backlog = AggregatorBacklog()  # the aggregator view's queue, across batches
        # Incremental syncs only: each scope's last completion, and why scopes were (not) refreshed.
        self.previous_scopes = previous_scopes
        self.refresh_tally: dict[str, int] = {}
        self._count_failures: dict[str, int] = {}  # change signals that failed, per error code
        self._started = datetime.now(timezone.utc)
        self._ready: asyncio.Queue[tuple[str, tuple[str, ...]] | None] = asyncio.Queue()
        self._probed = False
        self._home_probe = asyncio.Lock()  # the aggregator's probe runs once, before any member probe
        self._explorer = source != "services"

        async def caller_for(account: str, region: str) -> Any:
            return await pool.caller(account, region, "resource-explorer-2")

        self._call = stats_call(caller_for, stats)

    @property
    def probed(self) -> bool:
        """Whether Resource Explorer was asked anything (never under --source services)."""
        return self._probed

    def account_ready(self, account_id: str, regions: tuple[str, ...]) -> None:
        self._ready.put_nowait((account_id, regions))

    def discovery_done(self) -> None:
        self._ready.put_nowait(None)

    async def run(self) -> None:
        """Plans batches until discovery is done, then closes the work queue.

        Up to PLANS_IN_FLIGHT batches are probed and planned at once. Probing one batch takes a
        few sequential round trips per account x region (GetIndex, GetDefaultView, GetView,
        Search) on the members' own quotas: planned one after another, batches fell behind the
        walk, and on org-2000 an account found at 55 s had its first scope at 192 s (3.4 s per
        batch). A batch's global scopes are queued as soon as it is formed, without waiting for
        a probe slot: when the flat account listing hands over 20 accounts a call, batches wait
        for slots, and one of them holds the account whose IAM scope is the sync's longest.
        """
        slots = asyncio.Semaphore(PLANS_IN_FLIGHT)

        async def plan(batch: list[tuple[str, tuple[str, ...]]]) -> None:
            async with slots:
                await self._plan_late(batch)

        try:
            async with asyncio.TaskGroup() as group:
                done = False
                while not done:
                    first = await self._ready.get()
                    if first is None:
                        break
                    batch = [first]
                    while len(batch) < BATCH and not self._ready.empty():
                        nxt = self._ready.get_nowait()
                        if nxt is None:
                            done = True
                            break
                        batch.append(nxt)
                    await self._plan_early(batch)
                    group.create_task(plan(batch))
        finally:
            await self.queue.close()

    def _explorer_problem(self, step: str, exc: Exception) -> None:
        # Resource Explorer is an accelerator: when probing fails, the service APIs still list
        # everything, and the reason is kept in the run's warnings.
        self.coverage.problems.append(f"{step}: {error_code(exc)}: {exc}")
        self._explorer = False

    async def _probe(self, batch: list[tuple[str, tuple[str, ...]]]) -> None:
        organization = isinstance(self.integration, OrganizationIntegration)
        home = self.home_account()
        async with self._home_probe:
            if not self._probed:
                self._probed = True
                if home is None:
                    self._explorer = False
                    return
                try:
                    await probe_home(self._call, home, self.integration.region, self.coverage,
                                     organization=organization)
                except Exception as exc:
                    self._explorer_problem("probing Resource Explorer", exc)
                    return
                if self.coverage.aggregator_region is None and not self.coverage.indexes:
                    self._explorer = False
        if not self._explorer or home is None:
            return
        try:
            async with asyncio.TaskGroup() as group:
                for account_id, regions in batch:
                    group.create_task(probe_account_regions(
                        self._call, account_id, regions, self.coverage, member_views=True,
                        regional_types=[t for t in self.types if t not in self.global_types],
                        every_region=organization and self.coverage.aggregator_region is not None))
        except* Exception as group_error:
            self._explorer_problem("probing member indexes", group_error.exceptions[0])  # type: ignore[arg-type]

    def _drained_backlog(self) -> AggregatorBacklog:
        self.backlog.drain_to(time.monotonic())
        return self.backlog

    def _services_reason(self) -> str:
        if self.source == "services":
            return "forced by --source services"
        problem = self.coverage.problems[0] if self.coverage.problems else "no Resource Explorer index found"
        return f"Resource Explorer unusable: {problem}"

    async def _plan_early(self, batch: list[tuple[str, tuple[str, ...]]]) -> None:
        """Queue the scopes whose source no probe can change, and hold the accounts open.

        Global types (IAM, S3) always go to their service API, and on a large organization one
        account's IAM calls are the sync's critical path: they start as soon as the account is
        found instead of after the batch's Resource Explorer probe. The accounts stay held until
        `_plan_late`, so finishing their first items does not close clients the probe still uses.
        """
        self.hold([a for a, _ in batch])
        early = [t for t in self.types if t in self.global_types]
        if early:
            await self._plan_types(batch, early, count_accounts=True)

    async def _plan_late(self, batch: list[tuple[str, tuple[str, ...]]]) -> None:
        """Probe the batch's Resource Explorer coverage, queue its regional scopes, release the hold."""
        late = [t for t in self.types if t not in self.global_types]
        try:
            if late:
                if self._explorer:
                    await self._probe(batch)
                early = any(t in self.global_types for t in self.types)
                await self._plan_types(batch, late, count_accounts=not early)
        finally:
            for account_id in self.unhold([a for a, _ in batch]):
                await self.pool.release_account(account_id)

    async def _plan_types(self, batch: list[tuple[str, tuple[str, ...]]], types: Collection[str], *,
                          count_accounts: bool) -> None:
        backlog = self._drained_backlog()
        incremental = self.previous_scopes is not None
        items = plan_account_batch(
            [AccountPlanInput(a, regions) for a, regions in batch],
            resource_types=types,
            global_types=self.global_types,
            home_region=self.integration.region,
            coverage=self.coverage,
            source=self.source if self._explorer else "services",
            previous_counts=self.previous_counts,
            services_reason=self._services_reason(),
            # An incremental sync books only what it will list (below), not what it then skips.
            backlog=dataclasses.replace(backlog) if incremental else backlog,
            choose_tag_source=self.source == "auto",
        )
        if self.previous_scopes is not None:
            signals = await self._change_signals(items, self.previous_scopes)
            items, tally = select_due(items, previous=self.previous_scopes,
                                      intervals=self.integration.refresh_intervals, now=self._started,
                                      signals=signals)
            for label, count in tally.items():
                self.refresh_tally[label] = self.refresh_tally.get(label, 0) + count
            book_aggregator(backlog, items, self.coverage, self.previous_counts)
        items = slowest_first(items, {t: spec.quota_seconds_per_resource for t, spec in service_specs().items()})
        self.progress.planned(len(batch) if count_accounts else 0, sum(len(i.keys) for i in items))
        self.on_planned(items)
        await self.queue.put(items)

    async def _change_signals(self, items: list[WorkItem | ExplorerQuery],
                              previous: Mapping[tuple[str, str, str], ScopeMemory]) -> dict[ScopeKey, RefreshDecision]:
        """Search counts for the Resource Explorer scopes the refresh policy finds fresh."""
        found = candidates(items, previous=previous, intervals=self.integration.refresh_intervals, now=self._started)
        if not found:
            return {}
        units, decided = plan_units(found)
        counted, failures = await count_units(self._call, units)
        for code, n in failures.items():
            self._count_failures[code] = self._count_failures.get(code, 0) + n
        return {**decided, **counted}

    @property
    def warnings(self) -> list[str]:
        """For the run's warnings, once planning is done."""
        return [f"Resource Explorer: {n} Search count(s) failed ({code}); their scopes were listed instead"
                for code, n in sorted(self._count_failures.items())]
