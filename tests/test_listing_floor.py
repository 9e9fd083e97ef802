"""The listing floor of the `any` bound (benchmarks/floor.py): the least time any mix of service
APIs, member views and the one aggregator view needs to list every account x region."""

from __future__ import annotations

import pytest

from benchmarks.bound import LIST_CALLS, compute_bound
from benchmarks.floor import AreaLoad, least_listing_time, listing_floor
from orgsim.world import World

RATE, BURST = 3.0, 3.0


def area(service_s: float, pages: float, *, member: bool = True, aggregated: bool = True,
         listable: bool = True) -> AreaLoad:
    return AreaLoad((service_s,), (pages,), (listable,), member, aggregated)


def test_a_type_goes_to_its_member_view_when_its_service_api_is_slower() -> None:
    # 300 pages: 99 s on a member view of its own (3 of them in the burst), 500 s by the service API.
    assert least_listing_time([area(500.0, 300.0, aggregated=False)], RATE, BURST) == pytest.approx(99.0)


def test_the_member_view_and_the_aggregator_share_an_area_between_them() -> None:
    # Both views page the one area in parallel: 2 * (3T + 3) = 300 at T = 49 s.
    assert least_listing_time([area(500.0, 300.0)], RATE, BURST) == pytest.approx(49.0)


def test_the_aggregator_is_one_queue_for_every_area_it_reaches() -> None:
    # Ten areas without member views: the aggregator pages all 300 alone, 99 s.
    areas = [area(500.0, 30.0, member=False) for _ in range(10)]
    assert least_listing_time(areas, RATE, BURST) == pytest.approx(99.0)


def test_a_service_api_faster_than_any_view_bounds_its_type_alone() -> None:
    assert least_listing_time([area(4.0, 300.0)], RATE, BURST) == pytest.approx(4.0)


def test_a_type_no_view_lists_waits_for_its_service_api() -> None:
    assert least_listing_time([area(120.0, 1.0, listable=False)], RATE, BURST) == pytest.approx(120.0)
    assert least_listing_time([area(120.0, 1.0, member=False, aggregated=False)], RATE, BURST) == pytest.approx(120.0)


def test_the_floor_of_a_scenario_is_part_of_the_any_bound_alone() -> None:
    world = World("small")
    floor = listing_floor(world, LIST_CALLS)
    anything, services = compute_bound(world, "any"), compute_bound(world, "services")
    assert anything.listing_floor_s == pytest.approx(floor)
    assert anything.seconds >= floor and services.listing_floor_s == 0.0
    # Without Resource Explorer every type waits for its own service API.
    assert listing_floor(World("small", {"explorer": {"enabled": False}}), LIST_CALLS) >= floor
