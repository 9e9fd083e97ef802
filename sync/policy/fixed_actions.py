"""The IAM actions orgsync needs beyond the resource types' own calls, declared once, as data.

Each row names the feature that makes the call, so the policy builder can include exactly the
features a role uses. The per-type actions are not here: they are derived from the specs
(`ServiceSpec.actions`), so a new resource type needs no row. A test scans the engine's source
for the operations it calls and fails when one is missing from both places.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Feature = Literal[
    "identity",  # who the credentials are
    "regions",  # the enabled regions of each account, when the config lists none
    "organization",  # the OU tree walk, in the management account
    "assume-member-role",  # from the management account into each member account
    "assume-management-role",  # from the connector into management_account_role_arn
    "explorer",  # the Resource Explorer source and its coverage probe
    "owners",  # resolving owner tags through IAM Identity Center
    "doctor",  # the extra read-only probes of `orgsync doctor`
]

# Where a row's Resource comes from; "*" for actions that take no resource-level restriction.
ResourceRef = Literal["*", "member-role", "management-role"]


@dataclass(frozen=True)
class FixedAction:
    feature: Feature
    action: str  # "service:Operation" as IAM spells it
    resource: ResourceRef = "*"


FIXED_ACTIONS: tuple[FixedAction, ...] = (
    FixedAction("identity", "sts:GetCallerIdentity"),
    FixedAction("regions", "ec2:DescribeRegions"),
    FixedAction("organization", "organizations:DescribeOrganization"),
    FixedAction("organization", "organizations:ListRoots"),
    FixedAction("organization", "organizations:ListOrganizationalUnitsForParent"),
    FixedAction("organization", "organizations:ListAccountsForParent"),
    FixedAction("organization", "organizations:ListAccounts"),
    FixedAction("assume-member-role", "sts:AssumeRole", "member-role"),
    FixedAction("assume-management-role", "sts:AssumeRole", "management-role"),
    FixedAction("explorer", "resource-explorer-2:ListResources"),
    FixedAction("explorer", "resource-explorer-2:Search"),
    FixedAction("explorer", "resource-explorer-2:ListIndexes"),
    FixedAction("explorer", "resource-explorer-2:ListIndexesForMembers"),
    FixedAction("explorer", "resource-explorer-2:GetIndex"),
    FixedAction("explorer", "resource-explorer-2:GetDefaultView"),
    FixedAction("explorer", "resource-explorer-2:ListViews"),
    FixedAction("explorer", "resource-explorer-2:GetView"),
    FixedAction("explorer", "resource-explorer-2:BatchGetView"),
    FixedAction("explorer", "resource-explorer-2:ListSupportedResourceTypes"),
    FixedAction("explorer", "resource-explorer-2:GetAccountLevelServiceConfiguration"),
    # Tags for a view without the tags property, in each member account (sync/explorer/tagging.py).
    FixedAction("explorer", "tag:GetResources"),
    FixedAction("owners", "identitystore:ListUsers"),
    FixedAction("owners", "identitystore:ListGroups"),
    FixedAction("owners", "identitystore:ListGroupMemberships"),
    FixedAction("owners", "sso:ListInstances"),
    FixedAction("doctor", "ec2:DescribeInstances"),
    FixedAction("doctor", "ssm:DescribeInstanceInformation"),
    FixedAction("doctor", "eks:ListClusters"),
    FixedAction("doctor", "eks:ListAccessEntries"),
)
