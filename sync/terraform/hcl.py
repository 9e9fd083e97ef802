"""A small HCL writer whose output is already in `terraform fmt` layout.

Only what the View as Code needs: blocks, attributes whose values are strings, references,
lists of strings and flat objects, comments and blank lines. Layout rules mirrored from
`terraform fmt`: two-space indentation; the `=` of consecutive one-line attributes is aligned,
and a comment, a blank line or a multi-line value ends the run of aligned attributes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

INDENT = "  "
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Ref:
    """An expression written as is, e.g. `var.connector_id` or `string`."""

    expression: str


Value = str | Ref | Sequence[str] | Mapping[str, "Value"]


@dataclass(frozen=True)
class Attribute:
    key: str
    value: Value


@dataclass(frozen=True)
class Comment:
    text: str  # one line, without the leading "# "


@dataclass(frozen=True)
class Blank:
    pass


@dataclass(frozen=True)
class Block:
    type: str
    labels: tuple[str, ...]
    body: tuple[Item, ...]


Item = Attribute | Comment | Blank | Block


def quote(text: str) -> str:
    """An HCL string literal; `${` and `%{` are escaped so the text is never a template."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    body = "".join(out).replace("${", "$${").replace("%{", "%%{")
    return f'"{body}"'


def _key(key: str) -> str:
    return key if _IDENTIFIER.fullmatch(key) else quote(key)


def _value_lines(value: Value, depth: int) -> list[str]:
    """The value's text; the first line continues the `key = ` line, the rest are indented."""
    if isinstance(value, Ref):
        return [value.expression]
    if isinstance(value, str):
        return [quote(value)]
    pad = INDENT * (depth + 1)
    close = INDENT * depth
    if isinstance(value, Mapping):
        attrs = [Attribute(k, v) for k, v in value.items()]
        return ["{", *_body_lines(attrs, depth + 1), close + "}"]
    return ["[", *(f"{pad}{quote(item)}," for item in value), close + "]"]


def _body_lines(items: Sequence[Item], depth: int) -> list[str]:
    pad = INDENT * depth
    lines: list[str] = []
    run: list[tuple[str, str]] = []  # one-line attributes waiting to be aligned

    def flush() -> None:
        width = max((len(k) for k, _ in run), default=0)
        lines.extend(f"{pad}{k.ljust(width)} = {v}" for k, v in run)
        run.clear()

    for item in items:
        if isinstance(item, Attribute):
            value = _value_lines(item.value, depth)
            if len(value) == 1:
                run.append((_key(item.key), value[0]))
                continue
            flush()
            lines.append(f"{pad}{_key(item.key)} = {value[0]}")
            lines.extend(value[1:])
            continue
        flush()
        if isinstance(item, Comment):
            lines.append(f"{pad}# {item.text}".rstrip())
        elif isinstance(item, Blank):
            lines.append("")
        else:
            lines.extend(_block_lines(item, depth))
    flush()
    return lines


def _block_lines(block: Block, depth: int) -> list[str]:
    pad = INDENT * depth
    head = " ".join([block.type, *(quote(label) for label in block.labels)])
    return [f"{pad}{head} {{", *_body_lines(block.body, depth + 1), f"{pad}}}"]


def render(items: Sequence[Item]) -> str:
    return "\n".join(_body_lines(items, 0)) + "\n"
