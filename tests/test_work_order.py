"""The work planner queues what no probe can change first, and holds accounts open meanwhile."""

from __future__ import annotations

import asyncio
from typing import Any

from sync.aws.stats import CallStats
from sync.config.load import parse_config
from sync.plan import ExplorerQuery, WorkItem
from sync.progress import Progress
from sync.scheduler import RoundRobinQueue
from sync.sources.registry import supported_types
from sync.usage import AccountUsage
from sync.work import PLANS_IN_FLIGHT, WorkPlanner

CONFIG = """
[[integration]]
name = "one"
type = "aws-account"
region = "us-east-1"
regions = ["us-east-1", "eu-west-1"]
resource_types = ["iam:role", "s3:bucket", "ec2:instance"]
"""


class FakePool:
    def __init__(self) -> None:
        self.released: list[str] = []

    async def caller(self, account: str, region: str, service: str) -> Any:
        raise AssertionError("the probe is replaced in this test")

    async def release_account(self, account_id: str) -> None:
        self.released.append(account_id)


async def test_global_scopes_are_queued_before_the_probe_and_the_account_stays_held() -> None:
    [integration] = parse_config(CONFIG, source="t.toml", supported_types=supported_types()).integrations
    queue, usage, pool = RoundRobinQueue(), AccountUsage(), FakePool()
    planned: list[list[WorkItem | ExplorerQuery]] = []

    def on_planned(items: list[WorkItem | ExplorerQuery]) -> None:
        planned.append(items)
        usage.add(items)

    planner = WorkPlanner(integration=integration, source="auto", types=integration.resource_types,
                          global_types={"iam:role", "s3:bucket"}, pool=pool, stats=CallStats(),  # type: ignore[arg-type]
                          queue=queue, progress=Progress(), previous_counts={}, home_account=lambda: "111111111111",
                          on_planned=on_planned, hold=usage.hold, unhold=usage.unhold)
    seen_at_probe: list[set[str]] = []

    async def probe(batch: list[tuple[str, tuple[str, ...]]]) -> None:
        seen_at_probe.append({k.resource_type for items in planned for i in items for k in i.keys})
        # The global items finish while the probe runs: the account must not be released.
        for items in planned:
            for item in items:
                assert usage.done(item) == []

    planner._probe = probe  # type: ignore[method-assign]
    planner.account_ready("111111111111", ("us-east-1", "eu-west-1"))
    planner.discovery_done()
    await planner.run()
    assert seen_at_probe == [{"iam:role", "s3:bucket"}]
    assert {k.resource_type for items in planned for i in items for k in i.keys} == {
        "iam:role", "s3:bucket", "ec2:instance"}
    assert pool.released == []  # the regional items are still open
    for item in planned[-1]:
        done = usage.done(item)
    assert done == ["111111111111"]


def test_account_usage_hold_keeps_an_account_open() -> None:
    usage = AccountUsage()
    usage.hold(["a"])
    assert usage.unhold(["a"]) == ["a"]
    usage.hold(["b"])
    usage.hold(["b"])
    assert usage.unhold(["b"]) == [] and usage.unhold(["b"]) == ["b"]


def _accounts(n: int) -> list[str]:
    return [f"{100000000000 + i}" for i in range(n)]


def _planner(queue: RoundRobinQueue, source: str = "auto") -> WorkPlanner:
    [integration] = parse_config(CONFIG, source="t.toml", supported_types=supported_types()).integrations
    usage = AccountUsage()
    return WorkPlanner(integration=integration, source=source, types=integration.resource_types,
                       global_types={"iam:role", "s3:bucket"}, pool=FakePool(), stats=CallStats(),  # type: ignore[arg-type]
                       queue=queue, progress=Progress(), previous_counts={}, home_account=lambda: "111111111111",
                       on_planned=usage.add, hold=usage.hold, unhold=usage.unhold)


async def test_a_later_batch_is_probed_while_an_earlier_probe_is_still_waiting() -> None:
    # Probing a batch is a few sequential round trips per account: batches planned one after
    # another fell minutes behind the Organizations walk on a 2,000-account organization.
    planner = _planner(RoundRobinQueue())
    started: list[list[str]] = []
    second_started = asyncio.Event()

    async def probe(batch: list[tuple[str, tuple[str, ...]]]) -> None:
        started.append([a for a, _ in batch])
        if len(started) == 1:
            await asyncio.wait_for(second_started.wait(), timeout=10)  # fails unless batch 2 overlaps
        else:
            second_started.set()

    planner._probe = probe  # type: ignore[method-assign]
    for account in _accounts(15):
        planner.account_ready(account, ("us-east-1",))
    planner.discovery_done()
    await planner.run()
    assert started == [_accounts(15)[:10], _accounts(15)[10:]]


async def test_concurrent_batches_probe_the_aggregator_account_once() -> None:
    planner = _planner(RoundRobinQueue())
    calls: list[tuple[str, str]] = []

    async def call(account: str, region: str, op: str, params: dict[str, Any]) -> dict[str, Any]:
        calls.append((account, op))
        await asyncio.sleep(0.01)  # let the other batches reach the probe meanwhile
        return {"Indexes": []}

    planner._call = call
    for account in _accounts(35):
        planner.account_ready(account, ("us-east-1",))
    planner.discovery_done()
    await planner.run()
    assert calls == [("111111111111", "ListIndexes")]  # no index: Resource Explorer unusable, asked once
    assert planner.coverage.problems and not planner._explorer
    planned = set()
    while (item := await _get_nowait(planner.queue)) is not None:
        planned |= {(k.account_id, k.resource_type) for k in item.keys}
    assert planned == {(a, t) for a in _accounts(35) for t in ("iam:role", "s3:bucket", "ec2:instance")}


async def _get_nowait(queue: RoundRobinQueue) -> WorkItem | ExplorerQuery | None:
    return await asyncio.wait_for(queue.get(), timeout=5)


async def test_global_scopes_do_not_wait_for_a_probe_slot() -> None:
    # The flat account listing hands over 20 accounts a call, faster than batches are probed:
    # a batch waiting for a probe slot must not hold back its IAM scopes.
    planner = _planner(RoundRobinQueue())
    release = asyncio.Event()
    probing: list[list[str]] = []

    async def probe(batch: list[tuple[str, tuple[str, ...]]]) -> None:
        probing.append([a for a, _ in batch])
        await release.wait()

    planner._probe = probe  # type: ignore[method-assign]
    accounts = _accounts(10 * (PLANS_IN_FLIGHT + 3))
    for account in accounts:
        planner.account_ready(account, ("us-east-1",))
    planner.discovery_done()
    running = asyncio.create_task(planner.run())
    queued: set[tuple[str, str]] = set()
    while len(queued) < 2 * len(accounts):  # every account's iam:role and s3:bucket
        item = await _get_nowait(planner.queue)
        assert item is not None
        queued |= {(k.account_id, k.resource_type) for k in item.keys}
    assert len(probing) == PLANS_IN_FLIGHT  # the other batches still wait for a slot
    assert {t for _, t in queued} == {"iam:role", "s3:bucket"}
    release.set()
    await running
    assert sorted(a for batch in probing for a in batch) == accounts
