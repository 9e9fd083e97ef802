"""The accounts of an integration: the OU tree walk and the pure selection rules.

Excluding an OU excludes its whole subtree, so excluded OUs are never descended into. Only
ACTIVE accounts are synced (the `State` field; the retired `Status` field is read only when
`State` is absent).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

AccountStatus = str  # "selected" | "excluded" | "inactive" | "failed"


@dataclass(frozen=True)
class OrgAccount:
    account_id: str
    name: str
    email: str
    state: str
    parent_id: str
    ou_path: str  # "Root/Prod/Payments"


@dataclass(frozen=True)
class AccountDecision:
    account: OrgAccount
    status: AccountStatus
    reason: str | None = None


@dataclass(frozen=True)
class OrgTree:
    organization_id: str
    management_account_id: str
    accounts: tuple[OrgAccount, ...]
    excluded_ous: tuple[tuple[str, str], ...]  # (ou id, path) not descended into
    seen_ou_ids: frozenset[str]


ListCall = Callable[[str, dict[str, Any]], Awaitable[Mapping[str, Any]]]


async def _all_pages(call: ListCall, operation: str, params: dict[str, Any], key: str) -> list[Mapping[str, Any]]:
    # Organizations may answer an empty page that still carries a NextToken: loop until it is null.
    out: list[Mapping[str, Any]] = []
    params = dict(params, MaxResults=20)
    while True:
        page = await call(operation, params)
        out.extend(page.get(key) or ())
        token = page.get("NextToken")
        if not token:
            return out
        params["NextToken"] = token


def account_state(raw: Mapping[str, Any]) -> str:
    return str(raw.get("State") or raw.get("Status") or "UNKNOWN")


async def walk_organization(
    call: ListCall,
    exclude_ou_ids: Collection[str],
    *,
    on_organization: Callable[[str, str], None] | None = None,
    on_accounts: Callable[[list[OrgAccount]], None] | None = None,
) -> OrgTree:
    """Breadth-first over the OU tree, each parent's two listings side by side.

    Every parent is visited as soon as its own parent's OUs are listed; the Organizations limiter
    paces the calls and caps those in flight (sync/aws/limits.py). One call at a time, the walk
    paid each call's latency on top of the quota: on org-2000, whose event loop is busy listing
    the accounts already found, the account that bounds the sync was found at ~55 s instead of
    the ~35 s the quota allows.
    `on_accounts` receives each parent's accounts as soon as they are listed, so callers can start
    working on them before the walk ends; `on_organization` gets (organization id, management id).
    A failed call fails the walk with that call's exception (the other listings are cancelled).
    """
    org = (await call("DescribeOrganization", {}))["Organization"]
    if on_organization is not None:
        on_organization(str(org.get("Id") or ""), str(org.get("MasterAccountId") or ""))
    roots = await _all_pages(call, "ListRoots", {}, "Roots")
    excluded = frozenset(exclude_ou_ids)
    accounts: list[OrgAccount] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()

    async def list_accounts(parent_id: str, path: str) -> None:
        found = [
            OrgAccount(
                account_id=str(raw["Id"]),
                name=str(raw.get("Name") or ""),
                email=str(raw.get("Email") or ""),
                state=account_state(raw),
                parent_id=parent_id,
                ou_path=path,
            )
            for raw in await _all_pages(call, "ListAccountsForParent", {"ParentId": parent_id}, "Accounts")
        ]
        accounts.extend(found)
        if on_accounts is not None and found:
            on_accounts(found)

    async def list_children(group: asyncio.TaskGroup, parent_id: str, path: str) -> None:
        for ou in await _all_pages(
            call, "ListOrganizationalUnitsForParent", {"ParentId": parent_id}, "OrganizationalUnits"
        ):
            seen.add(ou["Id"])
            child_path = f"{path}/{ou.get('Name') or ou['Id']}"
            if ou["Id"] in excluded:
                skipped.append((ou["Id"], child_path))
            else:
                visit(group, ou["Id"], child_path)

    def visit(group: asyncio.TaskGroup, parent_id: str, path: str) -> None:
        # Tasks start in the order they are created, and the limiter admits calls first come,
        # first served: the calls go out in a serial breadth-first walk's order, each parent's
        # accounts before its OUs (the other way round, the walk listed every OU of a level
        # before any of their accounts, and org-500's critical account started 18 s later).
        group.create_task(list_accounts(parent_id, path))
        group.create_task(list_children(group, parent_id, path))

    try:
        async with asyncio.TaskGroup() as group:
            for root in roots:
                visit(group, root["Id"], str(root.get("Name") or "Root"))
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None  # the first call that failed, as a serial walk raised it
    return OrgTree(
        organization_id=str(org.get("Id") or ""),
        management_account_id=str(org.get("MasterAccountId") or ""),
        accounts=tuple(accounts),
        excluded_ous=tuple(sorted(skipped, key=lambda item: item[1])),
        seen_ou_ids=frozenset(seen),
    )


def decide_accounts(
    accounts: Collection[OrgAccount],
    *,
    exclude_account_ids: Collection[str],
    only_account_ids: Collection[str] | None = None,
) -> list[AccountDecision]:
    excluded = frozenset(exclude_account_ids)
    decisions = []
    for account in sorted(accounts, key=lambda a: a.account_id):
        if account.account_id in excluded:
            decisions.append(AccountDecision(account, "excluded", "listed in exclude_account_ids"))
        elif only_account_ids is not None and account.account_id not in only_account_ids:
            decisions.append(AccountDecision(account, "excluded", "not among --accounts"))
        elif account.state != "ACTIVE":
            decisions.append(AccountDecision(account, "inactive", f"account state is {account.state}"))
        else:
            decisions.append(AccountDecision(account, "selected"))
    return decisions


def unknown_exclusions(tree: OrgTree, exclude_ou_ids: Collection[str], exclude_account_ids: Collection[str]) -> list[str]:
    """Exclusions that match nothing in the organization: most likely typos, worth a warning."""
    account_ids = {a.account_id for a in tree.accounts}
    out = [f"excluded OU {ou} is not in the organization" for ou in exclude_ou_ids if ou not in tree.seen_ou_ids]
    out += [
        f"excluded account {a} is not in the organization (or is inside an excluded OU)"
        for a in exclude_account_ids
        if a not in account_ids
    ]
    return out
