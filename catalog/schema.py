"""Catalog schema and migrations.

The catalog records its schema version in `catalog_meta`; a newer orgsync upgrades an older
catalog in place (every migration keeps every row), an older orgsync refuses a newer catalog.
`last_seen` of a live resource is derived from its scope's last completed sync (`scope_state`)
so that an unchanged re-sync rewrites no resource row.

v2 adds the change history (`resource_changes`, one row per resource added, modified, deleted
or restored by a sync), each scope's last attempt (`scope_attempts`, from which `stale_resources`
tells which current rows could not be refreshed), and the macros `tags_diff(old, new)` and
`resources_as_of(ts)`.

v3 makes the identity directory part of every catalog (until then `idp sync` created its tables
on demand) with the same run / history discipline as resources: `idp_sources` keeps one row per
directory sync, `idp_changes` records every user, group and membership added, modified or
removed, and the macros `idp_users_as_of(ts)`, `idp_groups_as_of(ts)`, `idp_memberships_as_of(ts)`
give the directory at a past time. It also adds the view `coverage` (each integration's last
sync, per scope: source, reason, status, resources found).

v4 records what the Resource Explorer probe found, per sync: `explorer_setup` (trusted access,
the aggregator index and the organization-wide view used, how many types the index supports,
what made Resource Explorer partly unusable) and `explorer_indexes` (every index seen per
account x region, its type and state, the member default view and the count the planner
weighed); the view `explorer_coverage` shows both for each integration's last probe.
"""

from __future__ import annotations

import duckdb

from catalog.sql import execute, fetch_one

SCHEMA_VERSION = 4


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

# Every statement here runs on a v1 catalog full of rows: add, never rebuild.
_V2 = """
CREATE TABLE resource_changes (
    sync_id BIGINT NOT NULL,
    integration VARCHAR NOT NULL,
    arn VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    resource_type VARCHAR NOT NULL,
    change VARCHAR NOT NULL,           -- added | modified | deleted | restored
    changed_at TIMESTAMPTZ NOT NULL,   -- the sync's finish time
    old_tags JSON,                     -- before the change; NULL for added
    new_tags JSON,                     -- after the change; NULL for deleted
    old_owner VARCHAR,                 -- owner tag value before / after, likewise
    new_owner VARCHAR
);

-- The latest attempt at each scope, whatever its outcome (scope_state keeps the last success).
CREATE TABLE scope_attempts (
    integration VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    resource_type VARCHAR NOT NULL,
    sync_id BIGINT NOT NULL,
    status VARCHAR NOT NULL,            -- complete | skipped | failed
    error_code VARCHAR,
    error_message VARCHAR,
    attempted_at TIMESTAMPTZ,
    PRIMARY KEY (integration, account_id, region, resource_type)
);

INSERT INTO scope_attempts
SELECT s.integration, s.account_id, s.region, s.resource_type, s.sync_id, s.status, s.error_code,
       s.error_message, r.finished_at
FROM sync_scopes s JOIN sync_runs r USING (sync_id)
QUALIFY row_number() OVER (PARTITION BY s.integration, s.account_id, s.region, s.resource_type
                           ORDER BY s.sync_id DESC) = 1;

-- Current rows the last sync could not confirm: their scope failed or was skipped, their
-- account could not be entered, or the whole integration failed. They are kept, not deleted.
CREATE VIEW stale_resources AS
SELECT r.integration, r.arn, r.account_id, r.region, r.resource_type, r.resource_id, r.name, r.owner_tag_value,
       CASE WHEN i.status = 'error' THEN 'integration failed'
            WHEN a.status = 'failed' THEN 'account failed'
            ELSE 'scope ' || sa.status END AS stale_reason,
       CASE WHEN i.status = 'error' THEN i.status_reason
            WHEN a.status = 'failed' THEN a.status_reason
            ELSE concat_ws(': ', sa.error_code, sa.error_message) END AS error,
       st.last_complete_at AS confirmed_at
FROM resource_rows r
JOIN integrations i ON i.name = r.integration
LEFT JOIN accounts a ON a.integration = r.integration AND a.account_id = r.account_id
LEFT JOIN scope_attempts sa
  ON sa.integration = r.integration AND sa.account_id = r.account_id
 AND sa.region = r.scope_region AND sa.resource_type = r.resource_type
LEFT JOIN scope_state st
  ON st.integration = r.integration AND st.account_id = r.account_id
 AND st.region = r.scope_region AND st.resource_type = r.resource_type
WHERE r.deleted_at IS NULL
  AND (i.status = 'error' OR a.status = 'failed' OR sa.status IN ('failed', 'skipped'));

CREATE MACRO tag_map(tags) AS coalesce(CAST(CAST(tags AS JSON) AS MAP(VARCHAR, VARCHAR)), MAP {});

-- What changed between two tag sets: keys added and removed with their values, and keys whose
-- value changed as [old, new].
CREATE MACRO tags_diff(old_tags, new_tags) AS {
    'added': map_from_entries([e FOR e IN map_entries(tag_map(new_tags))
                               IF NOT map_contains(tag_map(old_tags), e.key)]),
    'removed': map_from_entries([e FOR e IN map_entries(tag_map(old_tags))
                                 IF NOT map_contains(tag_map(new_tags), e.key)]),
    'changed': map_from_entries([{'key': e.key, 'value': [tag_map(old_tags)[e.key], e.value]}
                                 FOR e IN map_entries(tag_map(new_tags))
                                 IF map_contains(tag_map(old_tags), e.key)
                                    AND tag_map(old_tags)[e.key] <> e.value])
};

-- The inventory as it was at `ts`. Presence and tags come from the last change at or before ts;
-- failing that (history pruned, or a resource older than the history) from the first change
-- after ts, which recorded the tags it replaced; failing that from the row itself. Columns
-- other than tags and owner are the latest known.
CREATE MACRO resources_as_of(ts) AS TABLE
WITH point AS (SELECT CAST(ts AS TIMESTAMPTZ) AS moment),
before AS (
    SELECT c.integration, c.arn,
           arg_max({'change': c.change, 'tags': c.new_tags, 'owner': c.new_owner}, c.sync_id) AS last
    FROM resource_changes c, point WHERE c.changed_at <= point.moment GROUP BY ALL
),
after AS (
    SELECT c.integration, c.arn,
           arg_min({'change': c.change, 'tags': c.old_tags, 'owner': c.old_owner}, c.sync_id) AS next
    FROM resource_changes c, point WHERE c.changed_at > point.moment GROUP BY ALL
)
SELECT r.integration, r.arn, r.account_id, r.region, r.service, r.resource_type, r.resource_id, r.name,
       CASE WHEN b.arn IS NOT NULL THEN b.last.tags
            WHEN n.arn IS NOT NULL THEN n.next.tags ELSE r.tags END AS tags,
       CASE WHEN b.arn IS NOT NULL THEN b.last.owner
            WHEN n.arn IS NOT NULL THEN n.next.owner ELSE r.owner_tag_value END AS owner_tag_value,
       r.source, r.properties, r.first_seen
FROM resource_rows r CROSS JOIN point
LEFT JOIN before b ON b.integration = r.integration AND b.arn = r.arn
LEFT JOIN after n ON n.integration = r.integration AND n.arn = r.arn
WHERE CASE WHEN b.arn IS NOT NULL THEN b.last.change <> 'deleted'
           WHEN n.arn IS NOT NULL THEN n.next.change IN ('modified', 'deleted') AND r.first_seen <= point.moment
           ELSE r.first_seen <= point.moment AND (r.deleted_at IS NULL OR r.deleted_at > point.moment) END;
"""

# Runs on a v2 catalog full of rows too. The identity tables were created on demand by `idp sync`
# under v2, so they may exist with rows or not at all: created with the v2-era definition if
# missing, then widened in place, so that both paths end with the same columns in the same order.
_V3 = """
CREATE TABLE IF NOT EXISTS idp_sources (
    integration VARCHAR NOT NULL,
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

-- idp_sources becomes the directory syncs' run table: one row per `idp sync` of an integration
-- (v2 kept only the last one), numbered, with what it changed.
ALTER TABLE idp_sources ADD COLUMN idp_sync_id BIGINT;
ALTER TABLE idp_sources ADD COLUMN added BIGINT;      -- users, groups and memberships added,
ALTER TABLE idp_sources ADD COLUMN modified BIGINT;   -- modified (users and groups),
ALTER TABLE idp_sources ADD COLUMN removed BIGINT;    -- and removed; NULL for a sync made before v3

UPDATE idp_sources SET idp_sync_id = n.idp_sync_id
FROM (SELECT integration, row_number() OVER (ORDER BY synced_at, integration) AS idp_sync_id FROM idp_sources) n
WHERE n.integration = idp_sources.integration;

-- The directory's history, like resource_changes for resources: one row per user, group or
-- membership added, modified or removed by a directory sync.
CREATE TABLE idp_changes (
    idp_sync_id BIGINT NOT NULL,
    integration VARCHAR NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,    -- the directory sync's time (idp_sources.synced_at)
    kind VARCHAR NOT NULL,              -- user | group | membership
    change VARCHAR NOT NULL,            -- added | modified | removed (memberships: added | removed)
    user_id VARCHAR,                    -- the user, or the membership's user
    group_id VARCHAR,                   -- the group, or the membership's group
    old_record JSON,                    -- the user or group before the change; NULL when added
    new_record JSON                     -- after it; NULL when removed (memberships: both NULL)
);

-- What v2 knew becomes the start of the history: the directory as of its last sync.
INSERT INTO idp_changes
SELECT s.idp_sync_id, s.integration, s.synced_at, 'user', 'added', u.user_id, NULL, NULL,
       to_json({'user_name': u.user_name, 'display_name': u.display_name, 'primary_email': u.primary_email,
                'emails': u.emails})
FROM idp_users u JOIN idp_sources s USING (integration)
UNION ALL
SELECT s.idp_sync_id, s.integration, s.synced_at, 'group', 'added', NULL, g.group_id, NULL,
       to_json({'display_name': g.display_name, 'description': g.description})
FROM idp_groups g JOIN idp_sources s USING (integration)
UNION ALL
SELECT s.idp_sync_id, s.integration, s.synced_at, 'membership', 'added', m.user_id, m.group_id, NULL, NULL
FROM idp_memberships m JOIN idp_sources s USING (integration);

-- The directory as it was at `ts`, from the history: each user, group and membership whose last
-- change at or before ts is not a removal, with the record that change left. Same columns as
-- idp_users, idp_groups, idp_memberships. Empty before an integration's first directory sync.
CREATE MACRO idp_users_as_of(ts) AS TABLE
SELECT integration, user_id, last.rec->>'user_name' AS user_name, last.rec->>'display_name' AS display_name,
       last.rec->>'primary_email' AS primary_email, CAST(last.rec->'emails' AS VARCHAR[]) AS emails
FROM (SELECT integration, user_id, arg_max({'change': change, 'rec': new_record}, idp_sync_id) AS last
      FROM idp_changes WHERE kind = 'user' AND changed_at <= CAST(ts AS TIMESTAMPTZ) GROUP BY ALL)
WHERE last.change <> 'removed';

CREATE MACRO idp_groups_as_of(ts) AS TABLE
SELECT integration, group_id, last.rec->>'display_name' AS display_name, last.rec->>'description' AS description
FROM (SELECT integration, group_id, arg_max({'change': change, 'rec': new_record}, idp_sync_id) AS last
      FROM idp_changes WHERE kind = 'group' AND changed_at <= CAST(ts AS TIMESTAMPTZ) GROUP BY ALL)
WHERE last.change <> 'removed';

CREATE MACRO idp_memberships_as_of(ts) AS TABLE
SELECT integration, group_id, user_id
FROM (SELECT integration, group_id, user_id, arg_max(change, idp_sync_id) AS last
      FROM idp_changes WHERE kind = 'membership' AND changed_at <= CAST(ts AS TIMESTAMPTZ) GROUP BY ALL)
WHERE last <> 'removed';

-- Per integration's latest sync, per account x region x type: the source chosen, why, and what
-- it found (the named query `coverage` reads it). A scope listed twice in one run shows its worst
-- outcome, as scope_attempts does.
CREATE VIEW coverage AS
SELECT s.integration, s.sync_id, s.account_id, s.region, s.resource_type, s.source, s.reason, s.status,
       s.resources, s.error_code, s.error_message
FROM sync_scopes s
JOIN (SELECT integration, max(sync_id) AS sync_id FROM sync_runs GROUP BY integration) last
  ON last.integration = s.integration AND last.sync_id = s.sync_id
QUALIFY row_number() OVER (PARTITION BY s.integration, s.account_id, s.region, s.resource_type
                           ORDER BY CASE s.status WHEN 'failed' THEN 0 WHEN 'skipped' THEN 1 ELSE 2 END,
                                    s.started_at DESC NULLS LAST, s.source) = 1;
"""

_V4 = """
CREATE TABLE explorer_setup (
    sync_id BIGINT PRIMARY KEY,
    integration VARCHAR NOT NULL,
    trusted_access BOOLEAN,             -- NULL: not asked (a single account) or not readable
    aggregator_account VARCHAR,
    aggregator_region VARCHAR,          -- NULL: no aggregator index
    view_arn VARCHAR,                   -- the organization- or account-wide view used; NULL: none usable
    view_scope VARCHAR,
    view_has_tags BOOLEAN,
    view_filter VARCHAR,
    supported_types INTEGER,
    problems VARCHAR[]
);

CREATE TABLE explorer_indexes (
    sync_id BIGINT NOT NULL,
    integration VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    index_type VARCHAR NOT NULL,        -- LOCAL | AGGREGATOR
    index_state VARCHAR,                -- ACTIVE | CREATING | UPDATING | ...; NULL: not asked
    view_arn VARCHAR,                   -- the member account's default view, when the sync read it
    view_has_tags BOOLEAN,
    view_filter VARCHAR,
    resources_counted BIGINT,           -- the count the planner weighed (member view against aggregator)
    PRIMARY KEY (sync_id, account_id, region)
);

-- Each integration's last Resource Explorer probe: the setup once per index, so a query can ask
-- "which accounts x regions have no ACTIVE index" without joining anything.
CREATE VIEW explorer_coverage AS
SELECT s.integration, s.sync_id, s.trusted_access, s.aggregator_account, s.aggregator_region,
       s.view_arn AS org_view_arn, s.view_has_tags AS org_view_has_tags,
       i.account_id, i.region, i.index_type, i.index_state,
       i.view_arn AS member_view_arn, i.view_has_tags AS member_view_has_tags, i.view_filter AS member_view_filter,
       i.resources_counted
FROM explorer_setup s
JOIN (SELECT integration, max(sync_id) AS sync_id FROM explorer_setup GROUP BY integration) last
  ON last.integration = s.integration AND last.sync_id = s.sync_id
LEFT JOIN explorer_indexes i ON i.sync_id = s.sync_id;
"""

MIGRATIONS: dict[int, str] = {1: _V1, 2: _V2, 3: _V3, 4: _V4}  # version -> DDL that brings version-1 to version


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
