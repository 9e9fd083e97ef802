"""Counters the admin endpoint reports: calls per service/operation, throttles, faults."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started = time.time()
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.injected_5xx = 0
        self.slowed = 0
        self.internal_errors = 0
        self.items: Counter[str] = Counter()  # resources returned per operation

    def snapshot(self) -> dict[str, Any]:
        return {
            "uptime_s": round(time.time() - self.started, 3),
            "calls": dict(self.calls),
            "total_calls": sum(self.calls.values()),
            "errors": dict(self.errors),
            "throttled": dict(self.throttled),
            "throttled_total": sum(self.throttled.values()),
            "injected_5xx": self.injected_5xx,
            "slowed": self.slowed,
            "internal_errors": self.internal_errors,
            "items": dict(self.items),
        }
