"""What Resource Explorer offers an integration: plain data gathered by probe.py, read by the planner."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.records import ExplorerIndexRecord, ExplorerRecord

ORG_SCOPE_MARK = ":organization/"


@dataclass(frozen=True)
class ViewInfo:
    arn: str
    region: str
    scope: str  # an organization, OU or account ARN
    has_tags: bool  # IncludedProperties has "tags": without it, results carry no tags
    filter_string: str  # a view filter hides resources: such a view cannot prove a scope complete

    @property
    def complete(self) -> bool:
        """No filter: the view can prove a scope complete (its tags may still come from elsewhere)."""
        return not self.filter_string.strip()

    @property
    def usable(self) -> bool:
        return self.has_tags and self.complete


@dataclass(frozen=True)
class IndexInfo:
    account_id: str
    region: str
    kind: str  # LOCAL | AGGREGATOR
    state: str | None  # ACTIVE | CREATING | UPDATING | DELETING | DELETED; None: not asked


@dataclass
class Coverage:
    """Everything the planner needs to choose between Resource Explorer and the service APIs."""

    trusted_access: bool | None = None
    aggregator_region: str | None = None
    aggregator_account: str | None = None  # the management account (or the lone account)
    wide_view: ViewInfo | None = None  # organization-wide (or, for one account, account-wide)
    indexes: dict[tuple[str, str], IndexInfo] = field(default_factory=dict)
    member_views: dict[tuple[str, str], ViewInfo] = field(default_factory=dict)  # default views
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # cheap per account x region counts
    supported_types: frozenset[str] = frozenset()
    problems: list[str] = field(default_factory=list)  # why Resource Explorer is (partly) unusable

    def index(self, account_id: str, region: str) -> IndexInfo | None:
        return self.indexes.get((account_id, region))


def explorer_record(coverage: Coverage) -> ExplorerRecord:
    """The probe's findings as the catalog keeps them (`explorer_setup`, `explorer_indexes`)."""
    view = coverage.wide_view
    indexes = []
    for (account_id, region), index in sorted(coverage.indexes.items()):
        member = coverage.member_views.get((account_id, region))
        indexes.append(ExplorerIndexRecord(
            account_id=account_id,
            region=region,
            index_type=index.kind,
            index_state=index.state,
            view_arn=member.arn if member else None,
            view_has_tags=member.has_tags if member else None,
            view_filter=member.filter_string if member else None,
            resources_counted=coverage.counts.get((account_id, region)),
        ))
    return ExplorerRecord(
        trusted_access=coverage.trusted_access,
        aggregator_account=coverage.aggregator_account,
        aggregator_region=coverage.aggregator_region,
        view_arn=view.arn if view else None,
        view_scope=view.scope if view else None,
        view_has_tags=view.has_tags if view else None,
        view_filter=view.filter_string if view else None,
        supported_types=len(coverage.supported_types),
        problems=tuple(coverage.problems),
        indexes=tuple(indexes),
    )
