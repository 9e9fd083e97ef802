"""Statement execution that always consumes the result.

DuckDB 2 refuses new work on a connection while a previous result is unread, so statements run
for their effect are fetched to completion here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb


def execute(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
) -> list[tuple[Any, ...]]:
    cursor = con.execute(sql, params) if params is not None else con.execute(sql)
    return cursor.fetchall()


def fetch_one(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
) -> tuple[Any, ...] | None:
    rows = execute(con, sql, params)
    return rows[0] if rows else None
