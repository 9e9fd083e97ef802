-- Failed and skipped scopes (account x region x type) of each integration's last sync, with AWS's error.
-- param integration: only this integration (default: NULL)
SELECT s.integration, s.sync_id, s.status, s.account_id, s.region, s.resource_type, s.error_code, s.error_message
FROM sync_scopes s
JOIN (SELECT integration, max(sync_id) AS sync_id FROM sync_runs GROUP BY integration) last USING (integration, sync_id)
WHERE s.status <> 'complete' AND ($integration IS NULL OR s.integration = $integration)
ORDER BY s.integration, s.status, s.account_id, s.region, s.resource_type;
