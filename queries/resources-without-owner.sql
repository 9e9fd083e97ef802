-- Current resources whose owner tag (the integration's resource_owner.tag_key) is missing, by account and type.
-- param integration: only this integration (default: NULL)
SELECT r.integration, r.account_id, a.name AS account_name, r.resource_type, count(*) AS resources,
       list(r.arn ORDER BY r.arn)[1:5] AS example_arns
FROM current_resources r
LEFT JOIN accounts a ON a.integration = r.integration AND a.account_id = r.account_id
WHERE r.owner_tag_value IS NULL AND ($integration IS NULL OR r.integration = $integration)
GROUP BY ALL
ORDER BY resources DESC, r.account_id, r.resource_type;
