"""Pagination shared by the services: tokens are offsets, never server-side state.

``walk`` pages through a sorted list of scopes from a (scope, position) cursor; it looks one
resource ahead, so a NextToken is only handed out when something follows (AWS is sloppier, and
the Organizations module imitates that on purpose).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import TypeVar

from orgsim.errors import AwsError
from orgsim.inventory import Inventory, Res
from orgsim.wire import decode_token, encode_token

T = TypeVar("T")


def cursor_token(tag: str, scope: int, pos: int) -> str:
    return encode_token(tag, scope, pos)


def read_cursor(token: str | None, tag: str, bad: AwsError) -> tuple[int, int]:
    """(scope, position) of a token made by cursor_token for the same listing."""
    if not token:
        return -1, 0
    parts = decode_token(token, 3)
    if parts is None or parts[0] != tag:
        raise bad
    s, pos = parts[1], parts[2]
    if not isinstance(s, int) or not isinstance(pos, int) or pos < 0:
        raise bad
    return s, pos


def walk(
    inv: Inventory,
    scopes: Sequence[int],
    start: tuple[int, int],
    limit: int,
    gen: int,
    accept: Callable[[Res], bool] | None = None,
    budget: int = 0,
) -> tuple[list[Res], tuple[int, int] | None]:
    """Up to ``limit`` accepted resources from the cursor, and the cursor after them."""
    start_s, pos = start
    i = bisect_left(scopes, start_s) if start_s >= 0 else 0
    if i >= len(scopes) or scopes[i] != start_s:
        pos = 0
    out: list[Res] = []
    scanned = 0
    while i < len(scopes):
        s = scopes[i]
        for res in inv.scan(s, pos, gen):
            if accept is None or accept(res):
                if len(out) == limit:
                    return out, (s, res.pos)
                out.append(res)
            scanned += 1
            if budget and scanned >= budget:
                return out, (s, res.pos + 1)
        i += 1
        pos = 0
    return out, None


def offset_page(
    items: Sequence[T], token: str | None, limit: int, tag: str, bad: AwsError
) -> tuple[Sequence[T], str | None]:
    """A page of an in-memory list (accounts, OUs, users ...) and the next token."""
    offset = 0
    if token:
        parts = decode_token(token, 2)
        if parts is None or parts[0] != tag or not isinstance(parts[1], int) or parts[1] < 0:
            raise bad
        offset = parts[1]
    page = items[offset : offset + limit]
    end = offset + len(page)
    return page, (encode_token(tag, end) if end < len(items) else None)


def scope_listing(
    inv: Inventory,
    s: int | None,
    token: str | None,
    tag: str,
    limit: int,
    gen: int,
    bad: AwsError,
    accept: Callable[[Res], bool] | None = None,
) -> tuple[list[Res], str | None]:
    """One scope's page (a service API listing in one account x region) and its token."""
    if s is None:
        if token:
            raise bad
        return [], None
    cursor = read_cursor(token, tag, bad)
    if cursor[0] not in (-1, s):
        raise bad
    items, nxt = walk(inv, [s], cursor, limit, gen, accept)
    return items, (cursor_token(tag, *nxt) if nxt is not None else None)
