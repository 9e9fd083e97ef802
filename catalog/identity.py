"""The identity directory in the catalog: IdP users, groups and memberships, per integration.

A directory is replaced whole and atomically, like a sync run's resources: `replace_directory`
deletes the integration's previous users, groups and memberships and inserts the new ones in one
transaction, so a reader sees either the old directory or the new one. History is not kept.

These tables are created on demand (`CREATE TABLE IF NOT EXISTS`) until they are folded into the
schema migrations of catalog/schema.py; `IDENTITY_DDL` is the text to fold in. They have no
primary keys on purpose: DuckDB rejects deleting and re-inserting the same key inside one
transaction, which is exactly what a replace does. Uniqueness is checked before the write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from catalog.sql import execute

IDENTITY_DDL = """
CREATE TABLE IF NOT EXISTS idp_sources (
    integration VARCHAR NOT NULL,       -- one directory per integration
    source VARCHAR NOT NULL,            -- identity-store | file
    source_ref VARCHAR,                 -- the Identity Store id, or the file the directory came from
    synced_at TIMESTAMPTZ NOT NULL,
    users BIGINT NOT NULL,
    groups BIGINT NOT NULL,
    memberships BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS idp_users (
    integration VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    user_name VARCHAR,
    display_name VARCHAR,
    primary_email VARCHAR,
    emails VARCHAR[]                    -- every email, the primary one first
);

CREATE TABLE IF NOT EXISTS idp_groups (
    integration VARCHAR NOT NULL,
    group_id VARCHAR NOT NULL,
    display_name VARCHAR,
    description VARCHAR
);

CREATE TABLE IF NOT EXISTS idp_memberships (
    integration VARCHAR NOT NULL,
    group_id VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL
);
"""

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


def ensure_identity_tables(con: duckdb.DuckDBPyConnection) -> None:
    execute(con, IDENTITY_DDL)


def missing_identity_tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Which identity tables a catalog lacks: a read-only reader cannot create them."""
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


def replace_directory(
    con: duckdb.DuckDBPyConnection, integration: str, tables: DirectoryTables, synced_at: datetime
) -> DirectoryCounts:
    """Replace the integration's directory inside the caller's transaction."""
    ensure_identity_tables(con)
    registered = {"users_arrow": tables.users, "groups_arrow": tables.groups, "memberships_arrow": tables.memberships}
    for name, table in registered.items():
        con.register(name, table)
    try:
        for target, _, _ in _INSERTS:
            execute(con, f"DELETE FROM {target} WHERE integration = ?", [integration])
        for target, source, columns in _INSERTS:
            execute(con, f"INSERT INTO {target} SELECT $integration, {columns} FROM {source}", {"integration": integration})
        execute(con, "DELETE FROM idp_sources WHERE integration = ?", [integration])
        counts = DirectoryCounts(
            integration=integration, source=tables.source, source_ref=tables.source_ref,
            users=tables.users.num_rows, groups=tables.groups.num_rows, memberships=tables.memberships.num_rows,
            synced_at=synced_at,
        )
        execute(
            con,
            "INSERT INTO idp_sources VALUES (?, ?, ?, ?, ?, ?, ?)",
            [integration, counts.source, counts.source_ref, synced_at, counts.users, counts.groups, counts.memberships],
        )
    finally:
        for name in registered:
            con.unregister(name)
    return counts
