"""Ask Resource Explorer what it covers: read-only calls, recorded as a Coverage.

Management side once (aggregator index, trusted access, organization-wide views, supported
types), then per account as discovery hands it over: each member index's type and state
(GetIndex in every region), member default views and a cheap count.

Member indexes are asked in the members themselves, on their own quotas and all at once, not
with ListIndexesForMembers: that takes 10 accounts and answers 10 indexes a page, on the
aggregator's quota of 3 calls/s that its ListResources pages need. On org-2000 that was 723
calls (246 s of that quota) and planning fell minutes behind the Organizations walk.
`orgsync doctor` still uses it for accounts it cannot enter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from sync.aws.errors import ErrorClass, classify, error_code
from sync.aws.stats import CallStats
from sync.explorer.coverage import ORG_SCOPE_MARK, Coverage, IndexInfo, ViewInfo

Call = Callable[[str, str, str, dict[str, Any]], Awaitable[dict[str, Any]]]  # (account, region, op, params)
EXPLORER_TYPES_PAGE = 1000


async def _pages(call: Call, account: str, region: str, op: str, params: dict[str, Any], key: str) -> list[Any]:
    out: list[Any] = []
    params = dict(params)
    while True:
        page = await call(account, region, op, params)
        out.extend(page.get(key) or ())
        token = page.get("NextToken")
        if not token:
            return out
        params["NextToken"] = token


def _view(raw: dict[str, Any], region: str) -> ViewInfo:
    props = raw.get("IncludedProperties") or []
    return ViewInfo(
        arn=str(raw["ViewArn"]),
        region=region,
        scope=str(raw.get("Scope") or ""),
        has_tags=any(p.get("Name") == "tags" for p in props),
        filter_string=str((raw.get("Filters") or {}).get("FilterString") or ""),
    )


def _denied(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and classify(exc).kind is ErrorClass.SKIP


async def probe_home(call: Call, account: str, home_region: str, coverage: Coverage, *, organization: bool) -> None:
    """The aggregator index of `account`, its views, and what the index supports."""
    try:
        indexes = await _pages(call, account, home_region, "ListIndexes", {}, "Indexes")
    except Exception as exc:
        coverage.problems.append(f"resource-explorer-2:ListIndexes: {error_code(exc)}: {exc}")
        if _denied(exc):
            return
        raise
    for raw in indexes:
        coverage.indexes[(account, raw["Region"])] = IndexInfo(account, raw["Region"], raw["Type"], None)
        if raw["Type"] == "AGGREGATOR":
            coverage.aggregator_region = raw["Region"]
    coverage.aggregator_account = account
    if coverage.aggregator_region is None:
        coverage.problems.append(f"no aggregator index in account {account}: Resource Explorer cannot search "
                                 "across regions (create one, or make an existing index the aggregator)")
        return
    region = coverage.aggregator_region
    if organization:
        try:
            config = await call(account, region, "GetAccountLevelServiceConfiguration", {})
            status = (config.get("OrgConfiguration") or {}).get("AWSServiceAccessStatus")
            coverage.trusted_access = status == "ENABLED"
        except Exception as exc:
            if not _denied(exc):
                raise
            coverage.problems.append(f"GetAccountLevelServiceConfiguration: {error_code(exc)}")
        if coverage.trusted_access is False:
            coverage.problems.append("trusted access for Resource Explorer is not enabled in Organizations")
    view_arns = await _pages(call, account, region, "ListViews", {}, "Views")
    views: list[ViewInfo] = []
    for start in range(0, len(view_arns), 20):
        got = await call(account, region, "BatchGetView", {"ViewArns": view_arns[start:start + 20]})
        views.extend(_view(v, region) for v in got.get("Views") or ())
    default = (await call(account, region, "GetDefaultView", {})).get("ViewArn")
    # A view without the tags property still lists completely; the planner then takes the tags
    # from the Tagging API or the service APIs. One with tags is preferred.
    wide = [v for v in views if (ORG_SCOPE_MARK in v.scope) == organization and v.complete]
    wide.sort(key=lambda v: (not v.has_tags, v.arn != default, v.arn))
    coverage.wide_view = wide[0] if wide else None
    if coverage.wide_view is not None and not coverage.wide_view.has_tags:
        coverage.problems.append(f"the {'organization' if organization else 'account'}-wide view "
                                 f"{coverage.wide_view.arn} has no tags property: tags come from the Tagging "
                                 "API or the service APIs (add `tags` to its included properties)")
    if coverage.wide_view is None:
        kind = "organization-wide" if organization else "account-wide"
        reasons = [f"{v.arn}: has a filter" for v in views if (ORG_SCOPE_MARK in v.scope) == organization]
        coverage.problems.append(f"no usable {kind} view (one without a filter) in {region}"
                                 + (f" ({'; '.join(reasons)})" if reasons else ""))
    types = await _pages(call, account, region, "ListSupportedResourceTypes",
                         {"MaxResults": EXPLORER_TYPES_PAGE}, "ResourceTypes")
    coverage.supported_types = frozenset(str(t["ResourceType"]) for t in types)


async def probe_account_regions(call: Call, account: str, regions: Sequence[str], coverage: Coverage,
                                *, member_views: bool, regional_types: Sequence[str],
                                every_region: bool = False) -> None:
    """State of each index of `account` (GetIndex), and its default views when they may be used.

    `every_region`: ask in each region, not only where an index is already known (an
    organization's member accounts, whose indexes no earlier call listed).
    """

    async def one(region: str) -> None:
        known = coverage.index(account, region)
        if known is None and not every_region:
            return
        try:
            got = await call(account, region, "GetIndex", {})
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                coverage.indexes.pop((account, region), None)
                return
            if not _denied(exc):
                raise
            coverage.indexes[(account, region)] = IndexInfo(account, region, known.kind if known else "UNKNOWN",
                                                            f"unknown ({error_code(exc)})")
            return
        kind = str(got.get("Type") or (known.kind if known else "LOCAL"))
        coverage.indexes[(account, region)] = IndexInfo(account, region, kind, str(got.get("State") or "UNKNOWN"))
        if not member_views or got.get("State") != "ACTIVE":
            return
        try:
            arn = (await call(account, region, "GetDefaultView", {})).get("ViewArn")
            if not arn:
                return
            view = _view((await call(account, region, "GetView", {"ViewArn": arn}))["View"], region)
        except Exception as exc:
            if _denied(exc) or error_code(exc) in ("ResourceNotFoundException", "UnauthorizedException"):
                return
            raise
        if view.scope != f"arn:aws:iam::{account}:root" and not view.scope.endswith(f":{account}:root"):
            return  # e.g. the management account's default view is the organization-wide one
        coverage.member_views[(account, region)] = view
        if view.complete and (account, region) not in coverage.counts:
            # Only the regional types this sync lists (S3 buckets are listed per account).
            types = " ".join(f"resourcetype:{t}" for t in sorted(regional_types) if t in coverage.supported_types)
            if not types:
                return
            query = f"region:{region} {types}"
            found = await call(account, region, "Search", {"QueryString": query, "MaxResults": 1, "ViewArn": arn})
            total = (found.get("Count") or {}).get("TotalResources")
            if total is not None:
                coverage.counts[(account, region)] = int(total)

    async with asyncio.TaskGroup() as group:
        for region in regions:
            group.create_task(one(region))


def stats_call(caller_for: Callable[[str, str], Awaitable[Any]], stats: CallStats) -> Call:
    async def call(account: str, region: str, op: str, params: dict[str, Any]) -> dict[str, Any]:
        caller = await caller_for(account, region)
        return await caller.call(op, params, stats)  # type: ignore[no-any-return]

    return call
