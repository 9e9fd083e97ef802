"""Read an IAM Identity Center Identity Store: users, groups, and each group's members.

Calls go through the engine's ApiCaller (rate limited, retried, counted). The store id comes
from the caller or from sso-admin ListInstances in the same region; an account with several
Identity Center instances must name one. Any failed call fails the whole read: a directory with
some groups' members missing would silently drop approvers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sync.owners.directory import (
    SOURCE_IDENTITY_STORE,
    Directory,
    IdpGroup,
    IdpUser,
    Membership,
)

Call = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]  # (service, operation, params)

PAGE_SIZE = 100  # the Identity Store list APIs' maximum


class IdentityStoreNotFound(Exception):
    """No usable Identity Center instance in the region, or several and none chosen."""


async def _pages(call: Call, service: str, operation: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = await call(service, operation, dict(params, NextToken=token) if token else params)
        yield page
        token = page.get("NextToken")
        if not token:
            return


async def find_identity_store(call: Call, region: str) -> str:
    """The IdentityStoreId of the region's only Identity Center instance."""
    instances: list[dict[str, Any]] = []
    async for page in _pages(call, "sso-admin", "ListInstances", {"MaxResults": 100}):
        instances.extend(page.get("Instances") or ())
    stores = sorted({str(i["IdentityStoreId"]) for i in instances if i.get("IdentityStoreId")})
    if not stores:
        raise IdentityStoreNotFound(f"no IAM Identity Center instance in {region}: check the SSO region, "
                                    f"or pass --identity-store-id")
    if len(stores) > 1:
        raise IdentityStoreNotFound(f"{len(stores)} IAM Identity Center instances in {region} "
                                    f"({', '.join(stores)}): pass --identity-store-id")
    return stores[0]


def user_from_api(item: dict[str, Any]) -> IdpUser:
    emails = [e for e in item.get("Emails") or () if e.get("Value")]
    # Primary first, then the API's order: the primary email is what notifications go to.
    emails.sort(key=lambda e: not e.get("Primary"))
    return IdpUser(
        user_id=str(item["UserId"]),
        user_name=item.get("UserName"),
        display_name=item.get("DisplayName"),
        emails=tuple(str(e["Value"]) for e in emails),
    )


def group_from_api(item: dict[str, Any]) -> IdpGroup:
    return IdpGroup(group_id=str(item["GroupId"]), display_name=item.get("DisplayName"),
                    description=item.get("Description"))


async def read_identity_store(call: Call, store_id: str) -> Directory:
    base = {"IdentityStoreId": store_id, "MaxResults": PAGE_SIZE}
    users: list[IdpUser] = []
    groups: list[IdpGroup] = []
    async for page in _pages(call, "identitystore", "ListUsers", base):
        users.extend(user_from_api(u) for u in page.get("Users") or ())
    async for page in _pages(call, "identitystore", "ListGroups", base):
        groups.extend(group_from_api(g) for g in page.get("Groups") or ())

    async def members(group_id: str) -> list[Membership]:
        found: list[Membership] = []
        async for page in _pages(call, "identitystore", "ListGroupMemberships", dict(base, GroupId=group_id)):
            for m in page.get("GroupMemberships") or ():
                user_id = (m.get("MemberId") or {}).get("UserId")
                if user_id:
                    found.append(Membership(group_id=group_id, user_id=str(user_id)))
        return found

    # The limiter bounds concurrency; a TaskGroup cancels the rest at the first failure.
    async with asyncio.TaskGroup() as tasks:
        pending = [tasks.create_task(members(g.group_id)) for g in groups]
    found = [m for task in pending for m in task.result()]
    # A user deleted between ListUsers and ListGroupMemberships leaves a dangling membership; it
    # is dropped with a warning rather than failing the whole directory over a race.
    known = {u.user_id for u in users}
    memberships = tuple(m for m in found if m.user_id in known)
    dangling = len(found) - len(memberships)
    warning = f"{dangling} group membership(s) name users not listed by ListUsers (changed during the read?); dropped"
    warnings = (warning,) if dangling else ()
    return Directory(source=SOURCE_IDENTITY_STORE, source_ref=store_id, users=tuple(users), groups=tuple(groups),
                     memberships=memberships, warnings=warnings)
