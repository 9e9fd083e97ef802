-- Resources added, modified, deleted or restored by the syncs after the given one (see also: changes).
-- param since: a sync_id; changes made by later syncs are listed
-- param integration: only this integration (default: NULL)
SELECT c.integration, c.sync_id, c.change, c.account_id, c.region, c.resource_type, c.arn,
       coalesce(c.new_owner, c.old_owner) AS owner_tag_value, c.old_owner, c.new_owner
FROM resource_changes c
WHERE c.sync_id > CAST($since AS BIGINT) AND ($integration IS NULL OR c.integration = $integration)
ORDER BY c.sync_id, c.change, c.arn;
