-- Current resources by resource type and region, with how many carry an owner tag.
-- param integration: only this integration (default: NULL)
SELECT resource_type, region, count(*) AS resources, count(owner_tag_value) AS with_owner_tag
FROM current_resources
WHERE $integration IS NULL OR integration = $integration
GROUP BY ALL
ORDER BY resource_type, region;
