"""IAM roles, users, groups and customer-managed policies: global.

Resource Explorer never indexes IAM tags, so IAM's own API is the only source of IAM owner tags.
Roles and users come from GetAccountAuthorizationDetails, which carries their tags inline, 1,000
entities a call: ListRoles/ListUsers leave tags out and would cost one ListRoleTags/ListUserTags
call per entity against IAM's low account-wide rate (the org-500 benchmark spent 31,000 calls,
26 minutes, on one account's role tags). Customer-managed policies have no such bulk source
(ManagedPolicyDetail has no tags), so they keep one ListPolicyTags call each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.sources.model import GLOBAL_REGION, Resource, ScopeContext, pick, tag_list_to_dict
from sync.sources.spec import Item, ServiceSpec, TagCall


def _tags(response: Mapping[str, Any]) -> dict[str, str]:
    return tag_list_to_dict(response.get("Tags"))


def _normalizer(resource_type: str, name_key: str, id_key: str) -> Any:
    def normalize(item: Item, ctx: ScopeContext) -> Resource:
        # Tags inline (authorization details) or {} until the per-item tag call fills them.
        return Resource(
            arn=item["Arn"],
            account_id=ctx.account_id,
            region=GLOBAL_REGION,
            resource_type=resource_type,
            resource_id=item[id_key],
            name=item[name_key],
            tags=tag_list_to_dict(item.get("Tags")),
            properties=pick(item, "Path", "CreateDate", "Description", "DefaultVersionId",
                            "AttachmentCount", "MaxSessionDuration"),
        )

    normalize.__name__ = f"normalize_{resource_type.split(':')[1]}"
    return normalize


normalize_role = _normalizer("iam:role", "RoleName", "RoleId")
normalize_user = _normalizer("iam:user", "UserName", "UserId")
normalize_group = _normalizer("iam:group", "GroupName", "GroupId")
normalize_policy = _normalizer("iam:policy", "PolicyName", "PolicyId")

def _details(key: str) -> Any:
    def items(page: Mapping[str, Any]) -> Any:
        return page.get(key) or ()

    return items


SPECS = (
    ServiceSpec(
        resource_type="iam:role", service="iam", is_global=True, list_operation="GetAccountAuthorizationDetails",
        list_params={"Filter": ["Role"]}, page_size=1000, items=_details("RoleDetailList"), normalize=normalize_role,
    ),
    ServiceSpec(
        resource_type="iam:user", service="iam", is_global=True, list_operation="GetAccountAuthorizationDetails",
        list_params={"Filter": ["User"]}, page_size=1000, items=_details("UserDetailList"), normalize=normalize_user,
    ),
    # IAM groups cannot carry tags in AWS, so there is no tag call.
    ServiceSpec(
        resource_type="iam:group", service="iam", is_global=True, list_operation="ListGroups",
        page_size=1000, normalize=normalize_group,
    ),
    ServiceSpec(
        resource_type="iam:policy", service="iam", is_global=True, list_operation="ListPolicies",
        list_params={"Scope": "Local"}, page_size=1000, normalize=normalize_policy,
        tags=TagCall(operation="ListPolicyTags", request=lambda i: {"PolicyArn": i["Arn"]}, extract=_tags),
    ),
)
