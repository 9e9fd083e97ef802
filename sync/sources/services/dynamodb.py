"""DynamoDB tables: ListTables (names), DescribeTable (ARN), ListTagsOfResource (tags, 10/s)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sync.sources.model import Resource, ScopeContext, pick, tag_list_to_dict
from sync.sources.spec import DescribeCall, Item, ServiceSpec, TagCall


def table_names(page: Mapping[str, Any]) -> Iterable[Item]:
    return ({"TableName": name} for name in page.get("TableNames") or ())


def normalize_table(item: Item, ctx: ScopeContext) -> Resource:
    return Resource(
        arn=item["TableArn"],
        account_id=ctx.account_id,
        region=ctx.region,
        resource_type="dynamodb:table",
        resource_id=item["TableName"],
        name=item["TableName"],
        tags={},  # filled by ListTagsOfResource
        properties=pick(item, "TableStatus", "CreationDateTime", "ItemCount", "TableSizeBytes", "TableId"),
    )


def table_tags(response: Mapping[str, Any]) -> dict[str, str]:
    return tag_list_to_dict(response.get("Tags"))


SPECS = (
    ServiceSpec(
        resource_type="dynamodb:table",
        service="dynamodb",
        is_global=False,
        list_operation="ListTables",
        page_size=100,
        items=table_names,
        describe=DescribeCall(
            operation="DescribeTable",
            request=lambda item: {"TableName": item["TableName"]},
            extract=lambda item, response: response["Table"],
        ),
        tags=TagCall(
            operation="ListTagsOfResource",
            request=lambda item: {"ResourceArn": item["TableArn"]},
            extract=table_tags,
        ),
        normalize=normalize_table,
    ),
)
