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
    # Live rows the catalog holds for the scope now: what a change signal (a Resource Explorer
    # count) is compared with. None when not read; equal to `resources` unless a row was folded
    # into another scope (the same ARN listed twice in one run).
    live_rows: int | None = None

    @property
    def held(self) -> int:
        return self.resources if self.live_rows is None else self.live_rows


_PREVIOUS = """
SELECT st.account_id, st.region, st.resource_type, st.resources, st.last_complete_at, coalesce(r.live, 0)
FROM scope_state st
LEFT JOIN (SELECT account_id, scope_region, resource_type, count(*) AS live
           FROM resource_rows WHERE integration = $integration AND deleted_at IS NULL
           GROUP BY ALL) r
  ON r.account_id = st.account_id AND r.scope_region = st.region AND r.resource_type = st.resource_type
WHERE st.integration = $integration
"""


def previous_scopes(path: str, integration: str) -> dict[tuple[str, str, str], ScopeMemory]:
    """(account, region, type) -> its last completion; empty for a new catalog."""
    if not Path(path).exists():
        return {}
    with open_reader(path) as con:
        rows = execute(con, _PREVIOUS, {"integration": integration})
    return {(str(a), str(r), str(t)): ScopeMemory(int(n or 0), at, int(live)) for a, r, t, n, at, live in rows}
