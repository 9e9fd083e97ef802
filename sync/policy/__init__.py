"""Least-privilege IAM policies for orgsync's roles, derived from the specs and FIXED_ACTIONS."""

from sync.policy.build import (
    ROLES,
    SOURCES,
    Grant,
    PolicyError,
    Role,
    RolePlan,
    plan_role,
    policy_document,
    role_grants,
    type_actions,
    widest_integration,
)
from sync.policy.fixed_actions import FIXED_ACTIONS, Feature, FixedAction

__all__ = [
    "FIXED_ACTIONS",
    "ROLES",
    "SOURCES",
    "Feature",
    "FixedAction",
    "Grant",
    "PolicyError",
    "Role",
    "RolePlan",
    "plan_role",
    "policy_document",
    "role_grants",
    "type_actions",
    "widest_integration",
]
