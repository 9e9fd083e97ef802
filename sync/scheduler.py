"""Run work items concurrently; every item ends in a typed outcome, none aborts the others."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa

from sync.aws.errors import ErrorClass, classify
from sync.aws.stats import CallStats
from sync.plan import WorkItem

MAX_SCOPES_IN_FLIGHT = 64


@dataclass
class ScopeResult:
    item: WorkItem
    status: str  # complete | skipped | failed
    started_at: datetime
    duration_ms: int
    stats: CallStats
    rows: int = 0
    batches: list[pa.RecordBatch] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None


ScopeRunner = Callable[[WorkItem, CallStats], Awaitable[tuple[int, list[pa.RecordBatch]]]]


async def run_item(item: WorkItem, runner: ScopeRunner) -> ScopeResult:
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    stats = CallStats()
    try:
        rows, batches = await runner(item, stats)
    except Exception as exc:  # recorded as the scope's outcome, with AWS's code and message
        error = classify(exc)
        status = "skipped" if error.kind is ErrorClass.SKIP else "failed"
        return ScopeResult(item, status, started, int((time.monotonic() - clock) * 1000), stats,
                           error_code=error.code, error_message=error.message)
    return ScopeResult(item, "complete", started, int((time.monotonic() - clock) * 1000), stats,
                       rows=rows, batches=batches)


async def run_plan(
    items: Sequence[WorkItem],
    runner: ScopeRunner,
    on_done: Callable[[ScopeResult], None],
    max_in_flight: int = MAX_SCOPES_IN_FLIGHT,
) -> list[ScopeResult]:
    """A fixed pool of workers takes items in plan order (interleaved across accounts).

    Workers, not a task per item: a 2,000-account organization has hundreds of thousands of
    scopes, and per-API limits inside ApiCaller do the fine-grained pacing anyway.
    """
    queue = iter(items)
    results: list[ScopeResult] = []

    async def worker() -> None:
        for item in queue:  # a shared iterator: each item goes to exactly one worker
            result = await run_item(item, runner)
            results.append(result)
            on_done(result)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(max_in_flight, len(items))):
            group.create_task(worker())
    return results
