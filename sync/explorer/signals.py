"""Change signals for Resource Explorer scopes in an incremental sync: Search counts.

What AWS offers, and what this is built on:
- Search answers `Count.TotalResources` for its query, exact up to 1,000 matches
  (`Count.Complete` false past that), in every page, so MaxResults=1 buys the count for one call;
- Search has its own quota, 5 calls/s per account per region, next to the 3/s every other
  Resource Explorer call shares: counting does not slow ListResources down;
- results carry LastReportedAt, but Search has no sort: a small page holds arbitrary resources,
  not the newest, and reading them all costs as much as listing them. Only the count is a signal
  worth a call.

A unit is a rectangle accounts x regions x types on one view, every scope of which is a
candidate (completed before and younger than its interval), so its query counts exactly those
scopes and its expected count is what the catalog holds for them. Units are packed up to 1,000
expected resources and the 1,280-character QueryString. A unit whose count differs has all its
scopes refreshed: re-listing at most 1,000 resources takes one or two ListResources pages of 999,
and asking its halves (another round of Search calls) could save one page at most. The planning
and judging functions are pure; `count_units` is the I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from catalog.state import ScopeMemory
from sync.aws.errors import error_code
from sync.plan import ExplorerQuery, ScopeKey, WorkItem
from sync.refresh import (
    COUNT_CHANGED,
    COUNT_FAILED,
    COUNT_OVER_CAP,
    COUNT_UNCHANGED,
    RefreshDecision,
    policy,
)

Call = Callable[[str, str, str, dict[str, Any]], Awaitable[dict[str, Any]]]  # (account, region, op, params)

SEARCH_CAP = 1000  # Count.TotalResources never exceeds 1,000
QUERY_MAX = 1280  # Search QueryString length (botocore model)
# AWS answers these after the caller's retries; any of them only means "no signal": refresh.
SIGNAL_ERRORS = (ClientError, BotoCoreError, aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)


@dataclass(frozen=True)
class ViewRef:
    account_id: str  # whose credentials query the view
    region: str
    arn: str
    member: bool  # a member account's own view: it sees one account, no accountid filter


@dataclass(frozen=True)
class CountUnit:
    view: ViewRef
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    types: tuple[str, ...]
    expected: int  # rows the catalog holds for these scopes

    @property
    def keys(self) -> list[ScopeKey]:
        return [ScopeKey(a, r, t) for a in self.accounts for r in self.regions for t in self.types]

    @property
    def query(self) -> str:
        parts = [] if self.view.member else [f"accountid:{a}" for a in self.accounts]
        parts += [f"region:{r}" for r in self.regions] + [f"resourcetype:{t}" for t in self.types]
        return " ".join(parts)

    def describe(self) -> str:
        def few(values: tuple[str, ...], what: str) -> str:
            return ",".join(values) if len(values) <= 3 else f"{len(values)} {what}"

        return f"{few(self.accounts, 'accounts')} {few(self.regions, 'regions')} {few(self.types, 'types')}"


@dataclass(frozen=True)
class Answer:
    total: int | None  # None when the call failed
    complete: bool
    error: str | None = None


def candidates(
    items: Sequence[WorkItem | ExplorerQuery],
    *,
    previous: Mapping[tuple[str, str, str], ScopeMemory],
    intervals: Mapping[str, int],
    now: datetime,
) -> dict[ScopeKey, tuple[ViewRef, int]]:
    """Resource Explorer scopes the policy finds fresh: their view and the rows the catalog holds."""
    out: dict[ScopeKey, tuple[ViewRef, int]] = {}
    for item in items:
        if not isinstance(item, ExplorerQuery):
            continue
        view = ViewRef(item.account_id, item.region, item.view_arn, item.source == "explorer-member")
        for key in item.keys:
            memory = previous.get((key.account_id, key.region, key.resource_type))
            if memory is not None and not policy(key, previous, intervals, now).refresh:
                out[key] = (view, memory.held)
    return out


def _unit(view: ViewRef, accounts: Sequence[str], regions: Sequence[str], types: Sequence[str],
          expected: Mapping[ScopeKey, int]) -> CountUnit:
    total = sum(expected[ScopeKey(a, r, t)] for a in accounts for r in regions for t in types)
    return CountUnit(view, tuple(accounts), tuple(regions), tuple(types), total)


def _split(unit: CountUnit, expected: Mapping[ScopeKey, int]) -> tuple[CountUnit, CountUnit] | None:
    """Two halves along the first dimension with more than one value; None for a single scope."""
    dims = [unit.accounts, unit.regions, unit.types]
    for i, values in enumerate(dims):
        if len(values) > 1:
            low, high = list(dims), list(dims)
            low[i], high[i] = values[:len(values) // 2], values[len(values) // 2:]
            return _unit(unit.view, *low, expected), _unit(unit.view, *high, expected)
    return None


def _over_cap(unit: CountUnit, detail: str) -> dict[ScopeKey, RefreshDecision]:
    return {k: RefreshDecision(True, COUNT_OVER_CAP, detail) for k in unit.keys}


def _settle(unit: CountUnit, expected: Mapping[ScopeKey, int]) -> tuple[list[CountUnit], dict[ScopeKey, RefreshDecision]]:
    """Units Search can count (split until they can), and decisions for scopes it never can."""
    if unit.expected <= SEARCH_CAP and len(unit.query) <= QUERY_MAX:
        return [unit], {}
    halves = _split(unit, expected)
    if halves is None:
        return [], _over_cap(unit, f"held {unit.expected} resources at its last sync: a Search count stops "
                                   "at 1,000, so this scope is always listed")
    units: list[CountUnit] = []
    decided: dict[ScopeKey, RefreshDecision] = {}
    for half in halves:
        more, more_decided = _settle(half, expected)
        units += more
        decided.update(more_decided)
    return units, decided


def plan_units(found: Mapping[ScopeKey, tuple[ViewRef, int]]) -> tuple[list[CountUnit], dict[ScopeKey, RefreshDecision]]:
    """The first round of counts for the candidate scopes, and the scopes no count can judge.

    Per view and account, the account's candidates form one rectangle (regions x types) when
    they can, else one per region; rectangles of the same shape are packed across accounts.
    """
    expected = {key: held for key, (_, held) in found.items()}
    by_view: dict[ViewRef, dict[str, list[ScopeKey]]] = {}
    for key, (view, _) in sorted(found.items()):
        by_view.setdefault(view, {}).setdefault(key.account_id, []).append(key)
    units: list[CountUnit] = []
    decided: dict[ScopeKey, RefreshDecision] = {}
    for view, accounts in by_view.items():
        shapes: dict[tuple[tuple[str, ...], tuple[str, ...]], list[CountUnit]] = {}
        for account, keys in sorted(accounts.items()):
            regions = tuple(sorted({k.region for k in keys}))
            types = tuple(sorted({k.resource_type for k in keys}))
            if len(keys) == len(regions) * len(types):
                atoms = [_unit(view, (account,), regions, types, expected)]
            else:
                atoms = [_unit(view, (account,), (r,), tuple(sorted(k.resource_type for k in keys if k.region == r)),
                               expected) for r in regions]
            for atom in atoms:
                shapes.setdefault((atom.regions, atom.types), []).append(atom)
        for atoms in shapes.values():
            for packed in _pack(atoms):
                more, more_decided = _settle(packed, expected)
                units += more
                decided.update(more_decided)
    return units, decided


def _pack(atoms: Sequence[CountUnit]) -> list[CountUnit]:
    """Single-account rectangles of one view and shape, packed greedily into units Search can count."""
    out: list[CountUnit] = []
    current: CountUnit | None = None
    for atom in atoms:
        if current is not None:
            merged = CountUnit(atom.view, current.accounts + atom.accounts, atom.regions, atom.types,
                               current.expected + atom.expected)
            if merged.expected <= SEARCH_CAP and len(merged.query) <= QUERY_MAX:
                current = merged
                continue
            out.append(current)
        current = atom
    if current is not None:
        out.append(current)
    return out


def judge(unit: CountUnit, answer: Answer) -> dict[ScopeKey, RefreshDecision]:
    """Decisions for the unit's scopes: all refreshed unless the count is complete and unchanged."""
    keys = unit.keys
    if answer.error is not None or answer.total is None:
        detail = f"Resource Explorer Search count failed ({answer.error}) for {unit.describe()}"
        return {k: RefreshDecision(True, COUNT_FAILED, detail) for k in keys}
    if answer.complete and answer.total == unit.expected:
        detail = f"Resource Explorer count unchanged ({answer.total}) for {unit.describe()}"
        return {k: RefreshDecision(False, COUNT_UNCHANGED, detail) for k in keys}
    if not answer.complete:
        return _over_cap(unit, f"Resource Explorer counts over 1,000 for {unit.describe()}, "
                               f"the catalog holds {unit.expected}")
    detail = f"Resource Explorer count {answer.total}, the catalog holds {unit.expected} for {unit.describe()}"
    return {k: RefreshDecision(True, COUNT_CHANGED, detail) for k in keys}


async def _ask(call: Call, unit: CountUnit) -> Answer:
    params = {"QueryString": unit.query, "MaxResults": 1, "ViewArn": unit.view.arn}
    try:
        found = await call(unit.view.account_id, unit.view.region, "Search", params)
    except SIGNAL_ERRORS as exc:
        return Answer(None, False, error_code(exc))
    count = found.get("Count") or {}
    total = count.get("TotalResources")
    if total is None:
        return Answer(None, False, "no Count in the answer")
    # An answer that does not say the count is complete is taken as incomplete: refreshing is safe.
    return Answer(int(total), count.get("Complete") is True)


async def count_units(call: Call, units: Sequence[CountUnit]) -> tuple[dict[ScopeKey, RefreshDecision], dict[str, int]]:
    """Ask each unit's count, all at once, and judge every scope by its unit's answer.

    Returns the decisions and, per error code, how many counts failed (their scopes are refreshed).
    """
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_ask(call, unit)) for unit in units]
    decided: dict[ScopeKey, RefreshDecision] = {}
    failures: dict[str, int] = {}
    for unit, task in zip(units, tasks):
        answer = task.result()
        if answer.error is not None:
            failures[answer.error] = failures.get(answer.error, 0) + 1
        decided.update(judge(unit, answer))
    return decided, failures
