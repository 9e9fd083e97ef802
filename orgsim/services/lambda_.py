"""AWS Lambda (rest-json): ListFunctions (Marker/NextMarker) and ListTags by function ARN."""

from __future__ import annotations

import time
from typing import Any

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.hashing import mix
from orgsim.inventory import Res, ScopeInfo, position_of
from orgsim.org import BASE_EPOCH
from orgsim.paging import scope_listing
from orgsim.registry import (
    ResourceType,
    ServiceSpec,
    operation,
    register_service,
    register_type,
)

SPEC = register_service(
    ServiceSpec(
        signing_name="lambda",
        protocol="rest-json",
        throttle=("TooManyRequestsException", 429),
        server_error=("ServiceException", 500),
        access_denied=("AccessDeniedException", 403),
        validation=("InvalidParameterValueException", 400),
        # Lambda control-plane requests share 15 per second per account and region.
        quotas={"*": (15.0, 15.0)},
        quota_per_op=False,
    )
)

_RUNTIMES = ("python3.12", "nodejs20.x", "java21", "go1.x", "python3.11")
_WORDS = ("api", "worker", "cron", "ingest", "auth", "notify")
_PAGE_CAP = 50  # ListFunctions never returns more than 50 functions per call


def function_name(info: ScopeInfo, pos: int, h: int) -> str:
    return f"fn-{pos:06d}-{_WORDS[h % len(_WORDS)]}"


register_type(
    ResourceType(
        rtype="lambda:function",
        weight=15.0,
        arn_prefix="arn:aws:lambda:{region}:{account}:function:",
        name=function_name,
    )
)


def _config(info: ScopeInfo, res: Res) -> dict[str, Any]:
    h = res.h
    modified = BASE_EPOCH + (h >> 24) % (3 * 365 * 86400)
    lm = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(modified))
    return {
        "FunctionName": res.name,
        "FunctionArn": res.arn,
        "Runtime": _RUNTIMES[(h >> 8) % len(_RUNTIMES)],
        "Role": f"arn:aws:iam::{info.account_id}:role/lambda-exec",
        "Handler": "index.handler",
        "CodeSize": 1024 + (h >> 12) % 5_000_000,
        "Description": "",
        "Timeout": 3 + (h >> 16) % 60,
        "MemorySize": 128 * (1 + (h >> 20) % 8),
        "LastModified": lm,
        "CodeSha256": f"{mix(h):016x}{mix(h + 1):016x}",
        "Version": "$LATEST",
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": f"{mix(h + 2) & 0xFFFFFFFF:08x}-0000-4000-8000-{mix(h + 3) & 0xFFFFFFFFFFFF:012x}",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{res.name}"},
    }


@operation("lambda", "ListFunctions", method="GET", path="/2015-03-31/functions")
def list_functions(call: Call) -> dict[str, Any]:
    inv = call.inv
    s = inv.account_scopes(call.caller.account, call.region, "lambda:function")
    limit = min(call.int_param("MaxItems", _PAGE_CAP, 1, 10000), _PAGE_CAP)
    bad = AwsError("InvalidParameterValueException", "Invalid marker")
    items, marker = scope_listing(
        inv, s, call.str_param("Marker"), "lmb", limit, call.generation, bad
    )
    call.stats.items["lambda:ListFunctions"] += len(items)
    info = inv.info(s) if s is not None else None
    out: dict[str, Any] = {"Functions": [_config(info, r) for r in items] if info else []}
    if marker:
        out["NextMarker"] = marker
    return out


@operation("lambda", "ListTags", method="GET", path="/2017-03-31/tags/{Resource+}")
def list_tags(call: Call) -> dict[str, Any]:
    arn = str(call.params.get("Resource", ""))
    inv = call.inv
    s = inv.account_scopes(call.caller.account, call.region, "lambda:function")
    prefix = inv.info(s).arn_prefix if s is not None else None
    res = None
    if prefix and arn.startswith(prefix):
        name = arn[len(prefix):]
        res = inv.find_by_name(s, name, position_of(name), call.generation)  # type: ignore[arg-type]
    if res is None:
        raise AwsError("ResourceNotFoundException", f"Function not found: {arn}", 404)
    return {"Tags": call.world.tags.dicts[res.tagset]}
