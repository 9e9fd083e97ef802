"""IAM roles, users, groups and customer-managed policies: global, tags by per-item calls.

Resource Explorer never indexes IAM tags, so these calls are the only source of IAM owner tags.
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
        return Resource(
            arn=item["Arn"],
            account_id=ctx.account_id,
            region=GLOBAL_REGION,
            resource_type=resource_type,
            resource_id=item[id_key],
            name=item[name_key],
            tags={},  # filled by the tag call
            properties=pick(item, "Path", "CreateDate", "Description", "DefaultVersionId",
                            "AttachmentCount", "MaxSessionDuration"),
        )

    normalize.__name__ = f"normalize_{resource_type.split(':')[1]}"
    return normalize


normalize_role = _normalizer("iam:role", "RoleName", "RoleId")
normalize_user = _normalizer("iam:user", "UserName", "UserId")
normalize_group = _normalizer("iam:group", "GroupName", "GroupId")
normalize_policy = _normalizer("iam:policy", "PolicyName", "PolicyId")

SPECS = (
    ServiceSpec(
        resource_type="iam:role", service="iam", is_global=True, list_operation="ListRoles",
        page_size=1000, normalize=normalize_role,
        tags=TagCall(operation="ListRoleTags", request=lambda i: {"RoleName": i["RoleName"]}, extract=_tags),
    ),
    ServiceSpec(
        resource_type="iam:user", service="iam", is_global=True, list_operation="ListUsers",
        page_size=1000, normalize=normalize_user,
        tags=TagCall(operation="ListUserTags", request=lambda i: {"UserName": i["UserName"]}, extract=_tags),
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
