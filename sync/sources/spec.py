"""The declarative description of a resource type fetched through its service's own API.

A spec names the list call (pagination comes from botocore's paginator model, not from us), how
to get items out of a page, an optional per-item describe call, where tags come from, and a pure
normalize function. The fetcher in fetch.py runs any spec; nothing else knows a type by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.aws.limits import limit_for
from sync.sources.model import Resource, ScopeContext

Item = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class ItemCall:
    """A call made once per listed item (a describe, or a tag lookup)."""

    operation: str
    request: Callable[[Item], dict[str, Any]]
    # Error codes that mean "nothing here" rather than a failure (S3's NoSuchTagSet).
    empty_on: frozenset[str] = frozenset()
    # A client in another region than the scope's (S3 buckets answer only in their own region).
    region: Callable[[Item], str | None] = lambda item: None


@dataclass(frozen=True, kw_only=True)
class DescribeCall(ItemCall):
    extract: Callable[[Item, Mapping[str, Any]], Item]  # (listed item, response) -> item to normalize
    when: Callable[[Item], bool] = lambda item: True  # only items that need it pay for the call


@dataclass(frozen=True, kw_only=True)
class TagCall(ItemCall):
    extract: Callable[[Mapping[str, Any]], dict[str, str]]  # response -> tags
    # Error codes that mean "these tags cannot be read from here" (e.g. an SCP denies the region
    # a bucket's tags must be read in): the resource is kept with its tags unknown, not dropped
    # and not taken as untagged, and the scope warns how many.
    unreadable_on: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    resource_type: str  # Resource Explorer's type name, shared by every discovery path
    service: str  # botocore service name
    is_global: bool  # listed once per account (IAM, S3), not once per region
    list_operation: str
    list_params: Mapping[str, Any] = field(default_factory=dict)
    page_size: int | None = None
    # page -> items; None: the paginator model's result_key.
    items: Callable[[Mapping[str, Any]], Iterable[Item]] | None = None
    describe: DescribeCall | None = None
    tags: TagCall | None = None  # None: tags are inline in the (described) item
    normalize: Callable[[Item, ScopeContext], Resource | None]
    # Extra actions the connector role needs beyond the calls above (none today; kept explicit).
    extra_actions: tuple[str, ...] = ()

    @property
    def quota_seconds_per_resource(self) -> float:
        """Seconds of its quota each listed resource costs in per-item calls (0: listed in bulk)."""
        return sum(1 / limit_for(self.service, call.operation).rate
                   for call in (self.describe, self.tags) if call is not None)

    @property
    def actions(self) -> tuple[str, ...]:
        """IAM actions this spec calls, derived from the calls themselves."""
        ops = [self.list_operation]
        ops += [c.operation for c in (self.describe, self.tags) if c is not None]
        return tuple(iam_action(self.service, op) for op in ops) + self.extra_actions


# Where the IAM action is not named like the API operation.
_IAM_ACTION_EXCEPTIONS = {("s3", "ListBuckets"): "s3:ListAllMyBuckets"}


def iam_action(service: str, operation: str) -> str:
    return _IAM_ACTION_EXCEPTIONS.get((service, operation), f"{service}:{operation}")
