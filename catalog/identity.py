"""The identity directory in the catalog: IdP users, groups and memberships, per integration.

A directory is replaced whole and atomically, like a sync run's resources: `replace_directory`
records what changed since the integration's previous directory in `idp_changes`, replaces its
users, groups and memberships, and adds the sync's row to `idp_sources`, all in the caller's
transaction, so a reader sees either the old directory or the new one.

The tables are part of the catalog schema (migration v3 in catalog/schema.py). They have no
primary keys on purpose: DuckDB rejects deleting and re-inserting the same key inside one
transaction, which is exactly what a replace does. Uniqueness is checked before the write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from catalog.sql import execute, fetch_one

IDENTITY_TABLES = ("idp_sources", "idp_users", "idp_groups", "idp_memberships")

USER_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("user_name", pa.string()),
        ("display_name", pa.string()),
        ("primary_email", pa.string()),
        ("emails", pa.list_(pa.string())),
    ]
)
GROUP_SCHEMA = pa.schema([("group_id", pa.string()), ("display_name", pa.string()), ("description", pa.string())])
MEMBERSHIP_SCHEMA = pa.schema([("group_id", pa.string()), ("user_id", pa.string())])


@dataclass(frozen=True)
class DirectoryTables:
    """A whole directory as Arrow tables in USER_SCHEMA, GROUP_SCHEMA and MEMBERSHIP_SCHEMA."""

    source: str
    source_ref: str | None
    users: pa.Table
    groups: pa.Table
    memberships: pa.Table


@dataclass(frozen=True)
class DirectoryCounts:
    integration: str
    source: str
    source_ref: str | None
    users: int
    groups: int
    memberships: int
    synced_at: datetime
    idp_sync_id: int = 0
    added: int = 0  # users, groups and memberships added since the previous directory
    modified: int = 0  # users and groups whose record changed
    removed: int = 0


def missing_identity_tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Which identity tables a catalog lacks: a connection to a catalog older than v3 opened
    directly (not through catalog.connect, which upgrades it) may not have them."""
    present = {
        row[0]
        for row in execute(
            con,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_name IN (SELECT unnest($names))",
            {"names": list(IDENTITY_TABLES)},
        )
    }
    return frozenset(IDENTITY_TABLES) - present


_INSERTS = (
    ("idp_users", "users_arrow", "user_id, user_name, display_name, primary_email, emails"),
    ("idp_groups", "groups_arrow", "group_id, display_name, description"),
    ("idp_memberships", "memberships_arrow", "group_id, user_id"),
)

_USER_RECORD = "to_json({{'user_name': {t}.user_name, 'display_name': {t}.display_name, " \
               "'primary_email': {t}.primary_email, 'emails': {t}.emails}})"
_GROUP_RECORD = "to_json({{'display_name': {t}.display_name, 'description': {t}.description}})"

# The new directory against the integration's current one, by id: added, removed, and (users,
# groups) modified when any stored field differs. Runs before the replace.
_CHANGES = f"""
INSERT INTO idp_changes
SELECT $sync, $integration, $at, 'user',
       CASE WHEN o.user_id IS NULL THEN 'added' WHEN n.user_id IS NULL THEN 'removed' ELSE 'modified' END,
       coalesce(n.user_id, o.user_id), NULL,
       CASE WHEN o.user_id IS NOT NULL THEN {_USER_RECORD.format(t="o")} END,
       CASE WHEN n.user_id IS NOT NULL THEN {_USER_RECORD.format(t="n")} END
FROM (SELECT * FROM idp_users WHERE integration = $integration) o
FULL OUTER JOIN users_arrow n ON n.user_id = o.user_id
WHERE o.user_id IS NULL OR n.user_id IS NULL OR o.user_name IS DISTINCT FROM n.user_name
   OR o.display_name IS DISTINCT FROM n.display_name OR o.primary_email IS DISTINCT FROM n.primary_email
   OR o.emails IS DISTINCT FROM n.emails
UNION ALL
SELECT $sync, $integration, $at, 'group',
       CASE WHEN o.group_id IS NULL THEN 'added' WHEN n.group_id IS NULL THEN 'removed' ELSE 'modified' END,
       NULL, coalesce(n.group_id, o.group_id),
       CASE WHEN o.group_id IS NOT NULL THEN {_GROUP_RECORD.format(t="o")} END,
       CASE WHEN n.group_id IS NOT NULL THEN {_GROUP_RECORD.format(t="n")} END
FROM (SELECT * FROM idp_groups WHERE integration = $integration) o
FULL OUTER JOIN groups_arrow n ON n.group_id = o.group_id
WHERE o.group_id IS NULL OR n.group_id IS NULL OR o.display_name IS DISTINCT FROM n.display_name
   OR o.description IS DISTINCT FROM n.description
UNION ALL
SELECT $sync, $integration, $at, 'membership', CASE WHEN o.user_id IS NULL THEN 'added' ELSE 'removed' END,
       coalesce(n.user_id, o.user_id), coalesce(n.group_id, o.group_id), NULL, NULL
FROM (SELECT * FROM idp_memberships WHERE integration = $integration) o
FULL OUTER JOIN memberships_arrow n ON n.group_id = o.group_id AND n.user_id = o.user_id
WHERE o.user_id IS NULL OR n.user_id IS NULL
"""


def replace_directory(
    con: duckdb.DuckDBPyConnection, integration: str, tables: DirectoryTables, synced_at: datetime
) -> DirectoryCounts:
    """Record what changed, replace the integration's directory and record the sync, inside the
    caller's transaction."""
    registered = {"users_arrow": tables.users, "groups_arrow": tables.groups, "memberships_arrow": tables.memberships}
    for name, table in registered.items():
        con.register(name, table)
    try:
        row = fetch_one(con, "SELECT coalesce(max(idp_sync_id), 0) + 1 FROM idp_sources")
        sync_id = int(row[0]) if row else 1
        execute(con, _CHANGES, {"sync": sync_id, "integration": integration, "at": synced_at})
        changed = dict(execute(con, "SELECT change, count(*) FROM idp_changes WHERE idp_sync_id = ? GROUP BY ALL",
                               [sync_id]))
        for target, _, _ in _INSERTS:
            execute(con, f"DELETE FROM {target} WHERE integration = ?", [integration])
        for target, source, columns in _INSERTS:
            execute(con, f"INSERT INTO {target} SELECT $integration, {columns} FROM {source}", {"integration": integration})
        counts = DirectoryCounts(
            integration=integration, source=tables.source, source_ref=tables.source_ref,
            users=tables.users.num_rows, groups=tables.groups.num_rows, memberships=tables.memberships.num_rows,
            synced_at=synced_at, idp_sync_id=sync_id, added=int(changed.get("added", 0)),
            modified=int(changed.get("modified", 0)), removed=int(changed.get("removed", 0)),
        )
        execute(
            con,
            "INSERT INTO idp_sources (integration, source, source_ref, synced_at, users, groups, memberships, "
            "idp_sync_id, added, modified, removed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [integration, counts.source, counts.source_ref, synced_at, counts.users, counts.groups, counts.memberships,
             sync_id, counts.added, counts.modified, counts.removed],
        )
    finally:
        for name in registered:
            con.unregister(name)
    return counts
