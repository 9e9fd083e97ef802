-- Resources added, modified or deleted by the syncs after the given one.
-- param since: a sync_id; changes made by later syncs are listed
-- param integration: only this integration (default: NULL)
SELECT r.integration, r.sync_id,
       CASE WHEN r.deleted_at IS NOT NULL THEN 'deleted'
            WHEN r.first_seen > base.finished_at THEN 'added'
            ELSE 'modified' END AS change,
       r.account_id, r.region, r.resource_type, r.arn, r.owner_tag_value
FROM resources r, (SELECT finished_at FROM sync_runs WHERE sync_id = CAST($since AS BIGINT)) base
WHERE r.sync_id > CAST($since AS BIGINT) AND ($integration IS NULL OR r.integration = $integration)
ORDER BY r.sync_id, change, r.arn;
