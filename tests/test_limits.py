"""Rate limits: the quota table, one bucket per metering scope, pacing, and the token bucket."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from types import SimpleNamespace

import pytest

from sync.aws import limits
from sync.aws.limits import CEILING_CUT, DEFAULT_LIMIT, PACING, THROTTLE_CUT, Limiters, TokenBucket, limit_for


def test_limit_for_prefers_the_action_specific_row() -> None:
    search = limit_for("resource-explorer-2", "Search")
    assert (search.action, search.rate) == ("Search", 5.0)
    other = limit_for("resource-explorer-2", "ListResources")
    assert (other.action, other.rate) == (None, 3.0)
    tags = limit_for("dynamodb", "ListTagsOfResource")
    assert (tags.service, tags.action, tags.rate) == ("dynamodb", "ListTagsOfResource", 10.0)
    describe = limit_for("dynamodb", "DescribeTable")
    assert (describe.service, describe.action, describe.rate) == ("dynamodb", None, 100.0)
    ec2 = limit_for("ec2", "DescribeInstances")
    assert (ec2.service, ec2.action, ec2.rate, ec2.burst) == ("ec2", None, 20.0, 100)
    assert limit_for("no-such-service", "Anything") is DEFAULT_LIMIT
    assert all(limit.source for limit in limits.RATE_LIMITS)  # every row cites its quota


def test_iam_and_organizations_share_one_global_bucket_per_account() -> None:
    lim = Limiters()
    iam = lim.bucket("111111111111", "us-east-1", "iam", "ListRoles")
    assert lim.bucket("111111111111", "eu-west-1", "iam", "ListRoleTags") is iam
    assert lim.bucket("222222222222", "us-east-1", "iam", "ListRoles") is not iam
    org = lim.bucket("111111111111", "us-east-1", "organizations", "ListAccountsForParent")
    assert lim.bucket("111111111111", "ap-south-1", "organizations", "ListRoots") is org
    assert org is not iam
    assert lim._buckets.keys() >= {("111111111111", "global", "iam", "*"),
                                   ("111111111111", "global", "organizations", "*")}


def test_regional_services_get_a_bucket_per_region_and_action_rows_their_own() -> None:
    lim = Limiters()
    ec2_us = lim.bucket("111111111111", "us-east-1", "ec2", "DescribeInstances")
    assert lim.bucket("111111111111", "us-east-1", "ec2", "DescribeRegions") is ec2_us  # service-wide row
    assert lim.bucket("111111111111", "eu-west-1", "ec2", "DescribeInstances") is not ec2_us
    tags = lim.bucket("111111111111", "eu-west-1", "dynamodb", "ListTagsOfResource")
    describe = lim.bucket("111111111111", "eu-west-1", "dynamodb", "DescribeTable")
    assert tags is not describe and (tags.rate, tags.burst) == (10.0 * PACING, 10)
    assert (describe.rate, describe.burst) == (100.0 * PACING, 100)
    unlisted = lim.bucket("111111111111", "eu-west-1", "kinesis", "ListStreams")
    assert (unlisted.rate, unlisted.burst) == (DEFAULT_LIMIT.rate * PACING, DEFAULT_LIMIT.burst)


def test_limiters_scale_the_rate() -> None:
    assert Limiters(scale=0.5).bucket("1", "us-east-1", "ec2", "DescribeInstances").rate == 10.0 * PACING


def test_limiters_pace_a_little_below_the_quota() -> None:
    # Paced at exactly the quota, the server's token bucket never holds a spare token to absorb
    # two requests that arrive bunched together.
    bucket = Limiters().bucket("1", "us-east-1", "iam", "ListPolicyTags")
    assert 0.95 * 20.0 <= bucket.rate < 20.0
    for _ in range(5000):
        bucket.succeeded()
    assert bucket.rate < 20.0  # successes never win back more than the paced rate


class FakeClock:
    """Virtual time: a sleeping task wakes when every task has settled and its wake-up is the
    earliest due; the clock then jumps to it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._due: list[tuple[float, int]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        entry = (self.now + delay, next(self._seq))
        heapq.heappush(self._due, entry)
        while True:
            for _ in range(10):  # let every runnable task reach its next wait
                await _REAL_SLEEP(0)
            if self._due[0] == entry:
                heapq.heappop(self._due)
                self.now = max(self.now, entry[0])
                return


_REAL_SLEEP = asyncio.sleep


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A virtual clock for sync.aws.limits only (the event loop keeps the real one)."""
    fake = FakeClock()
    monkeypatch.setattr(limits, "time", SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(limits, "asyncio", SimpleNamespace(sleep=fake.sleep, Lock=asyncio.Lock,
                                                          Semaphore=asyncio.Semaphore))
    return fake


async def test_token_bucket_spends_the_burst_then_admits_at_its_rate(clock: FakeClock) -> None:
    # Rates are powers of two so that virtual time adds up exactly in floating point.
    bucket = TokenBucket(rate=4.0, burst=2, in_flight=100)
    entered: list[tuple[int, float]] = []

    async def request(n: int) -> None:
        async with bucket:
            entered.append((n, clock.now))

    await asyncio.gather(*(request(n) for n in range(6)))
    assert [n for n, _ in entered] == list(range(6))  # first come, first served
    assert [t for _, t in entered] == [0.0, 0.0, 0.25, 0.5, 0.75, 1.0]  # never more than `rate` a second
    # Each caller reserved its own token on arrival and slept until it was due, rather than
    # waiting for the caller before it to wake first: on a busy event loop, each such hand-over
    # costs a whole pass of the loop, which capped a bucket at one token per pass.
    assert clock.sleeps == [0.25, 0.5, 0.75, 1.0]


async def test_token_bucket_refills_with_time_up_to_its_burst(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=4.0, burst=3, in_flight=10)
    for _ in range(3):
        async with bucket:
            pass
    assert clock.sleeps == []
    clock.now += 16.0  # idle long enough to refill many times over, but the bucket holds only `burst`
    for _ in range(4):
        async with bucket:
            pass
    assert clock.sleeps == [0.25]


async def test_throttled_cuts_the_rate_and_succeeded_wins_it_back(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=8.0, burst=5, in_flight=10)
    bucket.throttled(sent_at=clock.now)
    assert bucket.rate == pytest.approx(8.0 * THROTTLE_CUT) and THROTTLE_CUT == 0.7  # the AWS SDKs' cut
    assert bucket.ceiling == pytest.approx(8.0 * CEILING_CUT) and CEILING_CUT < 1  # a throttle at 8/s: the quota may be lower
    async with bucket:  # a throttle empties the bucket: wait for one token at the cut rate
        pass
    assert clock.sleeps == [pytest.approx(1 / (8.0 * THROTTLE_CUT))]
    for _ in range(25):
        bucket.succeeded()
    # quickly back up to just under the rate that was throttled, not to it
    assert 8.0 * CEILING_CUT <= bucket.rate == bucket.ceiling < 8.0 * CEILING_CUT + 0.2
    ceiling = bucket.ceiling
    for _ in range(10):  # each request left after the cut before it: the quota keeps pressing
        async with bucket as sent_at:
            pass
        bucket.throttled(sent_at)
    assert bucket.rate == pytest.approx(0.4)  # floor: nominal / 20
    # only the first of a storm's throttles came at the ceiling: one cut, not ten
    assert bucket.ceiling == pytest.approx(ceiling * CEILING_CUT)
    for _ in range(2000):
        bucket.succeeded()
    assert bucket.rate == 8.0  # slowly back to, never beyond, the nominal rate


async def test_throttles_of_requests_sent_before_a_cut_do_not_cut_again(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=8.0, burst=8, in_flight=10)
    sent = []
    for _ in range(5):  # a burst, e.g. released together after the event loop stalled
        async with bucket as sent_at:
            sent.append(sent_at)
    clock.now += 0.5  # the answers come back throttled, one after another
    for sent_at in sent:
        bucket.throttled(sent_at)
    assert bucket.rate == pytest.approx(8.0 * THROTTLE_CUT)  # one event, one cut (not 0.7^5)
    clock.now += 0.5
    async with bucket as later:
        pass
    bucket.throttled(later)  # left after the cut and throttled all the same: cut again
    assert bucket.rate == pytest.approx(8.0 * THROTTLE_CUT ** 2)


async def test_token_bucket_caps_requests_in_flight() -> None:
    bucket = TokenBucket(rate=1e9, burst=1000, in_flight=2)
    active = 0
    peak = 0

    async def request() -> None:
        nonlocal active, peak
        async with bucket:
            active += 1
            peak = max(peak, active)
            for _ in range(3):
                await asyncio.sleep(0)
            active -= 1

    await asyncio.gather(*(request() for _ in range(6)))
    assert peak == 2 and active == 0
