"""Scopes and work items: what the planner (sync/explorer/planner.py) hands the scheduler.

A scope is (account, region, type); global types have region "global" and are listed once per
account. It is the unit of success and of deletion, whichever source lists it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sync.aws.limits import limit_for


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
    # "items": the spec's own per-resource tag call; "tagging": the listing without it, and the
    # tags of the whole account x region from the Tagging API (GetResources, 100 a call).
    tags_from: str = "items"

    @property
    def keys(self) -> tuple[ScopeKey, ...]:
        return (self.key,)

    def reason_for(self, key: ScopeKey) -> str:
        return self.reason

    @property
    def queue_key(self) -> str:
        return self.key.account_id

    @property
    def lane_width(self) -> int | None:
        """An account's scopes spread over many services and regions, each with its own quota."""
        return None


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
    # Per-scope reasons where they differ from `reason` (an incremental sync says why each scope
    # is refreshed); not part of the item's identity.
    key_reasons: Mapping[ScopeKey, str] = field(default_factory=dict, compare=False, hash=False)
    # "view": the view carries tags; "tagging": it has no tags property, and each account x region
    # of the query takes its tags from the Tagging API (GetResources) in that account.
    tags_from: str = "view"

    def reason_for(self, key: ScopeKey) -> str:
        return self.key_reasons.get(key, self.reason)

    @property
    def queue_key(self) -> str:
        return f"{self.source}:{self.account_id}:{self.region}"

    @property
    def lane_width(self) -> int | None:
        """Workers a view's queries may hold at once: all of them page through one quota of a few
        calls in flight, so more workers would only wait in its queue, ahead of any other call to
        that quota, and out of reach of every other scope."""
        return 2 * limit_for("resource-explorer-2", "ListResources").in_flight


def slowest_first(items: Sequence[WorkItem | ExplorerQuery],
                  seconds_per_resource: Mapping[str, float]) -> list[WorkItem | ExplorerQuery]:
    """Items whose type costs the most quota per resource first; otherwise the planner's order.

    An account's items leave its lane one at a time, each after a turn of every other account:
    on org-2000 that was 48 s before the critical account's IAM policy scope (20 tag calls/s for
    the whole account) could start behind its short `iam:group` scope. Scopes that make calls per
    resource at a low quota are usually an account's longest, so they go first: the longest-
    processing-time-first rule. `seconds_per_resource` maps a type to that cost (a spec's
    `quota_seconds_per_resource`); Resource Explorer queries page in bulk and cost nothing extra.
    """
    def cost(item: WorkItem | ExplorerQuery) -> float:
        return seconds_per_resource.get(item.key.resource_type, 0.0) if isinstance(item, WorkItem) else 0.0

    return sorted(items, key=cost, reverse=True)  # stable: equal costs keep their order
