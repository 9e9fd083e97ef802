"""What a sync hands to the catalog writer: plain records, no engine types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class AccountRecord:
    account_id: str
    name: str
    email: str
    state: str
    ou_path: str
    parent_id: str
    status: str
    status_reason: str | None
    regions: tuple[str, ...]


@dataclass(frozen=True)
class ScopeRecord:
    account_id: str
    region: str
    resource_type: str
    source: str
    reason: str
    status: str  # complete | skipped | failed
    error_code: str | None
    error_message: str | None
    resources: int
    pages: int
    api_calls: int
    throttles: int
    retries: int
    started_at: datetime
    duration_ms: int


@dataclass(frozen=True)
class ExplorerIndexRecord:
    """One Resource Explorer index as the probe found it, with the member default view it may offer."""

    account_id: str
    region: str
    index_type: str  # LOCAL | AGGREGATOR
    index_state: str | None  # None: the state was not asked (the account's work never needed it)
    view_arn: str | None
    view_has_tags: bool | None
    view_filter: str | None
    resources_counted: int | None  # the cheap per account x region count the planner weighed


@dataclass(frozen=True)
class ExplorerRecord:
    """What Resource Explorer offered a sync: the aggregator side, then every index it saw."""

    trusted_access: bool | None
    aggregator_account: str | None
    aggregator_region: str | None
    view_arn: str | None  # the organization-wide (or account-wide) view the sync used
    view_scope: str | None
    view_has_tags: bool | None
    view_filter: str | None
    supported_types: int
    problems: tuple[str, ...]
    indexes: tuple[ExplorerIndexRecord, ...]


@dataclass
class RunRecord:
    integration: str
    kind: str
    settings: dict[str, Any]
    mode: str
    started_at: datetime
    finished_at: datetime
    error: str | None
    accounts: list[AccountRecord]
    scopes: list[ScopeRecord]
    # Rows of completed scopes only, in catalog.staging.STAGED_SCHEMA; failed scopes contribute none.
    rows: list[pa.RecordBatch]
    api_calls: int = 0
    throttles: int = 0
    retries: int = 0
    warnings: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    explorer: ExplorerRecord | None = None  # None: no Resource Explorer probe ran (e.g. --source services)

    @property
    def status(self) -> str:
        failed = sum(1 for s in self.scopes if s.status == "failed")
        failed_accounts = sum(1 for a in self.accounts if a.status == "failed")
        if (
            self.error
            or (self.scopes and failed == len(self.scopes))
            or (not self.scopes and failed_accounts)
        ):
            return "failed"
        return "partial" if failed or failed_accounts else "complete"


@dataclass(frozen=True)
class MergeCounts:
    sync_id: int
    seen: int
    added: int
    modified: int
    restored: int
    deleted: int
