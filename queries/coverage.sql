-- Per account x region x type, in each integration's last sync: the source chosen, why, and what it found.
-- param integration: only this integration (default: NULL)
-- param account: only this account id (default: NULL)
SELECT s.integration, s.account_id, s.region, s.resource_type, s.source, s.status, s.resources, s.reason,
       s.error_code
FROM sync_scopes s
JOIN (SELECT integration, max(sync_id) AS sync_id FROM sync_runs GROUP BY integration) last USING (integration, sync_id)
WHERE ($integration IS NULL OR s.integration = $integration) AND ($account IS NULL OR s.account_id = $account)
ORDER BY s.integration, s.account_id, s.region, s.resource_type;
