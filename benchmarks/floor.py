"""The least time listing every account x region takes, whichever mix of sources lists it.

The `any` bound's other terms are the calls no source can avoid (the walk, IAM's tags). They
leave out the listing itself, which every source pays somewhere: a regional type in an account x
region is listed either by its service API (its own bucket, pages at the API's largest size) or
by Resource Explorer, 1,000 resources a page at 3 calls/s per view, through the area's own
member view or the organization's one aggregator view, shared by every area it covers.

Given a time T, an area is done in time when every type whose service API alone would take
longer than T goes to a view that reaches it; what its member view cannot page through in T spills
to the aggregator, and the aggregator must page through every area's spill in T:

    feasible(T) = every area: types with service time > T are listable by a view there, and
                  spill_a(T) = max(0, D_a(T) - member_a(T)) is 0 where the aggregator does not reach
                  and sum_a spill_a(T) <= rate*T + burst
    D_a(T)      = pages of the area's Resource Explorer-listable types whose service time > T
    member_a(T) = rate*T + burst where the area has a member view, else 0

feasible is monotone in T, and the floor is the least feasible T (bisection). It stays a lower
bound: pages are counted fractionally (a real query pages whole), every type's service time is
its list bucket alone (types sharing a bucket would be slower), tags are free (a view without the
tags property would need the Tagging API on top), and a member view in the aggregator's own
account x region counts apart from the aggregator, though the two share a bucket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from orgsim.quotas import Quotas
from orgsim.registry import services
from orgsim.world import World

EXPLORER_PAGE = 1000  # ListResources' largest page
_ITERATIONS = 40  # bisection steps: the interval shrinks 2**40-fold, far below a millisecond


@dataclass(frozen=True)
class AreaLoad:
    """One account x region: per regional type with resources, what listing it costs."""

    service_s: tuple[float, ...]  # seconds the type's list API alone needs here
    pages: tuple[float, ...]  # its resources in Resource Explorer pages (fractional)
    in_explorer: tuple[bool, ...]  # a view that reaches this area can list the type
    member_view: bool
    aggregated: bool


def _feasible(areas: Sequence[AreaLoad], t: float, rate: float, burst: float) -> bool:
    capacity = rate * t + burst
    spill = 0.0
    for area in areas:
        demand = 0.0
        for service_s, pages, listable in zip(area.service_s, area.pages, area.in_explorer, strict=True):
            if service_s > t:
                if not listable:
                    return False
                demand += pages
        left = demand - (capacity if area.member_view else 0.0)
        if left > 1e-9:
            if not area.aggregated:
                return False
            spill += left
    return spill <= capacity + 1e-9


def least_listing_time(areas: Sequence[AreaLoad], rate: float, burst: float) -> float:
    """The least T at which every area can be listed (module docstring); 0 with no work."""
    hi = max((s for a in areas for s in a.service_s), default=0.0)  # every type by its service API
    if hi <= 0.0 or _feasible(areas, 0.0, rate, burst):
        return 0.0
    lo = 0.0
    for _ in range(_ITERATIONS):
        mid = (lo + hi) / 2
        if _feasible(areas, mid, rate, burst):
            hi = mid
        else:
            lo = mid
    return hi


def aggregator_areas(world: World) -> set[tuple[int, str]]:
    """(account, region) pairs the organization's aggregator view lists (none without the view)."""
    ex = world.explorer
    views = [v for vs in ex.views.values() for v in vs if v.scope == "org" and not v.filter]
    return set(ex.coverage(views[0])) if views else set()


def area_loads(world: World, list_calls: dict[str, tuple[str, int, tuple[str, ...]]]) -> list[AreaLoad]:
    """Every reachable account x region with regional resources (S3 aside: one ListBuckets page
    lists 10,000 buckets of every region, so its listing costs no area anything)."""
    inv, org, ex = world.inventory, world.org, world.explorer
    quotas = Quotas(world.scenario.quotas)
    specs = services()
    aggregated = aggregator_areas(world)
    member = {(a, r) for (a, r), views in ex.views.items()
              if any(v.scope == "account" and (a, r) in ex.coverage(v) for v in views)}
    supported = set(ex.supported) if ex.enabled else set()
    regional = [rt for rt in inv.types if not rt.is_global and not rt.listed_globally]
    out: list[AreaLoad] = []
    for acct in org.accounts:
        for region in acct.regions:
            if not world.reachable(acct.index, region)[0]:
                continue
            service_s: list[float] = []
            pages: list[float] = []
            listable: list[bool] = []
            for rt in regional:
                n = inv.counts[inv.account_scopes(acct.index, region, rt.rtype)]
                if not n:
                    continue
                op, size, _ = list_calls[rt.rtype]
                lim = quotas.limit(specs[rt.service], op) if quotas.enabled else None
                calls = math.ceil(n / size)
                service_s.append(max(0.0, calls - lim[2]) / lim[1] if lim else 0.0)
                pages.append(n / EXPLORER_PAGE)
                listable.append(rt.rtype in supported)
            if service_s:
                key = (acct.index, region)
                out.append(AreaLoad(tuple(service_s), tuple(pages), tuple(listable),
                                    key in member, key in aggregated))
    return out


def listing_floor(world: World, list_calls: dict[str, tuple[str, int, tuple[str, ...]]]) -> float:
    quotas = Quotas(world.scenario.quotas)
    lim = quotas.limit(services()["resource-explorer-2"], "ListResources") if quotas.enabled else None
    if lim is None:
        return 0.0  # unmetered views list anything at once
    return least_listing_time(area_loads(world, list_calls), lim[1], lim[2])
