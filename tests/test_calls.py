"""One API call: what it leaves behind for the garbage collector."""

from __future__ import annotations

import gc
from typing import Any

from sync.aws.calls import ApiCaller
from sync.aws.limits import Limiters
from sync.aws.stats import CallStats


class AnsweringClient:
    async def describe_instances(self, **params: Any) -> dict[str, Any]:
        return {"Reservations": []}


async def test_a_successful_call_leaves_no_reference_cycle_behind() -> None:
    # A sync makes hundreds of thousands of calls; a cycle per call is freed only by a full
    # collection, which a sync runs rarely (sync/heap.py), so it piles up as memory.
    caller = ApiCaller(AnsweringClient(), account_id="111111111111", region="us-east-1", service="ec2",
                       limiters=Limiters(scale=1000))
    stats = CallStats()
    await caller.call("DescribeInstances", {}, stats)  # first-use setup (the bucket) out of the count
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(50):
            assert await caller.call("DescribeInstances", {}, stats) == {"Reservations": []}
        unreachable = gc.collect()
    finally:
        if enabled:
            gc.enable()
    assert stats.api_calls == 51
    assert unreachable == 0
