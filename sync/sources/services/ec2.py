"""EC2 instances: DescribeInstances, tags inline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sync.sources.model import Resource, ScopeContext, pick, tag_list_to_dict
from sync.sources.spec import Item, ServiceSpec

GONE_STATES = frozenset({"terminated"})


def instances(page: Mapping[str, Any]) -> Iterable[Item]:
    for reservation in page.get("Reservations") or ():
        yield from reservation.get("Instances") or ()


def normalize_instance(item: Item, ctx: ScopeContext) -> Resource | None:
    state = (item.get("State") or {}).get("Name")
    if state in GONE_STATES:
        return None  # AWS keeps terminated instances visible for about an hour; they are gone
    instance_id = item["InstanceId"]
    tags = tag_list_to_dict(item.get("Tags"))
    props = pick(item, "InstanceType", "ImageId", "VpcId", "SubnetId", "PrivateIpAddress",
                 "PlatformDetails", "LaunchTime")
    props["State"] = state
    if item.get("Placement"):
        props["AvailabilityZone"] = item["Placement"].get("AvailabilityZone")
    if item.get("IamInstanceProfile"):
        props["IamInstanceProfile"] = item["IamInstanceProfile"].get("Arn")
    return Resource(
        arn=f"arn:{ctx.partition}:ec2:{ctx.region}:{ctx.account_id}:instance/{instance_id}",
        account_id=ctx.account_id,
        region=ctx.region,
        resource_type="ec2:instance",
        resource_id=instance_id,
        name=tags.get("Name"),
        tags=tags,
        properties=props,
    )


SPECS = (
    ServiceSpec(
        resource_type="ec2:instance",
        service="ec2",
        is_global=False,
        list_operation="DescribeInstances",
        page_size=1000,
        items=instances,
        normalize=normalize_instance,
    ),
)
