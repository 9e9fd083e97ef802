"""List one ExplorerQuery: ListResources page by page, results split into their scopes.

ListResources, never Search (Search stops at the first 1,000 matches). Page size 500: the API
returns no NextToken when MaxResults is 1000. Loop until NextToken is null.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sync.aws.calls import ApiCaller
from sync.aws.stats import CallStats
from sync.batches import BatchBuilder
from sync.explorer.normalize import normalize_explorer
from sync.explorer.planner import PAGE_SIZE
from sync.plan import ExplorerQuery, ScopeKey
from sync.sources.model import GLOBAL_REGION, Resource


AreaKey = tuple[str, str, str]  # (account, scope region, type): a ScopeKey's fields, cheap per item


def add_page(items: Iterable[Mapping[str, Any]], wanted: Collection[AreaKey], builder: BatchBuilder,
             counts: dict[AreaKey, int], global_types: frozenset[str]) -> None:
    """Normalize one page into `builder`, counting per scope; items of other scopes are dropped.

    Runs once per resource: plain tuples as keys, one extend per scope per page.
    """
    groups: dict[AreaKey, list[Resource]] = {}
    for item in items:
        resource_type = item["ResourceType"]
        region = GLOBAL_REGION if resource_type in global_types else (item.get("Region") or GLOBAL_REGION)
        key = (item["OwningAccountId"], region, resource_type)
        if key in wanted:  # outside this query's scopes: another item lists it
            groups.setdefault(key, []).append(normalize_explorer(item))
    for key, resources in groups.items():
        builder.extend(resources, scope_region=key[1])
        counts[key] = counts.get(key, 0) + len(resources)


async def list_query(
    query: ExplorerQuery,
    caller: ApiCaller,
    stats: CallStats,
    *,
    global_types: frozenset[str],
    owner_tag_key: str | None,
) -> tuple[BatchBuilder, dict[ScopeKey, int]]:
    """All rows of the query in one builder, and the number of resources per scope."""
    builder = BatchBuilder(source=query.source, scope_region=None, owner_tag_key=owner_tag_key)
    wanted = {(k.account_id, k.region, k.resource_type): k for k in query.keys}
    counts: dict[AreaKey, int] = {}
    params: dict[str, Any] = {"ViewArn": query.view_arn, "MaxResults": PAGE_SIZE,
                              "Filters": {"FilterString": query.filter_string}}
    while True:
        page = await caller.call("ListResources", params, stats)
        stats.pages += 1
        add_page(page.get("Resources") or (), wanted, builder, counts, global_types)
        token = page.get("NextToken")
        if not token:
            return builder, {key: counts.get(area, 0) for area, key in wanted.items()}
        params["NextToken"] = token
