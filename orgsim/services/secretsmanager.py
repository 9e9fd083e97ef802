"""AWS Secrets Manager (json 1.1): ListSecrets with inline tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.hashing import alnum, mix
from orgsim.inventory import Res, ScopeInfo
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
        signing_name="secretsmanager",
        protocol="json",
        target_prefix="secretsmanager",
        throttle=("ThrottlingException", 400),
        server_error=("InternalServiceError", 500),
        access_denied=("AccessDeniedException", 400),
        validation=("InvalidParameterException", 400),
        # Secrets Manager: ListSecrets is limited to 100 requests per second per account/region.
        quotas={"ListSecrets": (100.0, 100.0)},
    )
)


def secret_name(info: ScopeInfo, pos: int, h: int) -> str:
    return f"secret-{pos:06d}-{('db', 'api-key', 'token', 'cert')[h % 4]}"


def secret_tail(name: str, h: int) -> str:
    """Secrets Manager appends a dash and six random characters to the name in the ARN."""
    return f"{name}-{alnum(mix(h), 6)}"


register_type(
    ResourceType(
        rtype="secretsmanager:secret",
        weight=6.0,
        arn_prefix="arn:aws:secretsmanager:{region}:{account}:secret:",
        name=secret_name,
        arn_tail=secret_tail,
    )
)


def _filters(call: Call) -> Callable[[Res], bool] | None:
    raw = call.params.get("Filters") or []
    if not raw:
        return None
    sets = call.world.tags.sets
    checks: list[Callable[[Res], bool]] = []
    for f in raw:
        key = f.get("Key")
        values = [str(v) for v in f.get("Values") or []]
        if key == "name":
            checks.append(lambda r, v=values: any(r.name.startswith(x) for x in v))
        elif key == "tag-key":
            checks.append(lambda r, v=values: any(k.startswith(x) for k, _ in sets[r.tagset]
                                                  for x in v))
        elif key == "tag-value":
            checks.append(lambda r, v=values: any(val.startswith(x) for _, val in sets[r.tagset]
                                                  for x in v))
        elif key == "all":
            checks.append(lambda r, v=values: any(
                r.name.startswith(x) or any(k.startswith(x) or val.startswith(x)
                                            for k, val in sets[r.tagset]) for x in v))
        else:
            raise AwsError("InvalidParameterException", f"Invalid filter key: {key}")
    return lambda r: all(c(r) for c in checks)


def _entry(call: Call, res: Res, region: str) -> dict[str, Any]:
    h = res.h
    created = float(BASE_EPOCH + (h >> 24) % (3 * 365 * 86400))
    out: dict[str, Any] = {
        "ARN": res.arn,
        "Name": res.name,
        "LastChangedDate": created + 86400,
        "LastAccessedDate": float(int(created) // 86400 * 86400 + 86400 * 30),
        "SecretVersionsToStages": {f"{mix(h) & 0xFFFFFFFF:08x}-v1": ["AWSCURRENT"]},
        "CreatedDate": created,
    }
    pairs = call.world.tags.sets[res.tagset]
    if pairs:
        out["Tags"] = [{"Key": k, "Value": v} for k, v in pairs]
    return out


@operation("secretsmanager", "ListSecrets")
def list_secrets(call: Call) -> dict[str, Any]:
    inv = call.inv
    s = inv.account_scopes(call.caller.account, call.region, "secretsmanager:secret")
    limit = call.int_param("MaxResults", 100, 1, 100)
    bad = AwsError("InvalidNextTokenException", "The NextToken value is invalid.")
    items, token = scope_listing(
        inv, s, call.str_param("NextToken"), "sm", limit, call.generation, bad, _filters(call)
    )
    call.stats.items["secretsmanager:ListSecrets"] += len(items)
    out: dict[str, Any] = {"SecretList": [_entry(call, r, call.region) for r in items]}
    if token:
        out["NextToken"] = token
    return out
