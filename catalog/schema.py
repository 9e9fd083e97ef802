"""Catalog schema and migrations.

The catalog records its schema version in `catalog_meta`; a newer orgsync upgrades an older
catalog in place (every migration keeps every row), an older orgsync refuses a newer catalog.
`last_seen` of a live resource is derived from its scope's last completed sync (`scope_state`)
so that an unchanged re-sync rewrites no resource row.
"""

from __future__ import annotations

import duckdb

from catalog.sql import execute, fetch_one

SCHEMA_VERSION = 1


class CatalogVersionError(Exception):
    pass


_V1 = """
CREATE TABLE catalog_meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TABLE integrations (
    name VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    settings JSON,
    status VARCHAR NOT NULL,            -- initializing | active | error
    status_reason VARCHAR,
    last_sync_id BIGINT,
    last_complete_sync_id BIGINT,
    updated_at TIMESTAMPTZ
);

CREATE TABLE sync_runs (
    sync_id BIGINT PRIMARY KEY,
    integration VARCHAR NOT NULL,
    mode VARCHAR NOT NULL,              -- full | incremental
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    status VARCHAR NOT NULL,            -- complete | partial | failed
    error VARCHAR,
    accounts_synced INTEGER, accounts_failed INTEGER, accounts_excluded INTEGER,
    scopes_total INTEGER, scopes_complete INTEGER, scopes_skipped INTEGER, scopes_failed INTEGER,
    resources_seen BIGINT, added BIGINT, modified BIGINT, deleted BIGINT, restored BIGINT,
    api_calls BIGINT, throttles BIGINT, retries BIGINT,
    warnings JSON,
    options JSON,
    orgsync_version VARCHAR
);

CREATE TABLE sync_scopes (
    sync_id BIGINT NOT NULL,
    integration VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    resource_type VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    reason VARCHAR,
    status VARCHAR NOT NULL,            -- complete | skipped | failed
    error_code VARCHAR,
    error_message VARCHAR,
    resources BIGINT, pages BIGINT, api_calls BIGINT, throttles BIGINT, retries BIGINT,
    started_at TIMESTAMPTZ,
    duration_ms BIGINT
);

CREATE TABLE accounts (
    integration VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL,
    name VARCHAR, email VARCHAR, state VARCHAR, ou_path VARCHAR, parent_id VARCHAR,
    status VARCHAR NOT NULL,            -- selected | excluded | inactive | failed
    status_reason VARCHAR,
    regions VARCHAR[],
    last_sync_id BIGINT,
    PRIMARY KEY (integration, account_id)
);

CREATE TABLE scope_state (
    integration VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    resource_type VARCHAR NOT NULL,
    last_complete_sync_id BIGINT,
    last_complete_at TIMESTAMPTZ,
    resources BIGINT,
    PRIMARY KEY (integration, account_id, region, resource_type)
);

CREATE TABLE resource_rows (
    integration VARCHAR NOT NULL,
    arn VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    scope_region VARCHAR NOT NULL,     -- the scope that lists it: 'global' for IAM and S3
    service VARCHAR NOT NULL,
    resource_type VARCHAR NOT NULL,
    resource_id VARCHAR,
    name VARCHAR,
    tags JSON,
    owner_tag_value VARCHAR,
    source VARCHAR NOT NULL,
    properties JSON,
    last_reported_at TIMESTAMPTZ,
    content_hash UBIGINT NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,    -- when the row last changed; see the resources view
    deleted_at TIMESTAMPTZ,
    sync_id BIGINT NOT NULL            -- the sync that last changed the row
);

CREATE VIEW resources AS
SELECT
    r.integration, r.arn, r.account_id, r.region, r.service, r.resource_type, r.resource_id,
    r.name, r.tags, r.owner_tag_value, r.source, r.properties, r.last_reported_at,
    r.first_seen,
    CASE WHEN r.deleted_at IS NULL THEN greatest(r.last_seen, s.last_complete_at) ELSE r.last_seen END
        AS last_seen,
    r.deleted_at, r.sync_id
FROM resource_rows r
LEFT JOIN scope_state s
  ON s.integration = r.integration AND s.account_id = r.account_id
 AND s.region = r.scope_region AND s.resource_type = r.resource_type;

CREATE VIEW current_resources AS SELECT * FROM resources WHERE deleted_at IS NULL;
"""

MIGRATIONS: dict[int, str] = {1: _V1}  # version -> DDL that brings version-1 to version


def catalog_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = fetch_one(
        con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'catalog_meta'"
    )
    if not exists or not exists[0]:
        return 0
    row = fetch_one(con, "SELECT value FROM catalog_meta WHERE key = 'schema_version'")
    return int(row[0]) if row else 0


def check_readable(con: duckdb.DuckDBPyConnection, path: str) -> int:
    version = catalog_version(con)
    if version > SCHEMA_VERSION:
        raise CatalogVersionError(
            f"{path} has catalog schema version {version}, newer than this orgsync understands "
            f"({SCHEMA_VERSION}); upgrade orgsync to read it"
        )
    return version


def migrate(con: duckdb.DuckDBPyConnection, path: str) -> None:
    """Bring the catalog to SCHEMA_VERSION inside the caller's transaction."""
    version = check_readable(con, path)
    for target in range(version + 1, SCHEMA_VERSION + 1):
        execute(con, MIGRATIONS[target])
        execute(con, "INSERT OR REPLACE INTO catalog_meta VALUES ('schema_version', ?)", [str(target)])
