-- Per account x region x type, in each integration's last sync: the source chosen, why, and what it found.
-- param integration: only this integration (default: NULL)
-- param account: only this account id (default: NULL)
SELECT integration, account_id, region, resource_type, source, status, resources, reason, error_code
FROM coverage
WHERE ($integration IS NULL OR integration = $integration) AND ($account IS NULL OR account_id = $account)
ORDER BY integration, account_id, region, resource_type;
