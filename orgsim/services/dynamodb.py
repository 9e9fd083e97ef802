"""Amazon DynamoDB (json 1.0): ListTables, DescribeTable, ListTagsOfResource.

Table names sort by position (``table-0000042``), so ExclusiveStartTableName, a name, maps
straight back to a position, as ListTables' alphabetical paging requires.
"""

from __future__ import annotations

from typing import Any

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.hashing import mix
from orgsim.inventory import Res, ScopeInfo, position_of
from orgsim.org import BASE_EPOCH
from orgsim.paging import walk
from orgsim.registry import (
    ResourceType,
    ServiceSpec,
    operation,
    register_service,
    register_type,
)

SPEC = register_service(
    ServiceSpec(
        signing_name="dynamodb",
        protocol="json",
        target_prefix="DynamoDB_20120810",
        json_version="1.0",
        throttle=("ThrottlingException", 400),
        server_error=("InternalServerError", 500),
        access_denied=("AccessDeniedException", 400),
        validation=("ValidationException", 400),
        # Control-plane quotas per account and region; ListTagsOfResource is the tight one
        # (10 per second), DescribeTable/ListTables allow far more.
        quotas={"ListTagsOfResource": (10.0, 10.0), "*": (100.0, 100.0)},
    )
)

_PREFIX = "table-"


def table_name(info: ScopeInfo, pos: int, h: int) -> str:
    return f"{_PREFIX}{pos:07d}"


register_type(
    ResourceType(
        rtype="dynamodb:table",
        weight=5.0,
        arn_prefix="arn:aws:dynamodb:{region}:{account}:table/",
        name=table_name,
    )
)


def _scope(call: Call) -> int | None:
    return call.inv.account_scopes(call.caller.account, call.region, "dynamodb:table")


def _start_after(name: str | None) -> int:
    """First position strictly after a table name, comparing names as DynamoDB does."""
    if not name:
        return 0
    pos = position_of(name)
    if name.startswith(_PREFIX) and pos is not None and len(name) == len(_PREFIX) + 7:
        return pos + 1
    return 0 if name < _PREFIX else 10**7


@operation("dynamodb", "ListTables")
def list_tables(call: Call) -> dict[str, Any]:
    s = _scope(call)
    limit = call.int_param("Limit", 100, 1, 100)
    start = _start_after(call.str_param("ExclusiveStartTableName"))
    items: list[Res] = []
    more = None
    if s is not None:
        items, more = walk(call.inv, [s], (s, start), limit, call.generation)
    call.stats.items["dynamodb:ListTables"] += len(items)
    out: dict[str, Any] = {"TableNames": [r.name for r in items]}
    if more is not None and items:
        out["LastEvaluatedTableName"] = items[-1].name
    return out


def _find(call: Call, name: str) -> Res:
    s = _scope(call)
    res = None
    if s is not None:
        prefix = call.inv.info(s).arn_prefix
        name = name.removeprefix(prefix)
        res = call.inv.find_by_name(s, name, position_of(name), call.generation)
    if res is None:
        raise AwsError(
            "ResourceNotFoundException", f"Requested resource not found: Table: {name} not found"
        )
    return res


@operation("dynamodb", "DescribeTable")
def describe_table(call: Call) -> dict[str, Any]:
    res = _find(call, call.str_param("TableName", required=True) or "")
    h = res.h
    items = (h >> 10) % 1_000_000
    return {
        "Table": {
            "TableName": res.name,
            "TableArn": res.arn,
            "TableId": f"{mix(h) & 0xFFFFFFFF:08x}-{(h >> 32) & 0xFFFF:04x}-4{(h >> 48) & 0xFFF:03x}"
            f"-8{(h >> 4) & 0xFFF:03x}-{mix(h + 1) & 0xFFFFFFFFFFFF:012x}",
            "TableStatus": "ACTIVE",
            "CreationDateTime": float(BASE_EPOCH + (h >> 24) % (3 * 365 * 86400)),
            "ItemCount": items,
            "TableSizeBytes": items * 120,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "ProvisionedThroughput": {
                "NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0,
            },
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            "DeletionProtectionEnabled": False,
        }
    }


@operation("dynamodb", "ListTagsOfResource")
def list_tags_of_resource(call: Call) -> dict[str, Any]:
    arn = call.str_param("ResourceArn", required=True) or ""
    s = _scope(call)
    if s is None or not arn.startswith(call.inv.info(s).arn_prefix):
        raise AwsError(
            "AccessDeniedException",
            f"User: {call.caller.arn} is not authorized to perform: dynamodb:ListTagsOfResource "
            f"on resource: {arn}",
        )
    res = _find(call, arn)
    pairs = call.world.tags.sets[res.tagset]
    return {"Tags": [{"Key": k, "Value": v} for k, v in pairs]}
