"""Resource Explorer results -> the same rows the service APIs produce (pure).

Same ARN, type name, region convention and tags as the per-service path, so both sources write
identical catalog rows apart from `source` and the type-specific properties only the service
APIs return. Names and ids come from the ARN, as the per-service normalizers derive them.

`normalize_page` is the hot path of a sync (once per resource, hundreds of thousands of times):
it goes from a parsed page straight to column lists, without a Resource tuple or an intermediate
tag mapping per row, and leaves timestamps as the ISO strings Arrow converts in bulk.
`normalize_explorer` states the same rules for one resource; the tests hold the two equal.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from sync.batches import Columns
from sync.sources.model import GLOBAL_REGION, Resource

AreaKey = tuple[str, str, str]  # (account, scope region, type): a ScopeKey's fields, cheap per item

# Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
_SORTED = orjson.OPT_SORT_KEYS  # equal tags give equal JSON whatever order AWS lists them in


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
    return Resource(arn, item["OwningAccountId"], item.get("Region") or GLOBAL_REGION, resource_type,
                    resource_id, name, tags, {}, _reported(item.get("LastReportedAt") or None))


def normalize_page(
    items: Iterable[Mapping[str, Any]],
    wanted: Collection[AreaKey],
    global_types: Collection[str],
    owner_tag_key: str | None,
) -> tuple[Columns, dict[AreaKey, int]]:
    """The page's resources of the `wanted` scopes as columns, in page order, and their count per scope.

    Items of other scopes are dropped: another query lists them. Rows equal normalize_explorer's
    (tags as sorted JSON, "{}" when none; properties "{}"); last_reported_at stays an ISO string
    (None when absent) for BatchBuilder to convert per batch.
    """
    cols = Columns()
    arns, accounts, regions, scope_regions, types = (cols.arn, cols.account_id, cols.region, cols.scope_region,
                                                     cols.resource_type)
    ids, names, tag_json, owners, reported = (cols.resource_id, cols.name, cols.tags, cols.owner_tag_value,
                                              cols.last_reported_at)
    counts: dict[AreaKey, int] = {}
    dumps = orjson.dumps
    for item in items:
        resource_type = item["ResourceType"]
        account = item["OwningAccountId"]
        region = item.get("Region") or GLOBAL_REGION
        key = (account, GLOBAL_REGION if resource_type in global_types else region, resource_type)
        if key not in wanted:
            continue
        counts[key] = counts.get(key, 0) + 1
        arn = item["Arn"]
        tags: dict[str, str] | None = None
        for prop in item.get("Properties") or ():
            if prop.get("Name") == "tags":
                tags = {str(t["Key"]): str(t.get("Value") or "") for t in prop.get("Data") or ()}
                break
        # The common types inline (resource_id_and_name's rules): a call per row is a tenth of the row's cost.
        part = arn.split(":", 5)[5]
        if resource_type == "ec2:instance":
            ids.append(part.split("/", 1)[-1])
            names.append(tags.get("Name") if tags else None)
        elif resource_type == "lambda:function" or resource_type == "rds:db":
            name = part.split(":", 1)[-1]
            ids.append(name)
            names.append(name)
        else:
            rid, name = resource_id_and_name(resource_type, arn, tags or {})
            ids.append(rid)
            names.append(name)
        if tags:
            tag_json.append(dumps(tags, option=_SORTED).decode())
            owners.append(tags.get(owner_tag_key) if owner_tag_key else None)
        else:
            tag_json.append("{}")
            owners.append(None)
        arns.append(arn)
        accounts.append(account)
        regions.append(region)
        scope_regions.append(key[1])
        types.append(resource_type)
        reported.append(item.get("LastReportedAt") or None)
    cols.properties.extend(["{}"] * len(arns))
    return cols, counts
