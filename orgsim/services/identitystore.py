"""IAM Identity Center's Identity Store (json 1.1): users, groups, memberships.

Only the management account, in the Identity Center home Region and with the right store id,
can read it — as with a real organization instance of Identity Center.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.identity import Group, User
from orgsim.paging import offset_page
from orgsim.registry import ServiceSpec, operation, register_service

SPEC = register_service(
    ServiceSpec(
        signing_name="identitystore",
        protocol="json",
        target_prefix="AWSIdentityStore",
        throttle=("ThrottlingException", 400),
        server_error=("InternalServerException", 500),
        access_denied=("AccessDeniedException", 400),
        validation=("ValidationException", 400),
        # Identity Store read APIs: about 20 requests per second per account.
        quotas={"*": (20.0, 40.0)},
        quota_per_op=False,
    )
)


def _store(call: Call) -> str:
    store = call.str_param("IdentityStoreId", required=True) or ""
    world = call.world
    if not call.is_management:
        raise AwsError("AccessDeniedException", "User is not authorized to access the identity "
                       "store.")
    if store != world.identity.store_id or call.region != world.org.identity_region:
        raise AwsError("ResourceNotFoundException", f"Identity store {store} not found.")
    return store


def _filter(call: Call, attr: str) -> str | None:
    for f in call.params.get("Filters") or []:
        if f.get("AttributePath") != attr:
            raise call.invalid(f"Unsupported AttributePath {f.get('AttributePath')!r}")
        return str(f.get("AttributeValue", ""))
    return None


def _paged(call: Call, items: Sequence[Any], tag: str) -> tuple[Sequence[Any], str | None]:
    limit = call.int_param("MaxResults", 100, 1, 100)
    bad = AwsError("ValidationException", "The NextToken is invalid.")
    return offset_page(items, call.str_param("NextToken"), limit, tag, bad)


def _user(u: User, store: str) -> dict[str, Any]:
    return {
        "UserName": u.user_name,
        "UserId": u.user_id,
        "Name": {"Formatted": u.display_name, "FamilyName": u.family, "GivenName": u.given},
        "DisplayName": u.display_name,
        "Emails": [{"Value": u.email, "Type": "work", "Primary": True}],
        "IdentityStoreId": store,
    }


def _group(g: Group, store: str) -> dict[str, Any]:
    return {"GroupId": g.group_id, "DisplayName": g.display_name, "Description": g.description,
            "IdentityStoreId": store}


@operation("identitystore", "ListUsers")
def list_users(call: Call) -> dict[str, Any]:
    store = _store(call)
    name = _filter(call, "UserName")
    users = [u for u in call.world.identity.users if name is None or u.user_name == name]
    page, token = _paged(call, users, "isu")
    out: dict[str, Any] = {"Users": [_user(u, store) for u in page]}
    if token:
        out["NextToken"] = token
    return out


@operation("identitystore", "ListGroups")
def list_groups(call: Call) -> dict[str, Any]:
    store = _store(call)
    name = _filter(call, "DisplayName")
    groups = [g for g in call.world.identity.groups if name is None or g.display_name == name]
    page, token = _paged(call, groups, "isg")
    out: dict[str, Any] = {"Groups": [_group(g, store) for g in page]}
    if token:
        out["NextToken"] = token
    return out


@operation("identitystore", "ListGroupMemberships")
def list_group_memberships(call: Call) -> dict[str, Any]:
    store = _store(call)
    gid = call.str_param("GroupId", required=True) or ""
    ident = call.world.identity
    group = ident.group_by_id.get(gid)
    if group is None:
        raise AwsError("ResourceNotFoundException", f"Group {gid} not found.")
    page, token = _paged(call, group.members, f"ism{gid[-6:]}")
    out: dict[str, Any] = {
        "GroupMemberships": [
            {
                "IdentityStoreId": store,
                "MembershipId": f"{gid[:-12]}{m:012x}",
                "GroupId": gid,
                "MemberId": {"UserId": ident.users[m].user_id},
            }
            for m in page
        ]
    }
    if token:
        out["NextToken"] = token
    return out
