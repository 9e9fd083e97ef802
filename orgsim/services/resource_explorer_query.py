"""Resource Explorer ListResources and Search: the hot path of the simulator.

Pages are joined from string pieces: a per-scope template around each ARN and a per-tag-set
``Properties`` fragment serialized once with orjson, so a 1,000-resource page costs a few
milliseconds. Quirks kept on purpose: ListResources never returns a NextToken when MaxResults
is 1000; Search only ever reaches the first 1,000 matches and says so in ``Count``.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from typing import Any

import orjson

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.explorer import View
from orgsim.inventory import GLOBAL
from orgsim.refilter import Query, QueryError, parse
from orgsim.registry import operation
from orgsim.services.resource_explorer import bad_token, explorer, resolve_view
from orgsim.tags import TagSet
from orgsim.wire import decode_token, encode_token, iso

SEARCH_CAP = 1000  # Search never reaches past the first 1,000 matches
SCAN_BUDGET = 200_000  # resources examined per call before handing back a partial page
_REPORTED_BASE = 1_700_000_000


def _reported(gen: int) -> str:
    return iso(_REPORTED_BASE + gen * 3600)


def _queries(call: Call, view: View, text: str, keywords: bool) -> list[Query]:
    try:
        queries = [parse(text, keywords)]
        if view.filter:
            queries.append(parse(view.filter, keywords=False))
    except QueryError as exc:
        raise AwsError("ValidationException", str(exc)) from None
    return [q for q in queries if q]


class _Pager:
    """Walks a view's scopes from a cursor, rendering matching resources as JSON text."""

    def __init__(self, call: Call, view: View, queries: list[Query]) -> None:
        self.call = call
        self.view = view
        self.queries = queries
        self.inv = call.inv
        lag = call.world.scenario.explorer.mutation_lag
        self.gen = max(0, call.generation - lag)
        self.scopes = explorer(call).scopes(view, queries, self.gen)
        self.reported = _reported(self.gen)
        tags = call.world.tags
        self.tag_queries = [q for q in queries if q.tag_terms]
        self.text_queries = [q for q in queries if q.text_terms]
        self.mask: list[bool] | None = None
        if self.tag_queries:
            key = " & ".join(q.key for q in self.tag_queries)
            self.mask = tags.mask(key, lambda ts: all(q.tags_ok(ts) for q in self.tag_queries))
            self.untagged_ok = all(q.tags_ok(()) for q in self.tag_queries)
        reported = self.reported

        def props(ts: TagSet) -> str:
            if not ts:
                return "[]"
            data = [{"Key": k, "Value": v} for k, v in ts]
            return orjson.dumps(
                [{"Data": data, "LastReportedAt": reported, "Name": "tags"}]
            ).decode()

        self.props = tags.render(f"re-props:{reported}", props)

    def run(self, cursor: tuple[int, int], limit: int, budget: int) -> tuple[list[str], tuple[int, int] | None]:
        scopes = self.scopes
        inv = self.inv
        start_s, pos = cursor
        i = bisect_left(scopes, start_s) if start_s >= 0 else 0
        if i >= len(scopes) or scopes[i] != start_s:
            pos = 0
        out: list[str] = []
        scanned = 0
        with_tags = self.view.include_tags
        while i < len(scopes):
            s = scopes[i]
            info = inv.info(s)
            rt = info.rtype
            tags_indexed = with_tags and rt.tags_in_explorer
            mask = self.mask if tags_indexed else None
            if self.mask is not None and not tags_indexed and not self.untagged_ok:
                i += 1  # tags invisible to this view/type: a tag filter can never match here
                pos = 0
                continue
            props = self.props if tags_indexed else None
            region = GLOBAL if rt.is_global else info.region
            mid = (f'","LastReportedAt":"{self.reported}","OwningAccountId":"{info.account_id}",'
                   f'"Properties":')
            tail = f',"Region":"{region}","ResourceType":"{rt.rtype}","Service":"{rt.service}"}}'
            texts = self.text_queries
            for res in inv.scan(s, pos, self.gen):
                scanned += 1
                if (mask is None or mask[res.tagset]) and (
                    not texts or all(q.text_ok(res.arn) for q in texts)
                ):
                    if len(out) == limit:
                        return out, (s, res.pos)
                    out.append('{"Arn":"' + res.arn + mid
                               + (props[res.tagset] if props is not None else "[]") + tail)
                if budget and scanned >= budget:
                    return out, (s, res.pos + 1)
            i += 1
            pos = 0
        return out, None

    def count(self, cap: int) -> tuple[int, bool]:
        """Matches up to cap, and whether that is all of them."""
        items, more = self.run((-1, 0), cap, 0)
        return len(items), more is None


def _tag(kind: str, view: View, text: str) -> str:
    return f"{kind}{zlib.crc32((view.arn + '|' + text).encode()):x}"


def _body(items: list[str], extra: dict[str, Any]) -> bytes:
    head = orjson.dumps(extra)[:-1]  # the other members, then the pre-rendered list
    sep = b"," if len(head) > 1 else b""
    return head + sep + b'"Resources":[' + ",".join(items).encode() + b"]}"


@operation("resource-explorer-2", "ListResources", method="POST", path="/ListResources")
def list_resources(call: Call) -> bytes:
    view = resolve_view(call)
    filters = call.params.get("Filters") or {}
    text = str(filters.get("FilterString", "")) if isinstance(filters, dict) else ""
    limit = call.int_param("MaxResults", 100, 1, 1000)
    queries = _queries(call, view, text, keywords=False)
    tag = _tag("rl", view, text)
    cursor = (-1, 0)
    token = call.str_param("NextToken")
    if token:
        parts = decode_token(token, 3)
        if parts is None or parts[0] != tag:
            raise bad_token()
        cursor = (int(parts[1]), int(parts[2]))
    pager = _Pager(call, view, queries)
    # At 1000 there is no NextToken to resume from, so a partial page would silently lose data
    # that AWS would have returned: scan without a budget then.
    items, nxt = pager.run(cursor, limit, SCAN_BUDGET if limit < 1000 else 0)
    call.stats.items["resource-explorer-2:ListResources"] += len(items)
    extra: dict[str, Any] = {"ViewArn": view.arn}
    if nxt is not None and limit < 1000:  # documented: no NextToken when MaxResults is 1000
        extra["NextToken"] = encode_token(tag, *nxt)
    return _body(items, extra)


@operation("resource-explorer-2", "Search", method="POST", path="/Search")
def search(call: Call) -> bytes:
    if "QueryString" not in call.params:
        raise call.invalid("QueryString is required.")
    text = str(call.params.get("QueryString") or "")
    view = resolve_view(call)
    limit = call.int_param("MaxResults", 100, 1, 1000)
    queries = _queries(call, view, text, keywords=True)
    tag = _tag("se", view, text)
    cursor, seen = (-1, 0), 0
    token = call.str_param("NextToken")
    if token:
        parts = decode_token(token, 4)
        if parts is None or parts[0] != tag:
            raise bad_token()
        cursor, seen = (int(parts[1]), int(parts[2])), int(parts[3])
    pager = _Pager(call, view, queries)
    room = max(0, SEARCH_CAP - seen)
    items, nxt = pager.run(cursor, min(limit, room), SCAN_BUDGET) if room else ([], None)
    cache = explorer(call).count_cache
    counted = cache.get((tag, pager.gen))
    if counted is None:
        if len(cache) > 1024:
            cache.clear()
        counted = cache[(tag, pager.gen)] = pager.count(SEARCH_CAP + 1)
    total, complete = counted
    call.stats.items["resource-explorer-2:Search"] += len(items)
    extra: dict[str, Any] = {
        "ViewArn": view.arn,
        "Count": {"TotalResources": min(total, SEARCH_CAP), "Complete": complete and total <= SEARCH_CAP},
    }
    if nxt is not None and seen + len(items) < SEARCH_CAP:
        extra["NextToken"] = encode_token(tag, nxt[0], nxt[1], seen + len(items))
    return _body(items, extra)
