"""Latency, slow calls and injected 5xx, drawn from a seeded generator.

The draw sequence is seeded, so a single-client run is reproducible; with concurrent clients
the order of arrival decides which call gets which draw, as it would against AWS.
"""

from __future__ import annotations

import asyncio
import random

from orgsim.errors import server_error
from orgsim.registry import ServiceSpec
from orgsim.scenario import Scenario
from orgsim.stats import Stats


class Faults:
    def __init__(self, scenario: Scenario) -> None:
        f = scenario.faults
        self.rng = random.Random(f.seed or scenario.organization.seed)
        self.error_rate = f.error_rate
        self.slow_rate = f.slow_rate
        self.slow_seconds = f.slow_seconds
        self.base = scenario.latency.base_ms / 1000.0
        self.jitter = scenario.latency.jitter_ms / 1000.0
        self.active = bool(self.error_rate or self.slow_rate or self.base or self.jitter)

    async def before(self, spec: ServiceSpec, stats: Stats) -> None:
        """Delay the call and maybe fail it; raises the service's own 5xx error."""
        if not self.active:
            return
        delay = self.base + (self.jitter * self.rng.random() if self.jitter else 0.0)
        if self.slow_rate and self.rng.random() < self.slow_rate:
            delay += self.slow_seconds
            stats.slowed += 1
        if delay > 0:
            await asyncio.sleep(delay)
        if self.error_rate and self.rng.random() < self.error_rate:
            stats.injected_5xx += 1
            raise server_error(spec)
