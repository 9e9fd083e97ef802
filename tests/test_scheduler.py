"""The work queue: lanes rotate, a Resource Explorer view's lane holds only a few workers, and an
account's costliest scope goes first."""

from __future__ import annotations

import asyncio

from sync.aws.stats import CallStats
from sync.plan import ExplorerQuery, ScopeKey, WorkItem, slowest_first
from sync.scheduler import Item, RoundRobinQueue, ScopeOutput, run_queue
from sync.sources.registry import service_specs

A, B = "111111111111", "222222222222"


def query(n: int) -> ExplorerQuery:
    return ExplorerQuery((ScopeKey(f"{n:012d}", "eu-west-1", "ec2:instance"),), "explorer-aggregator", A,
                         "us-east-1", "arn:view", f"accountid:{n:012d}", "aggregator")


def service_item(account: str, region: str) -> WorkItem:
    return WorkItem(ScopeKey(account, region, "ec2:instance"), "services", region, "x")


async def test_a_view_lane_at_its_width_waits_while_account_lanes_go_on() -> None:
    queue = RoundRobinQueue()
    width = query(0).lane_width
    assert width is not None and width >= 3  # the view's quota admits 3 calls in flight
    queries = [query(n) for n in range(width + 2)]
    accounts = [service_item(B, f"r{n}") for n in range(width + 2)]
    await queue.put(queries + accounts)
    taken = [await queue.get() for _ in range(2 * width + 2)]
    assert sum(isinstance(i, ExplorerQuery) for i in taken) == width
    assert sum(isinstance(i, WorkItem) for i in taken) == width + 2  # every account item, none held back
    await queue.close()
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0.01)
    assert not waiting.done()  # closed, but two queries wait for a place in their lane: not None
    await queue.done(taken[0])
    assert await asyncio.wait_for(waiting, 1) == queries[width]
    for item in taken[1:]:
        await queue.done(item)
    assert await queue.get() == queries[width + 1]
    assert await queue.get() is None


async def test_put_into_a_full_lane_parks_it_until_done() -> None:
    queue = RoundRobinQueue()
    width = query(0).lane_width
    assert width is not None
    await queue.put([query(n) for n in range(width)])
    taken = [await queue.get() for _ in range(width)]
    late = query(99)
    await queue.put([late, service_item(B, "r1")])
    assert await queue.get() == service_item(B, "r1")  # the view's lane is full
    await queue.done(taken[-1])
    assert await queue.get() == late


async def test_run_queue_never_runs_more_of_a_lane_than_its_width() -> None:
    queue = RoundRobinQueue()
    width = query(0).lane_width
    assert width is not None
    in_flight = {"explorer": 0, "services": 0}
    peak = {"explorer": 0, "services": 0}

    async def runner(item: Item, stats: CallStats) -> dict[ScopeKey, ScopeOutput]:
        kind = "explorer" if isinstance(item, ExplorerQuery) else "services"
        in_flight[kind] += 1
        peak[kind] = max(peak[kind], in_flight[kind])
        await asyncio.sleep(0.005)
        in_flight[kind] -= 1
        return {k: ScopeOutput(0, [], item.source, "x") for k in item.keys}

    await queue.put([query(n) for n in range(40)] + [service_item(f"{n:012d}", "r") for n in range(40)])
    await queue.close()
    results = await run_queue(queue, runner, lambda result: None, max_in_flight=32)
    assert len(results) == 80 and all(r.status == "complete" for r in results)
    assert peak["explorer"] == width  # the lane was kept full, never beyond
    assert peak["services"] > width  # other lanes took the remaining workers


async def test_an_account_starts_with_its_scope_that_costs_most_quota_per_resource() -> None:
    seconds = {t: spec.quota_seconds_per_resource for t, spec in service_specs().items()}
    assert seconds["iam:policy"] > seconds["s3:bucket"] > seconds["iam:group"] == 0  # derived from the specs
    planned = [WorkItem(ScopeKey(A, "global", t), "services", "us-east-1", "x")
               for t in ("iam:group", "iam:policy", "iam:role", "iam:user", "s3:bucket")]
    planned.append(query(1))
    queue = RoundRobinQueue()
    await queue.put(slowest_first(planned, seconds))
    await queue.close()
    taken = []
    while (item := await queue.get()) is not None:
        taken.append(item)
    # IAM policies (a tag call each, 20/s for the whole account) first: the longest-processing-
    # time-first rule, since the account's lane hands out one item per turn of every account.
    assert [i.key.resource_type for i in taken if isinstance(i, WorkItem)] == \
        ["iam:policy", "s3:bucket", "iam:group", "iam:role", "iam:user"]
    assert [i for i in taken if isinstance(i, ExplorerQuery)] == [query(1)]  # bulk: in its own lane, kept


async def test_an_account_that_arrives_starts_before_the_lanes_already_waiting() -> None:
    queue = RoundRobinQueue()
    await queue.put([service_item(a, f"r{n}") for a in (A, B) for n in range(3)])
    assert [(await queue.get()).key.account_id for _ in range(3)] == [A, B, A]
    late = "333333333333"
    arrived = [WorkItem(ScopeKey(late, "global", t), "services", "us-east-1", "x") for t in ("iam:policy", "iam:user")]
    await queue.put(arrived)
    # Its first (costliest) item goes next, then the rotation goes on as before, the new lane last.
    assert await queue.get() == arrived[0]
    assert [(await queue.get()).key.account_id for _ in range(3)] == [B, A, late]
    # More items for a lane already served join the back of the rotation, not the arrivals.
    await queue.put([service_item(late, "r9")])
    assert [(await queue.get()).key.account_id for _ in range(2)] == [B, late]


async def test_accounts_that_arrive_start_in_the_order_they_arrived() -> None:
    queue = RoundRobinQueue()
    await queue.put([service_item(A, f"r{n}") for n in range(3)])
    first, second = "333333333333", "444444444444"
    await queue.put([service_item(first, "r1"), service_item(first, "r2")])
    await queue.put([service_item(second, "r1")])
    # The account that arrived first starts first (a later arrival does not push it back),
    # and both start before the earlier account's second item.
    assert [(await queue.get()).key.account_id for _ in range(5)] == [A, first, second, A, first]


async def test_a_view_lane_that_arrives_at_its_width_waits_like_any_other() -> None:
    queue = RoundRobinQueue()
    width = query(0).lane_width
    assert width is not None
    await queue.put([query(n) for n in range(width + 1)])
    taken = [await queue.get() for _ in range(width)]
    await queue.put([service_item(B, "r1")])
    # The view's lane came as an arrival, yet once full it is parked: the new account goes.
    assert await queue.get() == service_item(B, "r1")
    await queue.close()
    await queue.done(taken[0])
    assert await queue.get() == query(width)
