"""Secrets Manager secrets: ListSecrets, tags inline. Secret values are never read."""

from __future__ import annotations

from sync.sources.model import Resource, ScopeContext, pick, tag_list_to_dict
from sync.sources.spec import Item, ServiceSpec


def normalize_secret(item: Item, ctx: ScopeContext) -> Resource:
    return Resource(
        arn=item["ARN"],
        account_id=ctx.account_id,
        region=ctx.region,
        resource_type="secretsmanager:secret",
        resource_id=item["Name"],
        name=item["Name"],
        tags=tag_list_to_dict(item.get("Tags")),
        properties=pick(item, "Description", "RotationEnabled", "CreatedDate", "LastChangedDate",
                        "LastRotatedDate", "PrimaryRegion"),
    )


SPECS = (
    ServiceSpec(
        resource_type="secretsmanager:secret",
        service="secretsmanager",
        is_global=False,
        list_operation="ListSecrets",
        page_size=100,
        normalize=normalize_secret,
    ),
)
