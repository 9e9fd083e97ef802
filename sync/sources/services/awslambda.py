"""Lambda functions: ListFunctions, tags from ListTags per function."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.sources.model import Resource, ScopeContext, pick
from sync.sources.spec import Item, ServiceSpec, TagCall


def normalize_function(item: Item, ctx: ScopeContext) -> Resource:
    return Resource(
        arn=item["FunctionArn"],
        account_id=ctx.account_id,
        region=ctx.region,
        resource_type="lambda:function",
        resource_id=item["FunctionName"],
        name=item["FunctionName"],
        tags={},  # filled by ListTags
        properties=pick(item, "Runtime", "Role", "Handler", "MemorySize", "LastModified", "PackageType"),
    )


def function_tags(response: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (response.get("Tags") or {}).items()}


SPECS = (
    ServiceSpec(
        resource_type="lambda:function",
        service="lambda",
        is_global=False,
        list_operation="ListFunctions",
        page_size=50,
        tags=TagCall(
            operation="ListTags",
            request=lambda item: {"Resource": item["FunctionArn"]},
            extract=function_tags,
        ),
        normalize=normalize_function,
    ),
)
