"""The normalized resource every source produces, and small pure helpers for normalizers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

GLOBAL_REGION = "global"


class Resource(NamedTuple):
    arn: str
    account_id: str
    region: str  # GLOBAL_REGION for global types
    resource_type: str  # Resource Explorer's name, e.g. "ec2:instance"
    resource_id: str
    name: str | None
    tags: Mapping[str, str] | None  # None: could not be read this run (see TagCall.unreadable_on)
    properties: Mapping[str, Any]
    last_reported_at: datetime | None = None


@dataclass(frozen=True)
class ScopeContext:
    """Where a page came from; normalizers need it to build ARNs AWS does not return."""

    account_id: str
    region: str  # the API region the call went to

    @property
    def partition(self) -> str:
        return partition_for(self.region)


def partition_for(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso"):
        return "aws-iso-b" if region.startswith("us-isob") else "aws-iso"
    return "aws"


# The Region where a Region-bound API (the Tagging API) answers for a partition's global resources
# (IAM's). In the aws partition that is us-east-1 alone: GetResources elsewhere leaves global
# resources' tags out, which is why Cloud Custodian's tag reader asks us-east-1 for them. The other
# partitions are assumed to follow the same rule with their first Region.
_GLOBAL_HOMES = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1",
                 "aws-iso": "us-iso-east-1", "aws-iso-b": "us-isob-east-1"}


def global_home(region: str) -> str:
    """Where global resources of `region`'s partition are answered for by Region-bound APIs."""
    return _GLOBAL_HOMES[partition_for(region)]


def tag_list_to_dict(tags: Iterable[Mapping[str, Any]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """AWS's [{Key, Value}] lists; duplicate keys cannot occur in AWS, last one wins if they do."""
    if not tags:
        return {}
    return {str(t[key]): str(t.get(value) or "") for t in tags}


def pick(item: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The properties worth keeping, without the Nones AWS leaves out anyway."""
    return {k: item[k] for k in keys if item.get(k) is not None}
