"""EKS clusters: ListClusters gives names only; DescribeCluster gives the ARN and tags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sync.sources.model import Resource, ScopeContext, pick
from sync.sources.spec import DescribeCall, Item, ServiceSpec


def cluster_names(page: Mapping[str, Any]) -> Iterable[Item]:
    return ({"name": name} for name in page.get("clusters") or ())


def normalize_cluster(item: Item, ctx: ScopeContext) -> Resource:
    return Resource(
        arn=item["arn"],
        account_id=ctx.account_id,
        region=ctx.region,
        resource_type="eks:cluster",
        resource_id=item["name"],
        name=item["name"],
        tags=dict(item.get("tags") or {}),
        properties=pick(item, "version", "status", "platformVersion", "createdAt", "endpoint"),
    )


SPECS = (
    ServiceSpec(
        resource_type="eks:cluster",
        service="eks",
        is_global=False,
        list_operation="ListClusters",
        page_size=100,
        items=cluster_names,
        describe=DescribeCall(
            operation="DescribeCluster",
            request=lambda item: {"name": item["name"]},
            extract=lambda item, response: response["cluster"],
        ),
        normalize=normalize_cluster,
    ),
)
