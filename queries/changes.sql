-- Resources added, modified, deleted or restored since a sync or a time, with owner and tag changes.
-- param since: a sync_id (changes by later syncs), a time (2026-01-31 or 2026-01-31T12:00:00Z; UTC unless given) or an age (30m, 12h, 7d)
-- param integration: only this integration (default: NULL)
-- param account: only these account IDs, comma-separated (default: NULL)
-- param type: only these resource types, comma-separated (default: NULL)
-- param change: only these changes (added, modified, deleted, restored), comma-separated (default: NULL)
WITH since AS (
    SELECT TRY_CAST($since AS BIGINT) AS sync_id,
           CASE WHEN TRY_CAST($since AS BIGINT) IS NULL
                THEN coalesce(TRY_CAST($since AS TIMESTAMPTZ), now() - TRY_CAST($since AS INTERVAL),
                              error('since: ''' || $since || ''' is neither a sync id, a time nor an age like 12h or 7d'))
           END AS at
)
SELECT c.sync_id, c.changed_at, c.change, c.integration, c.account_id, c.region, c.resource_type, c.arn,
       c.old_owner, c.new_owner,
       -- added: the tags it came with; deleted: the tags it had; otherwise what changed in them
       CASE c.change WHEN 'added' THEN c.new_tags WHEN 'deleted' THEN c.old_tags
                     ELSE to_json(tags_diff(c.old_tags, c.new_tags)) END AS tags
FROM resource_changes c, since s
WHERE (c.sync_id > s.sync_id OR c.changed_at > s.at)
  AND ($integration IS NULL OR c.integration = $integration)
  AND ($account IS NULL OR list_contains(string_split(replace($account, ' ', ''), ','), c.account_id))
  AND ($type IS NULL OR list_contains(string_split(replace($type, ' ', ''), ','), c.resource_type))
  AND ($change IS NULL OR list_contains(string_split(replace($change, ' ', ''), ','), c.change))
ORDER BY c.sync_id, c.change, c.arn;
