"""Resource Explorer evidence: read-only resource-explorer-2 calls through the engine's ApiCaller.

This is the doctor's own small probe (the engine's coverage probe lives in sync.explorer); it
only gathers what the pure checks in explorer_checks.py evaluate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from sync.doctor.explorer_checks import (
    VOLUME_RATIO,
    ExplorerEvidence,
    IndexInfo,
    ViewInfo,
    baseline_types,
)
from sync.doctor.model import CallError
from sync.doctor.probe import Prober
from sync.explorer.planner import PAGE_SIZE

SERVICE = "resource-explorer-2"
MEMBERS_PER_CALL = 10  # ListIndexesForMembers takes 1-10 account ids


async def bounded(jobs: Iterable[Callable[[], Awaitable[None]]], limit: int) -> None:
    """Run the jobs with at most `limit` in flight (the limiters pace each account x region)."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    async with asyncio.TaskGroup() as group:
        for job in jobs:
            group.create_task(one(job))


def _view(raw: Mapping[str, Any], region: str, default_arn: str | None) -> ViewInfo:
    props = raw.get("IncludedProperties") or []
    return ViewInfo(arn=str(raw["ViewArn"]), region=region, scope=str(raw.get("Scope") or ""),
                    has_tags=any(p.get("Name") == "tags" for p in props),
                    filter_string=str((raw.get("Filters") or {}).get("FilterString") or ""),
                    default=raw["ViewArn"] == default_arn)


async def _local_index(prober: Prober, ev: ExplorerEvidence, account_id: str, region: str) -> None:
    got = await prober.call(account_id, region, SERVICE, "GetIndex")
    if isinstance(got, CallError):
        if got.code != "ResourceNotFoundException":
            ev.unknown[(account_id, region)] = got
        return
    ev.indexes[(account_id, region)] = IndexInfo(account_id, region, got.get("Type"), got.get("State"))


async def _members_fallback(prober: Prober, ev: ExplorerEvidence, label: str, accounts: list[str]) -> None:
    """Indexes of accounts the doctor cannot enter, or whose GetIndex was refused, from the management side."""
    for start in range(0, len(accounts), MEMBERS_PER_CALL):
        batch = accounts[start:start + MEMBERS_PER_CALL]
        found = await prober.pages(label, ev.home_region, SERVICE, "ListIndexesForMembers",
                                   {"AccountIdList": batch, "MaxResults": MEMBERS_PER_CALL}, "Indexes",
                                   account_id=ev.management_account_id)
        if isinstance(found, CallError):
            return
        listed = {(str(i["AccountId"]), str(i["Region"])): i for i in found[0]}
        for key in [k for k in ev.unknown if k[0] in batch]:
            raw = listed.get(key)
            del ev.unknown[key]  # the management side answered: there is an index or there is none
            if raw is not None:
                ev.indexes[key] = IndexInfo(key[0], key[1], str(raw.get("Type") or ""), None)
        for key, raw in listed.items():
            if key not in ev.indexes and key[1] in ev.expected.get(key[0], ()):
                ev.indexes[key] = IndexInfo(key[0], key[1], str(raw.get("Type") or ""), None)


async def _views(prober: Prober, ev: ExplorerEvidence, label: str, region: str) -> None:
    mgmt = ev.management_account_id
    arns = await prober.pages(label, region, SERVICE, "ListViews", {}, "Views", account_id=mgmt)
    if isinstance(arns, CallError):
        ev.views = arns
        return
    default = await prober.call(label, region, SERVICE, "GetDefaultView", account_id=mgmt)
    default_arn = None if isinstance(default, CallError) else default.get("ViewArn")
    views = []
    for arn in arns[0]:
        got = await prober.call(label, region, SERVICE, "GetView", {"ViewArn": arn}, account_id=mgmt)
        if not isinstance(got, CallError):
            views.append(_view(got["View"], region, default_arn))
    ev.views = views
    if ev.organization:
        org_views = sorted((v for v in views if v.org_wide), key=lambda v: (not v.default, v.arn))
        ev.view = org_views[0] if org_views else None
    else:
        ev.view = next((v for v in views if v.default), None)


async def _count(prober: Prober, ev: ExplorerEvidence, label: str, view: ViewInfo, rtype: str,
                 max_pages: int) -> None:
    """Count a type in the view, stopping once it is clearly not far below the baseline."""
    enough = VOLUME_RATIO * ev.baseline[rtype]
    params: dict[str, Any] = {"ViewArn": view.arn, "MaxResults": PAGE_SIZE,
                              "Filters": {"FilterString": f"resourcetype:{rtype}"}}
    counted = 0
    for _ in range(max_pages):
        page = await prober.call(label, view.region, SERVICE, "ListResources", params,
                                 account_id=ev.management_account_id)
        if isinstance(page, CallError):
            return
        counted += len(page.get("Resources") or ())
        token = page.get("NextToken")
        if not token:
            ev.type_counts[rtype] = (counted, True)
            return
        if counted >= enough:
            break
        params["NextToken"] = token
    ev.type_counts[rtype] = (counted, False)


async def _volume(prober: Prober, ev: ExplorerEvidence, label: str, max_pages: int) -> None:
    view = ev.view
    if view is None:
        return
    mgmt = ev.management_account_id
    sample = await prober.call(label, view.region, SERVICE, "ListResources", {"ViewArn": view.arn, "MaxResults": 1},
                               account_id=mgmt)
    ev.view_sample = sample if isinstance(sample, CallError) else len(sample.get("Resources") or ())
    if isinstance(ev.view_sample, CallError) or not ev.view_sample or not ev.baseline:
        return
    supported = await prober.pages(label, view.region, SERVICE, "ListSupportedResourceTypes", {"MaxResults": 100},
                                   "ResourceTypes", account_id=mgmt)
    if not isinstance(supported, CallError):
        known = {str(t.get("ResourceType")) for t in supported[0]}
        ev.unsupported = frozenset(t for t in ev.baseline if t not in known)
    for rtype in baseline_types(ev.baseline):
        if rtype not in ev.unsupported:
            await _count(prober, ev, label, view, rtype, max_pages)


async def probe_local_indexes(prober: Prober, ev: ExplorerEvidence, ready: Mapping[str, tuple[str, ...]],
                              concurrency: int = 16) -> None:
    """GetIndex in every reachable account x region: index states, and a regional probe for SCP denies."""
    jobs = [(lambda a=a, r=r: _local_index(prober, ev, a, r)) for a, regions in ready.items() for r in regions]
    await bounded(jobs, concurrency)


async def gather_explorer(prober: Prober, ev: ExplorerEvidence, *, management_label: str,
                          ready: Mapping[str, tuple[str, ...]], unreachable: Iterable[str],
                          aggregator_region: str | None, max_pages: int, concurrency: int = 16) -> ExplorerEvidence:
    """Fill `ev` (created with the home region, management account, expected pairs and baseline).

    `management_label` is the pool's session label of the management side (the account itself for
    an aws-account integration).
    """
    label, mgmt, home = management_label, ev.management_account_id, ev.home_region
    if ev.organization:
        config = await prober.call(label, home, SERVICE, "GetAccountLevelServiceConfiguration", account_id=mgmt)
        ev.trusted_access = config if isinstance(config, CallError) else \
            str((config.get("OrgConfiguration") or {}).get("AWSServiceAccessStatus") or "")
        listed = await prober.pages(label, home, SERVICE, "ListIndexes", {}, "Indexes", account_id=mgmt)
        ev.management_indexes = listed if isinstance(listed, CallError) else [
            IndexInfo(mgmt, str(i["Region"]), str(i.get("Type") or ""), None) for i in listed[0]]
        aggregators = [] if isinstance(ev.management_indexes, CallError) else \
            [i.region for i in ev.management_indexes if i.type == "AGGREGATOR"]
        ev.aggregator_region = aggregators[0] if aggregators else (aggregator_region or home)
    await probe_local_indexes(prober, ev, ready, concurrency)
    for account_id in unreachable:
        for region in ev.expected.get(account_id, ()):
            ev.unknown[(account_id, region)] = CallError(
                "sts:AssumeRole", account_id, region, "AccountUnreachable",
                "the member role could not be assumed (see access.member-roles)")
    if ev.organization:
        await _members_fallback(prober, ev, label, sorted({a for a, _ in ev.unknown}))
    await _views(prober, ev, label, ev.aggregator_region if ev.organization else home)
    await _volume(prober, ev, label, max_pages)
    return ev
