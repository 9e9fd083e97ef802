"""A Resource Explorer result -> the same Resource the service APIs produce (pure).

Same ARN, type name, region convention and tags as the per-service path, so both sources write
identical catalog rows apart from `source` and the type-specific properties only the service
APIs return. Names and ids come from the ARN, as the per-service normalizers derive them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sync.sources.model import GLOBAL_REGION, Resource

# Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def _resource_part(arn: str) -> str:
    # arn:partition:service:region:account:resource (the resource part may contain ':' itself)
    return arn.split(":", 5)[5]


def resource_id_and_name(resource_type: str, arn: str, tags: Mapping[str, str]) -> tuple[str, str | None]:
    part = _resource_part(arn)
    if resource_type == "s3:bucket":
        return part, part
    if resource_type == "ec2:instance":
        instance_id = part.split("/", 1)[-1]
        return instance_id, tags.get("Name")
    if resource_type == "secretsmanager:secret":
        name = _SECRET_SUFFIX.sub("", part.split(":", 1)[-1])
        return name, name
    if resource_type == "rds:db" or resource_type == "lambda:function":
        name = part.split(":", 1)[-1]
        return name, name
    name = part.split("/")[-1] if "/" in part else part.split(":")[-1]
    return name, name


def _tags(properties: list[Mapping[str, Any]] | None) -> dict[str, str]:
    for prop in properties or ():
        if prop.get("Name") == "tags":
            return {str(t["Key"]): str(t.get("Value") or "") for t in prop.get("Data") or ()}
    return {}


@lru_cache(maxsize=4096)
def _reported(value: str | None) -> datetime | None:
    # Resources indexed together share LastReportedAt strings: parse each distinct one once.
    if not value:
        return None
    return datetime.fromisoformat(value)


def normalize_explorer(item: Mapping[str, Any]) -> Resource:
    arn = item["Arn"]
    resource_type = item["ResourceType"]
    tags = _tags(item.get("Properties"))
    resource_id, name = resource_id_and_name(resource_type, arn, tags)
    # Positional: this runs once per resource on the hottest path of a sync.
    return Resource(arn, item["OwningAccountId"], item.get("Region") or GLOBAL_REGION, resource_type,
                    resource_id, name, tags, {}, _reported(item.get("LastReportedAt") or None))
