"""What the catalog remembers that the next sync plans with: resources per scope at its last completion."""

from __future__ import annotations

from pathlib import Path

from catalog.connect import open_reader
from catalog.sql import execute


def previous_scope_counts(path: str, integration: str) -> dict[tuple[str, str, str], int]:
    """(account, region, type) -> resources when the scope last completed; empty for a new catalog."""
    if not Path(path).exists():
        return {}
    with open_reader(path) as con:
        rows = execute(
            con,
            "SELECT account_id, region, resource_type, resources FROM scope_state WHERE integration = ?",
            [integration],
        )
    return {(str(a), str(r), str(t)): int(n or 0) for a, r, t, n in rows}
