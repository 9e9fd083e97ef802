"""What the catalog remembers that the next sync plans with: each scope's last completion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from catalog.connect import open_reader
from catalog.sql import execute


@dataclass(frozen=True)
class ScopeMemory:
    resources: int  # when the scope last completed
    completed_at: datetime


def previous_scopes(path: str, integration: str) -> dict[tuple[str, str, str], ScopeMemory]:
    """(account, region, type) -> its last completion; empty for a new catalog."""
    if not Path(path).exists():
        return {}
    with open_reader(path) as con:
        rows = execute(
            con,
            """SELECT account_id, region, resource_type, resources, last_complete_at
               FROM scope_state WHERE integration = ?""",
            [integration],
        )
    return {(str(a), str(r), str(t)): ScopeMemory(int(n or 0), at) for a, r, t, n, at in rows}
