"""Which scopes an incremental sync refreshes, and why (pure).

Service-API scopes cost a client, calls and tag calls per resource: they are refreshed when
older than their type's interval (`refresh_minutes` in the config, else DEFAULT_REFRESH_MINUTES)
or never completed. Resource Explorer scopes are always refreshed: one query covers many scopes
and its cost is the resources that exist, not the scopes. A scope not refreshed keeps its rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from catalog.state import ScopeMemory
from sync.plan import ExplorerQuery, WorkItem

DEFAULT_REFRESH_MINUTES = 60


EXPLORER_ALWAYS = "refreshed: Resource Explorer scope (always)"


@dataclass(frozen=True)
class RefreshDecision:
    refresh: bool
    label: str  # the tally's key: a handful of distinct values
    reason: str  # the detail, recorded on the scope


def decide(memory: ScopeMemory | None, interval_minutes: int, now: datetime) -> RefreshDecision:
    if memory is None:
        return RefreshDecision(True, "refreshed: never completed", "never completed")
    minutes = int((now - memory.completed_at).total_seconds() // 60)
    detail = f"completed {minutes} min ago, interval {interval_minutes} min"
    if now - memory.completed_at >= timedelta(minutes=interval_minutes):
        return RefreshDecision(True, "refreshed: older than its interval", detail)
    return RefreshDecision(False, "not refreshed: fresh", detail)


def select_due(
    items: Sequence[WorkItem | ExplorerQuery],
    *,
    previous: Mapping[tuple[str, str, str], ScopeMemory],
    intervals: Mapping[str, int],
    now: datetime,
) -> tuple[list[WorkItem | ExplorerQuery], dict[str, int]]:
    """The items to run, and a tally of why scopes were or were not refreshed."""
    keep: list[WorkItem | ExplorerQuery] = []
    tally: dict[str, int] = {}
    for item in items:
        if isinstance(item, ExplorerQuery):
            keep.append(item)
            tally[EXPLORER_ALWAYS] = tally.get(EXPLORER_ALWAYS, 0) + len(item.keys)
            continue
        key = item.key
        interval = intervals.get(key.resource_type, DEFAULT_REFRESH_MINUTES)
        decision = decide(previous.get((key.account_id, key.region, key.resource_type)), interval, now)
        tally[decision.label] = tally.get(decision.label, 0) + 1
        if decision.refresh:
            keep.append(replace(item, reason=f"{item.reason}; incremental: {decision.reason}"))
    return keep, tally
