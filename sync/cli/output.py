"""Rows -> a table on the terminal, JSON, or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "csv")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, title: str | None = None) -> str:
    if fmt == "json":
        records = [dict(zip(columns, row)) for row in rows]
        return orjson.dumps(records, default=str, option=orjson.OPT_INDENT_2).decode()
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(v) for v in row] for row in rows)
        return buffer.getvalue().rstrip("\n")
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    console = Console(record=True, width=200 if not Console().is_terminal else None)
    with console.capture() as capture:
        console.print(table)
    return capture.get().rstrip("\n") + f"\n({len(rows)} row{'s' if len(rows) != 1 else ''})"
