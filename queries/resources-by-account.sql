-- Current resources counted by integration, account, resource type and region.
-- param integration: only this integration (default: NULL)
SELECT r.integration, r.account_id, a.name AS account_name, r.resource_type, r.region, count(*) AS resources
FROM current_resources r
LEFT JOIN accounts a ON a.integration = r.integration AND a.account_id = r.account_id
WHERE $integration IS NULL OR r.integration = $integration
GROUP BY ALL
ORDER BY r.integration, r.account_id, r.resource_type, r.region;
