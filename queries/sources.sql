-- Which source covered each account, region and type in each integration's last sync, and why.
-- param integration: only this integration (default: NULL)
SELECT s.integration, s.source, s.status, s.reason, count(*) AS scopes, sum(s.resources) AS resources,
       count(DISTINCT s.account_id) AS accounts
FROM sync_scopes s
JOIN (SELECT integration, max(sync_id) AS sync_id FROM sync_runs GROUP BY integration) last USING (integration, sync_id)
WHERE $integration IS NULL OR s.integration = $integration
GROUP BY ALL
ORDER BY s.integration, s.source, s.status;
