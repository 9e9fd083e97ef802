"""Resource Groups Tagging API (json 1.1): GetResources for the caller's account and Region.

Like AWS, a resource that was never tagged does not appear; one whose tags were all removed
still does, with an empty tag list. IAM users and roles are not served (AWS: "GetResources does
not currently support IAM users and roles"); customer managed policies are, and like every global
resource only in us-east-1, the one Region where AWS reports global resources' tags.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.inventory import Res
from orgsim.paging import cursor_token, read_cursor, walk
from orgsim.registry import ServiceSpec, operation, register_service

GLOBAL_TAGS_REGION = "us-east-1"  # where GetResources answers for global (IAM) resources

SPEC = register_service(
    ServiceSpec(
        signing_name="tagging",
        protocol="json",
        target_prefix="ResourceGroupsTaggingAPI_20170126",
        throttle=("ThrottledException", 400),
        server_error=("InternalServiceException", 500),
        access_denied=("AccessDeniedException", 400),
        validation=("InvalidParameterException", 400),
        # The Tagging API throttles GetResources per account and Region at a low rate.
        quotas={"*": (10.0, 20.0)},
    )
)


def _type_ok(filters: list[str]) -> Callable[[str], bool]:
    wanted = [f.lower() for f in filters]
    return lambda rtype: not wanted or any(rtype == f or rtype.split(":", 1)[0] == f
                                           for f in wanted)


def _tag_filter(call: Call) -> Callable[[Res], bool]:
    """AND across filters, OR across one filter's values; no values means the key exists."""
    raw = call.params.get("TagFilters") or []
    sets = call.world.tags.dicts
    pick = call.world.tags.pick
    checks: list[Callable[[dict[str, str]], bool]] = []
    for f in raw:
        key = f.get("Key")
        if not key:
            raise call.invalid("TagFilters: Key is required")
        values = set(f.get("Values") or [])
        checks.append(lambda d, k=key, v=values: k in d and (not v or d[k] in v))

    def accept(res: Res) -> bool:
        if not res.tagset and not pick(res.h):
            return False  # never tagged: absent from the Tagging API
        d = sets[res.tagset]
        return all(c(d) for c in checks)

    return accept


@operation("tagging", "GetResources")
def get_resources(call: Call) -> dict[str, Any]:
    if call.params.get("ResourceARNList"):
        raise call.invalid("orgsim does not simulate ResourceARNList lookups")
    inv = call.inv
    limit = call.int_param("ResourcesPerPage", 100, 1, 100)
    type_ok = _type_ok([str(x) for x in call.params.get("ResourceTypeFilters") or []])
    scopes = []
    for t, rt in enumerate(inv.types):
        here = call.region == GLOBAL_TAGS_REGION if rt.is_global else True
        if rt.in_tagging_api and rt.taggable and here and type_ok(rt.rtype):
            s = inv.account_scopes(call.caller.account, call.region, rt.rtype)
            if s is not None and inv.counts[s]:
                scopes.append(s)
    scopes.sort()
    bad = AwsError("PaginationTokenExpiredException", "The pagination token is invalid.")
    cursor = read_cursor(call.str_param("PaginationToken") or None, "tg", bad)
    items, nxt = walk(inv, scopes, cursor, limit, call.generation, _tag_filter(call))
    call.stats.items["tagging:GetResources"] += len(items)
    pairs = call.world.tags.sets
    return {
        # AWS ends the listing with an empty string, not a missing token.
        "PaginationToken": cursor_token("tg", *nxt) if nxt is not None else "",
        "ResourceTagMappingList": [
            {"ResourceARN": r.arn, "Tags": [{"Key": k, "Value": v} for k, v in pairs[r.tagset]]}
            for r in items
        ],
    }
