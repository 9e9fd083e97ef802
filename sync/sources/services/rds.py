"""RDS DB instances: DescribeDBInstances, tags inline (TagList)."""

from __future__ import annotations

from sync.sources.model import Resource, ScopeContext, pick, tag_list_to_dict
from sync.sources.spec import Item, ServiceSpec


def normalize_db(item: Item, ctx: ScopeContext) -> Resource:
    identifier = item["DBInstanceIdentifier"]
    arn = item.get("DBInstanceArn") or f"arn:{ctx.partition}:rds:{ctx.region}:{ctx.account_id}:db:{identifier}"
    return Resource(
        arn=arn,
        account_id=ctx.account_id,
        region=ctx.region,
        resource_type="rds:db",
        resource_id=identifier,
        name=identifier,
        tags=tag_list_to_dict(item.get("TagList")),
        properties=pick(item, "Engine", "EngineVersion", "DBInstanceClass", "DBInstanceStatus",
                        "MultiAZ", "InstanceCreateTime", "DbiResourceId"),
    )


SPECS = (
    ServiceSpec(
        resource_type="rds:db",
        service="rds",
        is_global=False,
        list_operation="DescribeDBInstances",
        page_size=100,
        normalize=normalize_db,
    ),
)
