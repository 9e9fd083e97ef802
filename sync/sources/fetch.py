"""Run one ServiceSpec over one scope (account x region x type), page by page.

Pagination follows botocore's paginator model for the list operation, page by page, so that a
failed page is retried on its own rather than restarting the listing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from functools import cache
from typing import Any

from botocore.exceptions import ClientError
from botocore.session import get_session

from sync.aws.calls import ApiCaller
from sync.aws.errors import error_code
from sync.aws.stats import CallStats
from sync.sources.model import Resource, ScopeContext
from sync.sources.spec import DescribeCall, Item, ItemCall, ServiceSpec, TagCall

# The resource went away between the list call and the per-item call: it is simply not there.
GONE_CODES = frozenset(
    {"ResourceNotFoundException", "NoSuchEntity", "NoSuchBucket", "NotFoundException", "InvalidInstanceID.NotFound"}
)

CallerFor = Callable[[str, str], Awaitable[ApiCaller]]  # (region, service) -> caller


@cache
def paginator_config(service: str, operation: str) -> Mapping[str, Any]:
    return get_session().get_paginator_model(service).get_paginator(operation)


class _Gone(Exception):
    pass


class _Unreadable(Exception):
    pass


async def _item_call(caller: ApiCaller, call: ItemCall, item: Item, stats: CallStats) -> Mapping[str, Any] | None:
    """None: AWS says there is nothing (e.g. NoSuchTagSet). _Gone: the resource disappeared.
    _Unreadable: a tag call AWS refused for a reason listed in its unreadable_on."""
    try:
        return await caller.call(call.operation, call.request(item), stats)
    except ClientError as exc:
        code = error_code(exc)
        if code in call.empty_on:
            return None
        if code in GONE_CODES:
            raise _Gone from exc
        if isinstance(call, TagCall) and code in call.unreadable_on:
            raise _Unreadable(code) from exc
        raise


async def _per_item(
    spec_call: ItemCall, items: list[Item], caller_for: CallerFor, ctx: ScopeContext, service: str, stats: CallStats
) -> list[Mapping[str, Any] | None | _Gone | _Unreadable]:
    async def one(item: Item) -> Mapping[str, Any] | None | _Gone | _Unreadable:
        caller = await caller_for(spec_call.region(item) or ctx.region, service)
        try:
            return await _item_call(caller, spec_call, item, stats)
        except (_Gone, _Unreadable) as outcome:
            return outcome

    # Concurrency is bounded by the limiter buckets inside ApiCaller, per account/region/service.
    return list(await asyncio.gather(*(one(item) for item in items)))


async def _described(
    describe: DescribeCall, items: list[Item], caller_for: CallerFor, ctx: ScopeContext, service: str, stats: CallStats
) -> list[Item]:
    needed = [item for item in items if describe.when(item)]
    responses = dict(zip(map(id, needed), await _per_item(describe, needed, caller_for, ctx, service, stats)))
    out: list[Item] = []
    for item in items:
        if id(item) not in responses:
            out.append(item)
            continue
        response = responses[id(item)]
        if response is not None and not isinstance(response, (_Gone, _Unreadable)):
            out.append(describe.extract(item, response))
    return out


async def _with_tags(
    tags: TagCall, pairs: list[tuple[Item, Resource]], caller_for: CallerFor, ctx: ScopeContext, service: str,
    stats: CallStats,
) -> list[Resource]:
    responses = await _per_item(tags, [item for item, _ in pairs], caller_for, ctx, service, stats)
    out: list[Resource] = []
    for (_, resource), response in zip(pairs, responses, strict=True):
        if isinstance(response, _Gone):
            continue
        if isinstance(response, _Unreadable):
            stats.unread_tags += 1
            out.append(resource._replace(tags=None))
            continue
        out.append(resource._replace(tags=tags.extract(response) if response is not None else {}))
    return out


def _page_items(spec: ServiceSpec, page: Mapping[str, Any], result_key: str | None) -> Iterable[Item]:
    if spec.items is not None:
        return spec.items(page)
    return page.get(result_key or "", None) or ()


def _next_token(cfg: Mapping[str, Any], page: Mapping[str, Any]) -> Any:
    """The token for the page after `page`, or None when it is the last (paginator model rules)."""
    if cfg.get("more_results") and not page.get(cfg["more_results"]):
        return None
    return page.get(cfg["output_token"]) or None


async def fetch_service_scope(
    spec: ServiceSpec, ctx: ScopeContext, caller_for: CallerFor, stats: CallStats
) -> AsyncIterator[list[Resource]]:
    """Yield the normalized resources of each page; raises on the first unrecoverable error.

    While a page's per-item calls run, the next page is already being listed: otherwise each
    page ends with the quota idle for a list call's round trip (traced on org-2000: ~1.2 s per
    page of IAM policies on a busy event loop, on the sync's critical path).
    """
    cfg = paginator_config(spec.service, spec.list_operation)
    caller = await caller_for(ctx.region, spec.service)
    params: dict[str, Any] = dict(spec.list_params)
    if spec.page_size and cfg.get("limit_key"):
        params[cfg["limit_key"]] = spec.page_size
    listing: asyncio.Task[dict[str, Any]] | None = asyncio.create_task(
        caller.call(spec.list_operation, dict(params), stats))
    try:
        while listing is not None:
            page = await listing
            listing = None
            stats.pages += 1
            if token := _next_token(cfg, page):
                params[cfg["input_token"]] = token
                listing = asyncio.create_task(caller.call(spec.list_operation, dict(params), stats))
            items = list(_page_items(spec, page, cfg.get("result_key")))
            if spec.describe is not None:
                items = await _described(spec.describe, items, caller_for, ctx, spec.service, stats)
            pairs = [(item, r) for item in items if (r := spec.normalize(item, ctx)) is not None]
            if spec.tags is not None:
                yield await _with_tags(spec.tags, pairs, caller_for, ctx, spec.service, stats)
            else:
                yield [r for _, r in pairs]
    finally:
        # The scope failed or was abandoned while a page was listed ahead: that page decides
        # nothing now (the error that ended the scope is the one reported).
        if listing is not None:
            listing.cancel()  # a no-op once it is done
            if listing.done() and not listing.cancelled():
                listing.exception()  # retrieved, so asyncio does not log it as never retrieved
