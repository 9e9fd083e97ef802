"""Token buckets per account x region x API, the way AWS meters its control planes.

Each service module declares its rates next to its operations (``ServiceSpec.quotas``), citing
AWS's documented numbers; the scenario may scale them (throttle-storm = 0.1) or override one.
"""

from __future__ import annotations

import time

from orgsim.registry import ServiceSpec
from orgsim.scenario import QuotasConfig


class TokenBucket:
    __slots__ = ("burst", "last", "rate", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Quotas:
    def __init__(self, cfg: QuotasConfig) -> None:
        self.enabled = cfg.enabled
        self.scale = cfg.scale
        self.overrides = {k: (float(v[0]), float(v[1])) for k, v in cfg.overrides.items()}
        self._buckets: dict[tuple[int, str, str, str], TokenBucket] = {}

    def limit(self, spec: ServiceSpec, op: str) -> tuple[str, float, float] | None:
        """(bucket name, rate/s, burst) for an operation, None if unmetered."""
        over = self.overrides.get(f"{spec.signing_name}:{op}")
        if over is not None:
            return op, over[0] * self.scale, max(1.0, over[1] * self.scale)
        if op in spec.quotas:
            rate, burst = spec.quotas[op]
            name = op
        elif "*" in spec.quotas:
            rate, burst = spec.quotas["*"]
            name = op if spec.quota_per_op else "*"
        else:
            return None
        return name, rate * self.scale, max(1.0, burst * self.scale)

    def take(self, account: int, region: str, spec: ServiceSpec, op: str) -> bool:
        if not self.enabled:
            return True
        lim = self.limit(spec, op)
        if lim is None:
            return True
        name, rate, burst = lim
        key = (account, region if spec.regional else "global", spec.signing_name, name)
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rate, burst, now)
        return bucket.take(now)
