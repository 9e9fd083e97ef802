"""AWS Resource Explorer: the coverage probe, the planner's inputs, and the listing source."""
