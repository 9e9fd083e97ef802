"""Run work items concurrently; every item ends in a typed outcome, none aborts the others.

Work arrives per account while discovery is still running. Workers take items round-robin
across accounts, so one account with many scopes cannot starve the others (and per-account AWS
quotas are spread instead of hammered one at a time).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa

from sync.aws.errors import ErrorClass, classify
from sync.aws.stats import CallStats
from sync.plan import ExplorerQuery, ScopeKey, WorkItem

Item = WorkItem | ExplorerQuery

MAX_SCOPES_IN_FLIGHT = 64


@dataclass
class ScopeResult:
    key: ScopeKey
    source: str
    reason: str
    status: str  # complete | skipped | failed
    started_at: datetime
    duration_ms: int
    stats: CallStats
    rows: int = 0
    batches: list[pa.RecordBatch] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None


@dataclass
class ScopeOutput:
    rows: int
    batches: list[pa.RecordBatch]
    source: str
    reason: str


# An item lists one or more scopes; the runner returns each scope's rows (and the source that
# finally listed it, which differs from the item's when a scope fell back to another path).
ScopeRunner = Callable[[Item, CallStats], Awaitable[dict[ScopeKey, ScopeOutput]]]


class RoundRobinQueue:
    """Items grouped in lanes (an account, or a Resource Explorer view); `get` rotates over lanes.

    A lane with a width (`Item.lane_width`) holds at most that many items in flight: it is parked
    until `done` reports one finished. Closed when no more will come.
    """

    def __init__(self) -> None:
        self._by_lane: dict[str, deque[Item]] = {}
        self._rotation: deque[str] = deque()
        self._arrivals: deque[str] = deque()  # lanes never served yet, in the order they came
        self._parked: set[str] = set()  # lanes with items waiting, at their width
        self._in_flight: dict[str, int] = {}
        self._width: dict[str, int | None] = {}
        self._closed = False
        self._changed = asyncio.Condition()

    def _full(self, lane: str) -> bool:
        width = self._width.get(lane)
        return width is not None and self._in_flight.get(lane, 0) >= width

    def _schedule(self, lane: str) -> None:
        """A lane with waiting items goes to the rotation, or to the parked set while full."""
        if self._full(lane):
            self._parked.add(lane)
        else:
            self._rotation.append(lane)

    async def put(self, items: Iterable[Item]) -> None:
        """Queue items; a lane never seen before waits among the arrivals, served before the rotation.

        A lane's first item is its costliest (the planner orders each account's items with
        `slowest_first`), and accounts keep arriving while earlier ones are listed. Appended to the
        rotation, a new account's costliest scope waited behind one item of every earlier lane: on
        org-2000 the critical account, found at ~55 s, started its IAM policy scope at 85 s. The
        arrivals go first come, first served: pushed to the front of the rotation instead, each
        new lane went ahead of those that came before it (a stack while every worker is busy), and
        on org-500 the critical account, found first, started at 30 s instead of 10 s.
        """
        async with self._changed:
            for item in items:
                lane = item.queue_key
                queue = self._by_lane.get(lane)
                self._width[lane] = item.lane_width
                if queue is None:
                    queue = self._by_lane[lane] = deque()
                    self._arrivals.append(lane)
                elif not queue:
                    self._schedule(lane)
                queue.append(item)
            self._changed.notify_all()

    async def close(self) -> None:
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    async def get(self) -> Item | None:
        """The next item, or None once the queue is closed and empty."""
        async with self._changed:
            while not self._rotation and not self._arrivals:
                if self._closed and not self._parked:
                    return None
                await self._changed.wait()
            lane = self._arrivals.popleft() if self._arrivals else self._rotation.popleft()
            queue = self._by_lane[lane]
            item = queue.popleft()
            self._in_flight[lane] = self._in_flight.get(lane, 0) + 1
            if queue:
                self._schedule(lane)
            return item

    async def done(self, item: Item) -> None:
        """`item` finished: its lane may take another."""
        async with self._changed:
            lane = item.queue_key
            self._in_flight[lane] -= 1
            if lane in self._parked and not self._full(lane):
                self._parked.discard(lane)
                self._rotation.append(lane)
                self._changed.notify_all()


async def run_item(item: Item, runner: ScopeRunner) -> list[ScopeResult]:
    """One result per scope of the item. Call counts go to the item's first scope."""
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    stats = CallStats()
    try:
        outputs = await runner(item, stats)
    except Exception as exc:  # recorded as the scopes' outcome, with AWS's code and message
        error = classify(exc)
        status = "skipped" if error.kind is ErrorClass.SKIP else "failed"
        elapsed = int((time.monotonic() - clock) * 1000)
        return [ScopeResult(key, item.source, item.reason_for(key), status, started, elapsed,
                            stats if i == 0 else CallStats(), error_code=error.code, error_message=error.message)
                for i, key in enumerate(item.keys)]
    elapsed = int((time.monotonic() - clock) * 1000)
    return [ScopeResult(key, out.source, out.reason, "complete", started, elapsed,
                        stats if i == 0 else CallStats(), rows=out.rows, batches=out.batches)
            for i, (key, out) in enumerate(outputs.items())]


async def run_queue(
    queue: RoundRobinQueue,
    runner: ScopeRunner,
    on_done: Callable[[ScopeResult], None],
    max_in_flight: int = MAX_SCOPES_IN_FLIGHT,
) -> list[ScopeResult]:
    """A fixed pool of workers drains the queue until it is closed and empty.

    Workers, not a task per item: a 2,000-account organization has hundreds of thousands of
    scopes, and the per-API limits inside ApiCaller do the fine-grained pacing anyway.
    """
    results: list[ScopeResult] = []

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            try:
                for result in await run_item(item, runner):
                    results.append(result)
                    on_done(result)
            finally:
                await queue.done(item)

    async with asyncio.TaskGroup() as group:
        for _ in range(max_in_flight):
            group.create_task(worker())
    return results
