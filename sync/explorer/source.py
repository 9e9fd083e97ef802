"""List one ExplorerQuery: ListResources page by page, results split into their scopes.

ListResources, never Search (Search stops at the first 1,000 matches). Page size 999 (PAGE_SIZE):
the API returns no NextToken when MaxResults is 1000. Loop until NextToken is null.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

from sync.aws.calls import ApiCaller
from sync.aws.stats import CallStats
from sync.batches import BatchBuilder, Columns
from sync.explorer.normalize import AreaKey, normalize_page
from sync.explorer.planner import PAGE_SIZE
from sync.explorer.raw import decoding_with, parse_body
from sync.plan import ExplorerQuery, ScopeKey

PageRows = tuple[Columns, dict[AreaKey, int]]
_ROWS = "orgsync.rows"  # a decoded page's normalized rows; no AWS field is spelled like this


@contextmanager
def _gc_paused() -> Iterator[None]:
    # A parsed page is ~4 GC-tracked containers per resource. Collected while alive, its objects
    # are traversed and promoted towards the old generation, whose full collections then walk
    # the whole heap: measured at a third of the CPU of parse + normalize. Parsed, normalized and
    # freed with the collector paused, no collection ever sees them. Nothing here makes cycles.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def decode_page(payload: bytes, wanted: Collection[AreaKey], global_types: Collection[str],
                owner_tag_key: str | None) -> dict[str, Any]:
    """A ListResources body -> its NextToken and normalized rows, in one synchronous step."""
    with _gc_paused():
        page = parse_body(payload)
        rows = normalize_page(page.get("Resources") or (), wanted, global_types, owner_tag_key)
        token = page.get("NextToken")
        del page  # freed before the collector resumes
    return {"NextToken": token, _ROWS: rows}


def _add(rows: PageRows, builder: BatchBuilder, counts: dict[AreaKey, int]) -> None:
    columns, page_counts = rows
    builder.extend_columns(columns)
    for key, n in page_counts.items():
        counts[key] = counts.get(key, 0) + n


def add_page(items: Iterable[Mapping[str, Any]], wanted: Collection[AreaKey], builder: BatchBuilder,
             counts: dict[AreaKey, int], global_types: frozenset[str]) -> None:
    """Normalize one page's parsed items into `builder`, counting per scope; other scopes' items are dropped."""
    _add(normalize_page(items, wanted, global_types, builder.owner_tag_key), builder, counts)


def add_answer(page: Mapping[str, Any], wanted: Collection[AreaKey], builder: BatchBuilder,
               counts: dict[AreaKey, int], global_types: frozenset[str]) -> None:
    """A ListResources answer into `builder`: decode_page's, or a body parsed by a client that
    ignores decoding_with (a botocore client)."""
    rows: PageRows | None = page.get(_ROWS)
    if rows is None:
        add_page(page.get("Resources") or (), wanted, builder, counts, global_types)
    else:
        _add(rows, builder, counts)


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
    decoder = partial(decode_page, wanted=wanted, global_types=global_types, owner_tag_key=owner_tag_key)
    while True:
        with decoding_with(decoder):
            page = await caller.call("ListResources", params, stats)
        stats.pages += 1
        add_answer(page, wanted, builder, counts, global_types)
        token = page.get("NextToken")
        if not token:
            return builder, {key: counts.get(area, 0) for area, key in wanted.items()}
        params["NextToken"] = token
