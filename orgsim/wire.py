"""Small helpers shared by the wire formats: XML text, timestamps, opaque tokens."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable

import orjson

_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})


def esc(value: object) -> str:
    return str(value).translate(_ESC)


def el(tag: str, value: object) -> str:
    """<tag>value</tag>; booleans as AWS writes them."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{tag}>{esc(value)}</{tag}>"


def opt(tag: str, value: object | None) -> str:
    return "" if value is None else el(tag, value)


def wrap(tag: str, inner: Iterable[str] | str) -> str:
    body = inner if isinstance(inner, str) else "".join(inner)
    return f"<{tag}>{body}</{tag}>"


def iso(epoch: float, millis: bool = False) -> str:
    """ISO 8601 UTC with a Z, the form every AWS protocol accepts from datetime.fromisoformat."""
    t = time.gmtime(epoch)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", t)
    return f"{base}.000Z" if millis else f"{base}Z"


def encode_token(*parts: int | str) -> str:
    """An opaque pagination token; AWS tokens are opaque to clients too."""
    raw = orjson.dumps(list(parts))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, n: int) -> list[int | str] | None:
    """Parts of a token made by encode_token, None if it is not one of ours."""
    try:
        pad = "=" * (-len(token) % 4)
        parts = orjson.loads(base64.urlsafe_b64decode(token + pad))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(parts, list) or len(parts) != n:
        return None
    return parts
