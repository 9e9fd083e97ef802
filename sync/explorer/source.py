"""List one ExplorerQuery: ListResources page by page, results split into their scopes.

ListResources, never Search (Search stops at the first 1,000 matches). Page size 500: the API
returns no NextToken when MaxResults is 1000. Loop until NextToken is null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.aws.calls import ApiCaller
from sync.aws.stats import CallStats
from sync.batches import BatchBuilder
from sync.explorer.normalize import normalize_explorer
from sync.explorer.planner import PAGE_SIZE
from sync.plan import ExplorerQuery, ScopeKey
from sync.sources.model import GLOBAL_REGION


def scope_key_of(item: Mapping[str, Any], global_types: frozenset[str]) -> ScopeKey:
    resource_type = str(item["ResourceType"])
    region = GLOBAL_REGION if resource_type in global_types else str(item.get("Region") or GLOBAL_REGION)
    return ScopeKey(str(item["OwningAccountId"]), region, resource_type)


async def list_query(
    query: ExplorerQuery,
    caller: ApiCaller,
    stats: CallStats,
    *,
    global_types: frozenset[str],
    owner_tag_key: str | None,
) -> dict[ScopeKey, BatchBuilder]:
    builders = {
        key: BatchBuilder(source=query.source, scope_region=key.region, owner_tag_key=owner_tag_key)
        for key in query.keys
    }
    params: dict[str, Any] = {"ViewArn": query.view_arn, "MaxResults": PAGE_SIZE,
                              "Filters": {"FilterString": query.filter_string}}
    while True:
        page = await caller.call("ListResources", params, stats)
        stats.pages += 1
        for item in page.get("Resources") or ():
            builder = builders.get(scope_key_of(item, global_types))
            if builder is not None:  # outside this query's scopes: another item lists it
                builder.extend((normalize_explorer(item),))
        token = page.get("NextToken")
        if not token:
            return builders
        params["NextToken"] = token
