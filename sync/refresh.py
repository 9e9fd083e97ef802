"""Which scopes an incremental sync refreshes, and why (pure).

Policy first, for every scope: one that never completed, or whose last completion is older than
its type's interval (`refresh_minutes` in the config, else DEFAULT_REFRESH_MINUTES), is
refreshed. A younger service-API scope is not refreshed: the service APIs offer no cheap change
signal. A younger Resource Explorer scope is refreshed only when its change signal says so (a
Search count, gathered by sync/explorer/signals.py and handed in as `signals`). A scope not
refreshed keeps its rows, its scope_state and its last_seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from catalog.state import ScopeMemory
from sync.plan import ExplorerQuery, ScopeKey, WorkItem

DEFAULT_REFRESH_MINUTES = 60

# The tally's labels: a handful of distinct values, so the run summary stays short.
NEVER_COMPLETED = "refreshed: never completed"
OLDER_THAN_INTERVAL = "refreshed: older than its interval"
FRESH = "not refreshed: fresh"
COUNT_UNCHANGED = "not refreshed: Resource Explorer count unchanged"
COUNT_CHANGED = "refreshed: Resource Explorer count changed"
COUNT_OVER_CAP = "refreshed: Resource Explorer cannot count it (over 1,000 resources)"
COUNT_FAILED = "refreshed: Resource Explorer count failed"
NO_SIGNAL = "refreshed: no change signal"


@dataclass(frozen=True)
class RefreshDecision:
    refresh: bool
    label: str  # the tally's key: a handful of distinct values
    reason: str  # the detail, recorded on the scope


def decide(memory: ScopeMemory | None, interval_minutes: int, now: datetime) -> RefreshDecision:
    """The policy: by the scope's age against its interval."""
    if memory is None:
        return RefreshDecision(True, NEVER_COMPLETED, "never completed")
    minutes = int((now - memory.completed_at).total_seconds() // 60)
    detail = f"completed {minutes} min ago, interval {interval_minutes} min"
    if now - memory.completed_at >= timedelta(minutes=interval_minutes):
        return RefreshDecision(True, OLDER_THAN_INTERVAL, detail)
    return RefreshDecision(False, FRESH, detail)


def policy(key: ScopeKey, previous: Mapping[tuple[str, str, str], ScopeMemory], intervals: Mapping[str, int],
           now: datetime) -> RefreshDecision:
    interval = intervals.get(key.resource_type, DEFAULT_REFRESH_MINUTES)
    return decide(previous.get((key.account_id, key.region, key.resource_type)), interval, now)


def _filter(prefix: str, values: set[str]) -> str:
    return " ".join(f"{prefix}:{v}" for v in sorted(values))


def narrow(query: ExplorerQuery, kept: Sequence[ScopeKey], reasons: Mapping[ScopeKey, str]) -> list[ExplorerQuery]:
    """The query cut down to the scopes `kept`, with each scope's refresh reason.

    Accounts whose kept scopes span the same regions and types share one ListResources query
    (filters of one prefix are ORed, different prefixes ANDed); results outside `kept` that such
    a rectangle still returns are dropped by the listing, as for any query.
    """
    key_reasons = {k: f"{query.reason}; incremental: {reasons[k]}" for k in kept}
    if len(kept) == len(query.keys):
        return [replace(query, key_reasons=key_reasons)]
    by_account: dict[str, list[ScopeKey]] = {}
    for key in kept:
        by_account.setdefault(key.account_id, []).append(key)
    groups: dict[tuple[frozenset[str], frozenset[str]], list[str]] = {}
    for account, keys in by_account.items():
        shape = (frozenset(k.region for k in keys), frozenset(k.resource_type for k in keys))
        groups.setdefault(shape, []).append(account)
    out: list[ExplorerQuery] = []
    for (regions, types), accounts in sorted(groups.items(), key=lambda g: sorted(g[1])):
        keys = tuple(sorted(k for a in accounts for k in by_account[a]))
        # A member view sees only its own account: no account filter, as the planner does.
        parts = [] if query.source == "explorer-member" else [_filter("accountid", set(accounts))]
        parts += [_filter("region", set(regions)), _filter("resourcetype", set(types))]
        out.append(replace(query, keys=keys, filter_string=" ".join(parts),
                           key_reasons={k: key_reasons[k] for k in keys}))
    return out


def select_due(
    items: Sequence[WorkItem | ExplorerQuery],
    *,
    previous: Mapping[tuple[str, str, str], ScopeMemory],
    intervals: Mapping[str, int],
    now: datetime,
    signals: Mapping[ScopeKey, RefreshDecision] | None = None,
) -> tuple[list[WorkItem | ExplorerQuery], dict[str, int]]:
    """The items to run (Resource Explorer queries narrowed to the scopes refreshed), and a tally
    of why scopes were or were not refreshed.

    `signals` holds the change-signal decision of Resource Explorer scopes the policy finds
    fresh; such a scope without one is refreshed (NO_SIGNAL): only a signal can spare it.
    """
    signals = signals or {}
    keep: list[WorkItem | ExplorerQuery] = []
    tally: dict[str, int] = {}
    for item in items:
        if isinstance(item, ExplorerQuery):
            kept: list[ScopeKey] = []
            reasons: dict[ScopeKey, str] = {}
            for key in item.keys:
                decision = policy(key, previous, intervals, now)
                if not decision.refresh:
                    decision = signals.get(key) or RefreshDecision(True, NO_SIGNAL, "no change signal for this scope")
                tally[decision.label] = tally.get(decision.label, 0) + 1
                if decision.refresh:
                    kept.append(key)
                    reasons[key] = decision.reason
            if kept:
                keep.extend(narrow(item, kept, reasons))
            continue
        decision = policy(item.key, previous, intervals, now)
        tally[decision.label] = tally.get(decision.label, 0) + 1
        if decision.refresh:
            keep.append(replace(item, reason=f"{item.reason}; incremental: {decision.reason}"))
    return keep, tally
