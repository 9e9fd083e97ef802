"""The source planner (pure) and the round-robin work queue."""

from __future__ import annotations

from typing import Any

import pytest

from sync.explorer.coverage import Coverage, IndexInfo, ViewInfo
from sync.explorer.planner import (
    PAGE_SIZE,
    AccountPlanInput,
    AggregatorBacklog,
    aggregator_groups,
    book_aggregator,
    plan_account_batch,
)
from sync.plan import ExplorerQuery, ScopeKey, WorkItem
from sync.scheduler import RoundRobinQueue

A, B = "111111111111", "222222222222"
ORG_VIEW = ViewInfo("arn:aws:resource-explorer-2:us-east-1:111111111111:view/org/1", "us-east-1",
                    "arn:aws:organizations::111111111111:organization/o-abc", True, "")
TYPES = ("ec2:instance", "iam:role", "rds:db", "s3:bucket")
GLOBAL = frozenset({"iam:role", "s3:bucket"})


def coverage(**kw: Any) -> Coverage:
    cov = Coverage(aggregator_region="us-east-1", aggregator_account=A, wide_view=ORG_VIEW,
                   supported_types=frozenset({"ec2:instance", "rds:db", "s3:bucket", "iam:role"}))
    for account in (A, B):
        for region in ("us-east-1", "eu-west-1"):
            cov.indexes[(account, region)] = IndexInfo(account, region, "LOCAL", "ACTIVE")
    for key, value in kw.items():
        setattr(cov, key, value)
    return cov


def plan(cov: Coverage, *, source: str = "auto", previous: dict[tuple[str, str], int] | None = None,
         backlog: AggregatorBacklog | None = None) -> list[WorkItem | ExplorerQuery]:
    accounts = [AccountPlanInput(a, ("eu-west-1", "us-east-1")) for a in (A, B)]
    return plan_account_batch(accounts, resource_types=TYPES, global_types=GLOBAL, home_region="us-east-1",
                              coverage=cov, source=source, previous_counts=previous or {}, backlog=backlog)


def by_key(items: list[WorkItem | ExplorerQuery]) -> dict[ScopeKey, WorkItem | ExplorerQuery]:
    return {key: item for item in items for key in item.keys}


def test_every_scope_is_planned_exactly_once() -> None:
    for source in ("auto", "explorer", "services"):
        items = plan(coverage(), source=source)
        keys = [k for i in items for k in i.keys]
        assert len(keys) == len(set(keys)) == 2 * (2 * 2 + 2)


def test_services_plan_lists_global_types_once_per_account_from_the_home_region() -> None:
    items = by_key(plan(coverage(), source="services"))
    iam = items[ScopeKey(A, "global", "iam:role")]
    assert isinstance(iam, WorkItem) and iam.api_region == "us-east-1" and iam.reason == "forced by --source services"
    eu = items[ScopeKey(B, "eu-west-1", "rds:db")]
    assert isinstance(eu, WorkItem) and eu.api_region == "eu-west-1"


def test_small_scopes_share_one_aggregator_query_and_iam_stays_on_iam() -> None:
    items = plan(coverage())
    [query] = [i for i in items if isinstance(i, ExplorerQuery)]
    assert query.source == "explorer-aggregator" and query.view_arn == ORG_VIEW.arn
    assert query.filter_string == f"accountid:{A} accountid:{B} resourcetype:ec2:instance resourcetype:rds:db"
    services = {i.key.resource_type: i.reason for i in items if isinstance(i, WorkItem)}
    assert set(services) == {"iam:role", "s3:bucket"}
    assert "IAM tags" in services["iam:role"] and "ListBuckets" in services["s3:bucket"]


@pytest.mark.parametrize(("change", "scope", "reason"), [
    ({"supported_types": frozenset({"ec2:instance", "s3:bucket"})}, ScopeKey(A, "us-east-1", "rds:db"), "not supported"),
    ({"indexes": {}}, ScopeKey(A, "us-east-1", "ec2:instance"), "no Resource Explorer index"),
    ({"wide_view": None}, ScopeKey(A, "us-east-1", "ec2:instance"), "no usable Resource Explorer view"),
])
def test_scopes_resource_explorer_cannot_prove_go_to_services(change: dict[str, Any], scope: ScopeKey,
                                                               reason: str) -> None:
    item = by_key(plan(coverage(**change)))[scope]
    assert isinstance(item, WorkItem) and reason in item.reason


def test_an_index_still_creating_is_not_trusted() -> None:
    cov = coverage()
    cov.indexes[(A, "eu-west-1")] = IndexInfo(A, "eu-west-1", "LOCAL", "CREATING")
    items = by_key(plan(cov))
    creating = items[ScopeKey(A, "eu-west-1", "ec2:instance")]
    assert isinstance(creating, WorkItem) and "CREATING" in creating.reason
    assert isinstance(items[ScopeKey(A, "us-east-1", "ec2:instance")], ExplorerQuery)


def test_large_account_regions_go_to_their_member_view() -> None:
    member = ViewInfo("arn:aws:resource-explorer-2:eu-west-1:222222222222:view/default/1", "eu-west-1",
                      f"arn:aws:iam::{B}:root", True, "")
    cov = coverage(member_views={(B, "eu-west-1"): member}, counts={(B, "eu-west-1"): 50_000})
    items = by_key(plan(cov))
    big = items[ScopeKey(B, "eu-west-1", "rds:db")]
    assert isinstance(big, ExplorerQuery) and big.source == "explorer-member" and big.account_id == B
    assert big.view_arn == member.arn and big.filter_string == "region:eu-west-1 resourcetype:rds:db"
    # EC2 lists 1,000 instances a call with their tags at 20/s: beside the view, not on its pages
    beside = items[ScopeKey(B, "eu-west-1", "ec2:instance")]
    assert isinstance(beside, WorkItem) and beside.source == "services" and beside.api_region == "eu-west-1"
    assert beside.reason.startswith("DescribeInstances lists 1,000 a call with their tags at 20 calls/s")
    small = items[ScopeKey(B, "us-east-1", "ec2:instance")]
    assert isinstance(small, ExplorerQuery) and small.source == "explorer-aggregator"
    # the last sync's counts decide when the probe has none
    cov = coverage(member_views={(B, "eu-west-1"): member})
    assert by_key(plan(cov, previous={(B, "eu-west-1"): 5_000}))[ScopeKey(B, "eu-west-1", "rds:db")].source == "explorer-member"
    assert by_key(plan(cov))[ScopeKey(B, "eu-west-1", "rds:db")].source == "explorer-aggregator"


@pytest.mark.parametrize(("count", "source", "member_lists_ec2"), [
    (10 * PAGE_SIZE - 1, "auto", True),  # a smaller area: its view is done about as soon
    (10 * PAGE_SIZE, "auto", False),
    (50_000, "explorer", True),  # a forced mode never leaves Resource Explorer for speed
])
def test_only_auto_lists_faster_types_beside_a_large_member_view(count: int, source: str,
                                                                 member_lists_ec2: bool) -> None:
    cov = coverage(member_views=member_views(B), counts={(B, "eu-west-1"): count}, wide_view=None)
    item = by_key(plan(cov, source=source))[ScopeKey(B, "eu-west-1", "ec2:instance")]
    assert (item.source == "explorer-member") == member_lists_ec2


def test_the_aggregator_never_lists_an_area_that_went_to_a_member_view() -> None:
    # B's eu-west-1 is large (member view); its us-east-1 and all of A ride on the aggregator.
    cov = coverage(member_views=member_views(B), counts={(B, "eu-west-1"): 50_000})
    queries = [i for i in plan(cov) if isinstance(i, ExplorerQuery) and i.source == "explorer-aggregator"]
    filters = {q.filter_string: {(k.account_id, k.region) for k in q.keys} for q in queries}
    assert filters == {
        f"accountid:{A} resourcetype:ec2:instance resourcetype:rds:db": {(A, "eu-west-1"), (A, "us-east-1")},
        f"region:us-east-1 accountid:{B} resourcetype:ec2:instance resourcetype:rds:db": {(B, "us-east-1")},
    }


def test_accounts_with_member_areas_share_a_query_when_their_aggregator_regions_match() -> None:
    keys = [ScopeKey(a, r, "ec2:instance") for a in (A, B, "333333333333") for r in ("eu-west-1", "us-east-1")]
    keys = [k for k in keys if not (k.account_id == B and k.region == "us-east-1")]  # B's us-east-1: member
    groups = aggregator_groups(keys, with_member={A, B})
    assert [(sorted({k.account_id for k in ks}), regions) for ks, regions in groups] == [
        (["333333333333"], ()), ([B], ("eu-west-1",)), ([A], ("eu-west-1", "us-east-1"))]


def member_views(*accounts: str) -> dict[tuple[str, str], ViewInfo]:
    return {(a, r): ViewInfo(f"arn:aws:resource-explorer-2:{r}:{a}:view/default/1", r, f"arn:aws:iam::{a}:root",
                             True, "") for a in accounts for r in ("us-east-1", "eu-west-1")}


def sources_by_area(items: list[WorkItem | ExplorerQuery]) -> dict[tuple[str, str], str]:
    return {(k.account_id, k.region): i.source for i in items for k in i.keys if k.region != "global"}


def test_small_areas_leave_the_aggregator_once_it_has_a_backlog() -> None:
    cov = coverage(member_views=member_views(A, B), counts={(a, r): 200 for a in (A, B)
                                                            for r in ("us-east-1", "eu-west-1")})
    idle = AggregatorBacklog()
    assert set(sources_by_area(plan(cov, backlog=idle)).values()) == {"explorer-aggregator"}
    assert idle.pages == 1  # booked for the next batch: one query of 800 resources, one whole call
    busy = AggregatorBacklog(pages=30)  # ten seconds of queue at 3 calls/s
    assert set(sources_by_area(plan(cov, backlog=busy)).values()) == {"explorer-member"}
    assert busy.pages == 30


def test_the_backlog_drains_at_the_quota_while_discovery_goes_on() -> None:
    backlog = AggregatorBacklog(pages=30)
    backlog.drain_to(100.0)
    assert backlog.pages == 30  # the first reading only sets the clock
    backlog.drain_to(104.0)
    assert backlog.pages == pytest.approx(18)
    backlog.drain_to(200.0)
    assert backlog.pages == 0


def test_forced_explorer_keeps_everything_on_the_aggregator_view() -> None:
    cov = coverage(member_views=member_views(A, B), counts={(B, "eu-west-1"): 50_000})
    areas = sources_by_area(plan(cov, source="explorer", backlog=AggregatorBacklog(pages=1_000)))
    assert set(areas.values()) == {"explorer-aggregator"}
    assert sources_by_area(plan(cov, source="auto"))[(B, "eu-west-1")] == "explorer-member"
    # without a usable aggregator view, forced explorer still uses the member views
    areas = sources_by_area(plan(coverage(member_views=member_views(A, B), wide_view=None), source="explorer"))
    assert set(areas.values()) == {"explorer-member"}


def test_a_member_view_without_tags_is_not_used() -> None:
    member = ViewInfo("arn:v", "eu-west-1", f"arn:aws:iam::{B}:root", False, "")
    cov = coverage(member_views={(B, "eu-west-1"): member}, counts={(B, "eu-west-1"): 50_000})
    assert by_key(plan(cov))[ScopeKey(B, "eu-west-1", "ec2:instance")].source == "explorer-aggregator"


async def test_queue_rotates_across_accounts_and_ends_when_closed() -> None:
    queue = RoundRobinQueue()
    items = [WorkItem(ScopeKey(a, r, "ec2:instance"), "services", r, "x")
             for a, regions in ((A, ("r1", "r2", "r3")), (B, ("r1",))) for r in regions]
    await queue.put(items)
    await queue.close()
    got = []
    while (item := await queue.get()) is not None:
        got.append(item)
    assert [i.key.account_id for i in got] == [A, B, A, A]
    assert set(got) == set(items)


def test_a_view_without_tags_lists_through_explorer_with_tagging_where_that_is_cheaper() -> None:
    bare = ViewInfo(ORG_VIEW.arn, "us-east-1", ORG_VIEW.scope, False, "")
    accounts = [AccountPlanInput(a, ("eu-west-1",)) for a in (A, B)]
    cov = coverage(wide_view=bare, supported_types=frozenset({"ec2:instance", "lambda:function"}))
    items = by_key(plan_account_batch(accounts, resource_types=("ec2:instance", "lambda:function"), global_types=(),
                                      home_region="us-east-1", coverage=cov, source="auto", previous_counts={}))
    lam = items[ScopeKey(A, "eu-west-1", "lambda:function")]
    assert isinstance(lam, ExplorerQuery) and lam.tags_from == "tagging" and "Tagging API" in lam.reason
    ec2 = items[ScopeKey(A, "eu-west-1", "ec2:instance")]
    assert isinstance(ec2, WorkItem) and "tags with the listing" in ec2.reason
    # A member view with tags wins over the bare aggregator view for its account x region.
    tagged = ViewInfo(f"arn:aws:resource-explorer-2:eu-west-1:{B}:view/default/1", "eu-west-1",
                      f"arn:aws:iam::{B}:root", True, "")
    cov = coverage(wide_view=bare, member_views={(B, "eu-west-1"): tagged},
                   supported_types=frozenset({"ec2:instance", "lambda:function"}))
    items = by_key(plan_account_batch(accounts, resource_types=("ec2:instance", "lambda:function"), global_types=(),
                                      home_region="us-east-1", coverage=cov, source="auto", previous_counts={}))
    member = items[ScopeKey(B, "eu-west-1", "ec2:instance")]
    assert isinstance(member, ExplorerQuery) and member.source == "explorer-member" and member.tags_from == "view"


def test_booking_counts_each_aggregator_area_once_and_nothing_else() -> None:
    cov = coverage(counts={(A, "eu-west-1"): 1_000, (B, "eu-west-1"): 250})
    items = plan(cov, backlog=AggregatorBacklog(pages=1_000))  # busy: no member views here anyway
    fresh = AggregatorBacklog()
    book_aggregator(fresh, items, cov, {(A, "us-east-1"): 500})
    assert fresh.pages == 2  # 1,750 resources in one query: two whole calls
    fresh = AggregatorBacklog()
    book_aggregator(fresh, [i for i in items if not isinstance(i, ExplorerQuery)], cov, {})
    assert fresh.pages == 0
