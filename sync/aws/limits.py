"""Request-rate limits towards AWS, declared in one table.

Each limit is scoped by account, region, service and (optionally) action, like the Steampipe AWS
plugin's limiter table, and cites the AWS quota it mirrors. A scope key that matches no row gets
DEFAULT_LIMIT. Limits apply per (account, region) pair because that is how AWS meters them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RateLimit:
    service: str
    action: str | None  # None: every action of the service
    rate: float  # sustained requests per second
    burst: int  # bucket size
    in_flight: int  # concurrent requests
    source: str  # the AWS page this mirrors


# in_flight: a bucket that sustains `rate` calls/s needs rate x latency calls in flight (Little's
# law). Where one account's per-item calls are a sync's critical path it is sized for the latency
# the client's own busy event loop adds under load: IAM (policy tags) for ~2.4 s, since traced on
# org-2000 its calls took 1.3 s (median, up to 2 s) while every account was being listed, and 16
# in flight held the critical account's bucket at 6-12 calls/s instead of 19.6; Lambda (tags) for
# ~0.8 s. S3 (a bucket's tags, read in its region) for ~0.6 s: a ListBuckets page is sorted by
# name, and names may carry their region (the simulator's do), so one region's bucket can read
# a whole page's tags (org-500: at 10 in flight the critical account's 11,069 tag calls took
# 505 s, at 32 395 s, in runs of the same day, with pages of 1,000 buckets; ListBuckets now asks
# for 10,000, so one page spans the regions and their buckets run side by side).
# Organizations: one at a time, since its burst of 2 absorbs no bunching (org-500,
# tried 3 in flight: the critical account then started at 52 s instead of 10 s). Elsewhere
# 4-10, the sweet spot for CPU per call. A client's connection pool is sized to its service's
# largest in_flight (pool_size).
RATE_LIMITS: tuple[RateLimit, ...] = (
    RateLimit("ec2", None, 20.0, 100, 8,
              "https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html (describe: 100 burst, 20/s)"),
    RateLimit("resource-explorer-2", None, 3.0, 3, 3,
              "https://docs.aws.amazon.com/resource-explorer/latest/userguide/quotas.html (3 TPS non-Search)"),
    RateLimit("resource-explorer-2", "Search", 5.0, 5, 5,
              "https://docs.aws.amazon.com/resource-explorer/latest/userguide/quotas.html (5 TPS Search)"),
    RateLimit("organizations", None, 2.0, 2, 1,
              "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html (low TPS; serialize)"),
    RateLimit("iam", None, 20.0, 40, 48,
              "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (global control plane)"),
    RateLimit("lambda", None, 15.0, 15, 12,
              "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (control plane 15/s)"),
    RateLimit("eks", None, 10.0, 20, 8,
              "https://docs.aws.amazon.com/eks/latest/userguide/service-quotas.html (control plane API rate)"),
    RateLimit("rds", None, 10.0, 40, 8,
              "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#USER_Limits.API (describe)"),
    RateLimit("dynamodb", "ListTagsOfResource", 10.0, 10, 4,
              "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html (10/s per account)"),
    RateLimit("dynamodb", None, 100.0, 100, 8,
              "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html (control plane)"),
    RateLimit("secretsmanager", None, 50.0, 100, 8,
              "https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html (ListSecrets 100/s)"),
    # Every member's AssumeRole goes through the management account's one STS bucket. At 50/s
    # and 8 in flight, on org-2000 (1,974 roles to assume) the last accounts' first scopes
    # started at 91 s, ~40 s after the flat listing had found every account, and the three
    # 267-s IAM policy scopes ended with the sync at 358 s, so they too started at ~90 s. A third
    # of the quota, and the in-flight to sustain it at a few hundred ms per call under load.
    RateLimit("sts", None, 200.0, 200, 32,
              "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (STS 600/s per account)"),
    RateLimit("resourcegroupstaggingapi", None, 10.0, 20, 4,
              "https://docs.aws.amazon.com/general/latest/gr/arg.html (GetResources: no published TPS; "
              "throttles early, kept low)"),
    RateLimit("s3", None, 50.0, 100, 32,
              "https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html"),
)
GLOBAL_SERVICES = frozenset({"iam", "organizations"})
# Buckets pace at this share of the quota. AWS meters with token buckets too: paced at exactly
# its refill rate, the server's bucket never holds a spare token, so any two requests that the
# network or a busy event loop bunches together are throttled (org-500 at 756cd0b: 21 throttles
# on the critical IAM bucket, each halving its rate, 18.4 calls/s instead of 20). 2% below the
# quota, the server's bucket regains 0.4 tokens/s at 20/s to absorb such bunching.
PACING = 0.98
THROTTLE_CUT = 0.7  # the AWS SDKs' adaptive mode (its CUBIC beta)
CEILING_CUT = 0.95
DEFAULT_LIMIT = RateLimit("*", None, 20.0, 40, 8, "conservative default for describe/list calls")


def pool_size(service: str, least: int) -> int:
    """Connections a client of `service` needs: its largest in-flight cap, at least `least`."""
    return max([least, *(limit.in_flight for limit in RATE_LIMITS if limit.service == service)])


def limit_for(service: str, action: str) -> RateLimit:
    for limit in RATE_LIMITS:
        if limit.service == service and limit.action == action:
            return limit
    for limit in RATE_LIMITS:
        if limit.service == service and limit.action is None:
            return limit
    return DEFAULT_LIMIT


@dataclass
class TokenBucket:
    """Async token bucket plus an in-flight cap; entering waits, never raises.

    The rate adapts like the AWS SDKs' adaptive retry mode: a throttled answer cuts it to
    THROTTLE_CUT of itself (the quota AWS actually enforces may be lower than the table says, e.g.
    when other tools share the account), and each success wins back a little, up to a ceiling.
    The ceiling starts at the declared rate, drops to CEILING_CUT of itself when a throttle comes
    while running at it (a throttle below it says that something else presses, not that the
    ceiling is wrong) and creeps back slowly. Most throttles of a bucket paced just below its
    quota are network jitter, not a lower quota: halving the rate and taking a tenth off the
    ceiling cost org-2000's critical IAM bucket about a second each (87 throttles, 17.1 calls/s
    against a 19.6/s pace).

    One congestion event cuts the rate once, as in TCP's congestion control (one cut per window):
    a throttle of a request that left before the last cut says nothing the cut did not already
    answer. Requests bunched by a stalled event loop come back throttled several at once, and
    cut for each, the critical IAM bucket fell to 0.7^n of its rate and climbed back for seconds.
    """

    rate: float
    burst: int
    in_flight: int
    _nominal: float = field(init=False)
    _ceiling: float = field(init=False)
    _tokens: float = field(init=False)
    _updated: float = field(init=False)
    _last_cut: float = field(init=False)
    _slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self._nominal = self.rate
        self._ceiling = self.rate
        self._tokens = float(self.burst)
        self._updated = time.monotonic()
        self._last_cut = float("-inf")
        self._slots = asyncio.Semaphore(self.in_flight)

    def _reserve(self) -> float:
        """Take a token, or reserve the next one due (the count goes below zero): the wait for it."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate) - 1
        self._updated = now
        return max(0.0, -self._tokens / self.rate)

    async def _take_token(self) -> None:
        # Each caller reserves its own token and sleeps until it is due, all in one step of the
        # event loop. A lock that callers take turns holding while one sleeps hands over once per
        # pass of the event loop: on org-2000, with thousands of tasks ready in each pass (0.1-0.3
        # s), the critical IAM bucket granted 6 tokens/s of its 19.6.
        wait = self._reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    @property
    def ceiling(self) -> float:
        return self._ceiling

    def throttled(self, sent_at: float) -> None:
        """A request that entered the bucket at `sent_at` (what entering returned) was throttled."""
        if sent_at < self._last_cut:
            return
        self._last_cut = time.monotonic()
        floor = self._nominal / 20
        if self.rate >= 0.95 * self._ceiling:
            self._ceiling = max(floor, self._ceiling * CEILING_CUT)
        self.rate = max(floor, self.rate * THROTTLE_CUT)
        self._tokens = min(self._tokens, 0.0)

    def succeeded(self) -> None:
        if self._ceiling < self._nominal:
            self._ceiling = min(self._nominal, self._ceiling + self._nominal / 2000)
        if self.rate < self._ceiling:
            self.rate = min(self._ceiling, self.rate + self._nominal / 50)

    async def __aenter__(self) -> float:
        """Waits for a slot and a token; the time the request leaves, for `throttled`."""
        await self._slots.acquire()
        try:
            await self._take_token()
        except BaseException:
            self._slots.release()
            raise
        return time.monotonic()

    async def __aexit__(self, *exc: object) -> None:
        self._slots.release()


class Limiters:
    """One bucket per (account, region, service, action-or-*) key, created on first use."""

    def __init__(self, scale: float = 1.0) -> None:
        self._scale = scale
        self._buckets: dict[tuple[str, str, str, str], TokenBucket] = {}

    def bucket(self, account: str, region: str, service: str, action: str) -> TokenBucket:
        limit = limit_for(service, action)
        # Global services meter per account, whatever regional endpoint is used.
        region_key = "global" if service in GLOBAL_SERVICES else region
        key = (account, region_key, service, limit.action or "*")
        found = self._buckets.get(key)
        if found is None:
            found = TokenBucket(limit.rate * self._scale * PACING, max(1, limit.burst), limit.in_flight)
            self._buckets[key] = found
        return found
