-- Per integration's last Resource Explorer probe, per account x region: the index (type, state),
-- the member default view and whether it carries tags, the count the planner weighed, and the
-- aggregator side (region, whether the organization-wide view has tags, trusted access) on every
-- row. The views' ARNs are in the `explorer_coverage` view.
-- param integration: only this integration (default: NULL)
-- param state: only indexes in this state, e.g. CREATING (default: NULL)
SELECT integration, account_id, region, index_type, index_state, member_view_has_tags, member_view_filter,
       resources_counted, aggregator_region, org_view_has_tags, trusted_access
FROM explorer_coverage
WHERE ($integration IS NULL OR integration = $integration) AND ($state IS NULL OR index_state = $state)
ORDER BY integration, account_id NULLS FIRST, region;
