"""Choose, for every scope, Resource Explorer or the service API, and say why. Pure, no I/O.

The cost model follows the quotas: a view answers 3 ListResources calls/s per account per region
(not raisable), so the single aggregator view is one queue for the whole organization, while
every member's own default view is a queue of its own. `auto` sends each account x region to the
queue that finishes it sooner: an account x region of a page or more always goes to its member
view (no more calls than on the aggregator, and in parallel), and when it is large the types whose
own listing pages faster with tags (EC2, Secrets Manager) run beside it; a smaller one goes there when the
aggregator's backlog would finish it later than a query of its own (its page plus the fixed cost
of one more client and round trip). So small account x regions ride on the aggregator, many per
query (filters OR the same prefix), as long as it keeps up with what discovery hands over.
`explorer` forces Resource Explorer through the organization's aggregator view alone (member
views only where there is no usable aggregator view): the single-query plan auto is measured
against.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from sync.aws.limits import limit_for
from sync.explorer.coverage import Coverage, ViewInfo
from sync.plan import ExplorerQuery, ScopeKey, WorkItem
from sync.sources.model import GLOBAL_REGION
from sync.sources.registry import spec_for

# The largest page that pages: at MaxResults=1000 ListResources returns no NextToken. Every call
# counts against a view's 3 calls/s, so a page half this size doubles the time a view takes.
PAGE_SIZE = 999
CALLS_PER_SECOND = 3.0  # ListResources quota per account per region, not raisable
# What one more member-view query costs beyond its pages: a client for that account x region and
# a first round trip, about one call's worth of time at the quota.
MEMBER_QUERY_OVERHEAD_S = 1 / CALLS_PER_SECOND
# A member view's area this large (~3 s of its pages) lists the types whose own API is faster
# apart (`outpaces_views`); below it the view is done about as soon, and each split costs a call.
SPLIT_AT_PAGES = 10
NO_TAGS_IN_EXPLORER = frozenset({"iam"})  # Resource Explorer never indexes IAM tags
TAGGING_PAGE = 100  # GetResources returns at most 100 resources with their tags a call
# "The GetResources operation does not currently support IAM users and roles"
# (https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/supported-services.html);
# it does serve IAM's customer managed policies, in us-east-1 (Cloud Custodian reads their tags
# there too). Users and roles need no tag call anyway: authorization details carry their tags.
NOT_IN_TAGGING_API = frozenset({"iam:role", "iam:user"})
SOURCES = ("auto", "explorer", "services")


@dataclass
class AggregatorBacklog:
    """Pages planned on the aggregator view and not yet drained (kept across account batches).

    The caller moves the clock (`drain_to`): accounts arrive over the whole Organizations walk,
    and meanwhile the aggregator works its queue off at its quota.
    """

    pages: float = 0.0
    clock: float | None = None

    def drain_to(self, now: float) -> None:
        if self.clock is not None:
            self.pages = max(0.0, self.pages - (now - self.clock) * CALLS_PER_SECOND)
        self.clock = now

    def seconds_with(self, resources: int) -> float:
        return (self.pages + resources / PAGE_SIZE) / CALLS_PER_SECOND


def book_aggregator(backlog: AggregatorBacklog, items: Sequence[WorkItem | ExplorerQuery], coverage: Coverage,
                    previous_counts: Mapping[tuple[str, str], int]) -> None:
    """Add the pages of the aggregator queries in `items` to `backlog` (each area counted once)."""
    queries = [i for i in items if isinstance(i, ExplorerQuery) and i.source == "explorer-aggregator"]
    backlog.pages += sum(query_pages(q, coverage, previous_counts) for q in queries)


def query_pages(query: ExplorerQuery, coverage: Coverage, previous_counts: Mapping[tuple[str, str], int]) -> int:
    """Calls a query costs: its areas' resources in whole pages, and at least one."""
    areas = {(k.account_id, k.region) for k in query.keys}
    return max(1, -(-sum(coverage.counts.get(a, previous_counts.get(a, 0)) for a in areas) // PAGE_SIZE))


def member_seconds(resources: int) -> float:
    return max(1, -(-resources // PAGE_SIZE)) / CALLS_PER_SECOND + MEMBER_QUERY_OVERHEAD_S


@dataclass(frozen=True)
class AccountPlanInput:
    account_id: str
    regions: tuple[str, ...]


def outpaces_views(resource_type: str) -> str | None:
    """Why a type's own listing beats its share of a member view, or None.

    A view pages 999 resources at 3 calls/s for all the types of its account x region together.
    A service API whose listing carries the tags and pages at least as many resources a second
    on a quota of its own runs beside the view, and the view's pages shrink by that type's share:
    EC2 pages 1,000 instances at 20/s, Secrets Manager 100 secrets at 50/s. The calls are about
    as many either way (a page of each), so only the wait changes.
    """
    spec = spec_for(resource_type)
    if spec.is_global or spec.describe is not None or spec.tags is not None:
        return None
    rate = limit_for(spec.service, spec.list_operation).rate
    if spec.page_size * rate < PAGE_SIZE * CALLS_PER_SECOND:
        return None
    return (f"{spec.list_operation} lists {spec.page_size:,} a call with their tags at {rate:g} calls/s, "
            f"beside the member view, whose pages then hold the other types only")


def _services(key: ScopeKey, home_region: str, reason: str) -> WorkItem:
    api_region = home_region if key.region == GLOBAL_REGION else key.region
    return WorkItem(key, "services", api_region, reason)


def _filter(prefix: str, values: Collection[str]) -> str:
    return " ".join(f"{prefix}:{v}" for v in sorted(values))


def _explorer_reason(key: ScopeKey, coverage: Coverage) -> str | None:
    """None when Resource Explorer can prove this scope complete; else why not."""
    # The first two answers never depend on the probe: the work planner queues these scopes
    # before probing (sync/work.py).
    service = key.resource_type.split(":", 1)[0]
    if service in NO_TAGS_IN_EXPLORER:
        return "Resource Explorer does not index IAM tags: listed through IAM"
    if key.region == GLOBAL_REGION:
        # A bucket can live in any region, and an index that lags in one region hides its buckets
        # without a sign (the other regions still answer): only ListBuckets proves the list whole.
        return "S3 buckets can be in any region; ListBuckets is the only complete list"
    if key.resource_type not in coverage.supported_types:
        return "resource type not supported by the Resource Explorer index"
    return _index_reason(key.account_id, key.region, coverage)


def _index_reason(account_id: str, region: str, coverage: Coverage) -> str | None:
    index = coverage.index(account_id, region)
    if index is None:
        return f"no Resource Explorer index in {account_id} {region}"
    if index.state != "ACTIVE":
        return f"Resource Explorer index in {region} is {index.state}: still indexing"
    return None


def _view_for(
    area: tuple[str, str], member_ok: bool, wide_ok: bool, source: str, coverage: Coverage,
    previous_counts: Mapping[tuple[str, str], int], backlog: AggregatorBacklog,
) -> str:
    """"member", "aggregator" or "none" for one account x region; books the aggregator's pages."""
    # The probe's fresh count first (the same every run for the same data, so the choice does
    # not flap between syncs), the last sync's count when the probe had none.
    estimate = coverage.counts.get(area, previous_counts.get(area, 0))
    # A full page costs its member view no more calls than the aggregator would spend on it, and
    # runs in parallel; a smaller area goes there only when the aggregator's queue is longer.
    if member_ok and (not wide_ok or (source == "auto" and (
            estimate >= PAGE_SIZE or member_seconds(estimate) < backlog.seconds_with(estimate)))):
        return "member"
    if wide_ok:
        backlog.pages += estimate / PAGE_SIZE
        return "aggregator"
    return "member" if member_ok else "none"


def tags_without_view(resource_type: str) -> str | None:
    """None: take the tags of a view without the tags property from the Tagging API; else why
    the type's service API is the cheaper source (it returns tags with the listing).

    Per resource, the Tagging API costs 1/100 of a call on top of Resource Explorer's 1/999; the
    service API costs its list page share plus one call per resource for each describe or tag
    call the spec makes. Any per-item call makes the Tagging API cheaper; without one, the
    service API's listing alone carries the tags.
    """
    spec = spec_for(resource_type)
    per_item = [c.operation for c in (spec.describe, spec.tags) if c is not None]
    if per_item:
        return None
    return (f"the view has no tags property, and {spec.list_operation} returns {resource_type} tags with the "
            f"listing: cheaper than the Tagging API ({TAGGING_PAGE} a call) on top of Resource Explorer")


def tags_by_cost(item: WorkItem) -> WorkItem:
    """A scope listed through its service API takes its tags from the Tagging API when the API
    would need one call per resource for them (Lambda `ListTags`, DynamoDB `ListTagsOfResource`,
    S3 `GetBucketTagging`, IAM `ListPolicyTags`).

    GetResources answers 100 resources with their tags a call for a whole account x region (for
    IAM's global policies, in us-east-1), so it costs no more than the per-resource calls from two
    resources on, and an empty listing asks it nothing. On org-2000 the largest account x region
    held 15,052 buckets: 301 s of S3's 50/s in `GetBucketTagging` calls, against 151 GetResources
    calls; an account at IAM's quota of 5,000 policies spent 250 s of IAM's 20/s in
    `ListPolicyTags`, against 50 GetResources calls.
    """
    spec = spec_for(item.key.resource_type)
    if spec.tags is None or item.key.resource_type in NOT_IN_TAGGING_API:
        return item
    return dataclasses.replace(item, tags_from="tagging", reason=(
        f"{item.reason}; tags from the Tagging API (GetResources, {TAGGING_PAGE} a call), not one "
        f"{spec.tags.operation} call per resource"))


def _with_tags(member: ViewInfo | None, wide: ViewInfo | None, chosen: str) -> str:
    """Prefer the view that carries tags when the queue choice fell on one that does not."""
    if chosen == "member" and member is not None and not member.has_tags and wide is not None and wide.usable:
        return "aggregator"
    if chosen == "aggregator" and wide is not None and not wide.has_tags and member is not None and member.usable:
        return "member"
    return chosen


def plan_account_batch(
    accounts: Sequence[AccountPlanInput],
    *,
    resource_types: Collection[str],
    global_types: Collection[str],
    home_region: str,
    coverage: Coverage,
    source: str,
    previous_counts: Mapping[tuple[str, str], int],
    services_reason: str = "forced by --source services",
    backlog: AggregatorBacklog | None = None,
    choose_tag_source: bool = False,
) -> list[WorkItem | ExplorerQuery]:
    """Work items for a batch of accounts (discovery hands them over ten at a time).

    `source` "services" lists everything through the service APIs, for `services_reason`.
    `backlog` carries the aggregator's planned pages from batch to batch (updated in place).
    `choose_tag_source` (auto mode, with or without Resource Explorer) lets service-listed
    scopes take their tags from the cheaper source (`tags_by_cost`); forced modes keep the
    service APIs' own tag calls.
    """
    items: list[WorkItem | ExplorerQuery] = []
    aggregator_keys: list[ScopeKey] = []
    wide = coverage.wide_view
    backlog = backlog if backlog is not None else AggregatorBacklog()
    before = backlog.pages
    chosen: dict[tuple[str, str], str] = {}  # account x region -> "member" | "aggregator"
    for account in accounts:
        keys = [ScopeKey(account.account_id, GLOBAL_REGION, t) for t in sorted(resource_types) if t in global_types]
        keys += [ScopeKey(account.account_id, r, t) for r in account.regions for t in sorted(resource_types)
                 if t not in global_types]
        member_keys: dict[str, list[ScopeKey]] = {}
        tagged_member_keys: dict[str, list[ScopeKey]] = {}
        for key in keys:
            if source == "services":
                items.append(_services(key, home_region, services_reason))
                continue
            why_not = _explorer_reason(key, coverage)
            if why_not:
                items.append(_services(key, home_region, why_not))
                continue
            member = coverage.member_views.get((key.account_id, key.region))
            member_ok = member is not None and member.complete and key.region != GLOBAL_REGION
            area = (key.account_id, key.region)
            if area not in chosen:
                view = _view_for(area, member_ok, wide is not None and wide.complete, source, coverage,
                                 previous_counts, backlog)
                chosen[area] = _with_tags(member if member_ok else None, wide, view)
            view_info = member if chosen[area] == "member" else wide if chosen[area] == "aggregator" else None
            if view_info is None:
                items.append(_services(key, home_region, "no usable Resource Explorer view (one without a filter)"))
                continue
            if not view_info.has_tags and (why := tags_without_view(key.resource_type)):
                items.append(_services(key, home_region, why))
                continue
            if chosen[area] == "member":
                big = coverage.counts.get(area, previous_counts.get(area, 0)) >= SPLIT_AT_PAGES * PAGE_SIZE
                if source == "auto" and big and (faster := outpaces_views(key.resource_type)):
                    items.append(_services(key, home_region, faster))
                    continue
                (member_keys if view_info.has_tags else tagged_member_keys).setdefault(key.region, []).append(key)
            else:
                aggregator_keys.append(key)
        for tags_from, by_region in (("view", member_keys), ("tagging", tagged_member_keys)):
            for region, region_keys in sorted(by_region.items()):
                view = coverage.member_views[(account.account_id, region)]
                types = {k.resource_type for k in region_keys}
                items.append(ExplorerQuery(
                    keys=tuple(region_keys), source="explorer-member", account_id=account.account_id, region=region,
                    view_arn=view.arn, filter_string=f"region:{region} {_filter('resourcetype', types)}",
                    reason="member default view: its own quota finishes this account x region before the "
                           "aggregator's queue would" + _TAGGING_NOTE[tags_from],
                    tags_from=tags_from,
                ))
    if aggregator_keys and wide is not None and coverage.aggregator_account and coverage.aggregator_region:
        tags_from = "view" if wide.has_tags else "tagging"
        with_member = {account for (account, _), view in chosen.items() if view == "member"}
        for keys, regions in aggregator_groups(aggregator_keys, with_member):
            where = f"{_filter('region', regions)} " if regions else ""
            items.append(ExplorerQuery(
                keys=keys, source="explorer-aggregator", account_id=coverage.aggregator_account,
                region=coverage.aggregator_region, view_arn=wide.arn,
                filter_string=(f"{where}{_filter('accountid', {k.account_id for k in keys})} "
                               f"{_filter('resourcetype', {k.resource_type for k in keys})}"),
                reason="aggregator view: ACTIVE index replicating to the aggregator" + _TAGGING_NOTE[tags_from],
                tags_from=tags_from,
            ))
        # `_view_for` booked each area's share of a page while choosing; a query costs whole
        # calls, at least one (org-2000: 419 aggregator queries made 771 pages for 219,144
        # resources, and the booked backlog, a third of that, kept sending small areas to a queue
        # 140 s behind). The batch's queries replace those shares.
        backlog.pages = before
        book_aggregator(backlog, items, coverage, previous_counts)
    if choose_tag_source:
        items = [tags_by_cost(i) if isinstance(i, WorkItem) else i for i in items]
    return items


def aggregator_groups(keys: Sequence[ScopeKey], with_member: Collection[str],
                      ) -> list[tuple[tuple[ScopeKey, ...], tuple[str, ...]]]:
    """The aggregator's queries for a batch: (keys, region filter) each, listing only the keys.

    Filters OR one prefix's values and AND the prefixes, so `accountid:` alone lists every region
    of those accounts. That is exact for an account whose areas are all on the aggregator; one
    with an area on its member view would pull that area's pages through the aggregator's single
    quota only to drop them (on org-2000 the largest account's four member areas held 444,585
    resources). Such accounts are asked with the regions they have here, grouped by the same set.
    """
    whole = tuple(k for k in keys if k.account_id not in with_member)
    by_account: dict[str, list[ScopeKey]] = {}
    for key in keys:
        if key.account_id in with_member:
            by_account.setdefault(key.account_id, []).append(key)
    by_regions: dict[tuple[str, ...], list[ScopeKey]] = {}
    for account_keys in by_account.values():
        by_regions.setdefault(tuple(sorted({k.region for k in account_keys})), []).extend(account_keys)
    return ([(whole, ())] if whole else []) + [(tuple(ks), regions) for regions, ks in sorted(by_regions.items())]


_TAGGING_NOTE = {
    "view": "; the view includes tags",
    "tagging": "; the view has no tags property: tags from the Tagging API (GetResources, 100 a call), cheaper "
               "than the service API's per-resource calls for these types",
}
