"""From accounts, regions and types to work items: a pure function, no I/O.

A scope is (account, region, type); global types have region "global" and are listed once per
account. Items are interleaved across accounts so one large account cannot starve the others.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from itertools import zip_longest

from sync.sources.model import GLOBAL_REGION


@dataclass(frozen=True, order=True)
class ScopeKey:
    account_id: str
    region: str
    resource_type: str


@dataclass(frozen=True)
class WorkItem:
    """One scope listed through its service's own API."""

    key: ScopeKey
    source: str  # "services"
    api_region: str  # where the list call goes (the home region for global types)
    reason: str

    @property
    def keys(self) -> tuple[ScopeKey, ...]:
        return (self.key,)

    @property
    def queue_key(self) -> str:
        return self.key.account_id


@dataclass(frozen=True)
class ExplorerQuery:
    """One ListResources enumeration through a Resource Explorer view, covering `keys`.

    Results outside `keys` are dropped: a query may return more than was planned for it (e.g. a
    region whose index is still CREATING), and such scopes belong to another item.
    """

    keys: tuple[ScopeKey, ...]
    source: str  # "explorer-aggregator" | "explorer-member"
    account_id: str  # whose credentials query the view
    region: str  # the view's region
    view_arn: str
    filter_string: str
    reason: str

    @property
    def queue_key(self) -> str:
        return f"{self.source}:{self.account_id}:{self.region}"


def plan_work(
    *,
    regions_by_account: Mapping[str, Collection[str]],
    resource_types: Collection[str],
    global_types: Collection[str],
    home_region: str,
) -> list[WorkItem]:
    per_account: list[list[WorkItem]] = []
    for account_id in sorted(regions_by_account):
        items: list[WorkItem] = []
        for resource_type in sorted(resource_types):
            if resource_type in global_types:
                items.append(
                    WorkItem(ScopeKey(account_id, GLOBAL_REGION, resource_type), "services", home_region,
                             "global type: listed once per account through its service API")
                )
                continue
            for region in sorted(regions_by_account[account_id]):
                items.append(
                    WorkItem(ScopeKey(account_id, region, resource_type), "services", region,
                             "service API (Resource Explorer not used for this scope)")
                )
        per_account.append(items)
    return [item for row in zip_longest(*per_account) for item in row if item is not None]
