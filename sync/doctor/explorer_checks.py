"""Resource Explorer checks: pure functions over ExplorerEvidence, the interface the gathering fills.

Phrased after the product documentation's troubleshooting table: trusted access, the aggregator
index in the management account's aggregator region (missing, or there but LOCAL), local indexes
per account x region, index states, the organization-wide view (with the `tags` property, not
empty) and a view far below what the service APIs found (indexing can take up to 36 hours).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sync.doctor.model import (
    CallError,
    CheckResult,
    Status,
    group_pairs,
    ok,
    plural,
    short_list,
)

ACTIVE = "ACTIVE"
VOLUME_RATIO = 0.5  # a view holding less than this share of the last sync's count is "far below"
MIN_BASELINE = 10  # below this many resources the comparison is noise

QUICK_SETUP = "Systems Manager Quick Setup for Resource Explorer"
INDEX_FIX = (f"Review the targets (entire organization or the OUs) and regions chosen in {QUICK_SETUP}; check "
             "service control policies that deny CloudFormation in those accounts or regions (see scp.denied); or "
             "create the missing indexes by hand. Scopes without an index are not in the Resource Explorer view.")
AGGREGATOR_FIX = ("Ensure an index exists in the management account's aggregator region and make it the aggregator "
                  "(recreate it if needed), then create the organization-wide view there. Usual causes: the "
                  "management account was outside Quick Setup's targets, the aggregator was created only in member "
                  "accounts, or the index was created as local.")
VIEW_WAIT_FIX = ("Indexing across all regions can take up to 36 hours after Quick Setup: wait, and check the index "
                 "states (explorer.index-state).")


@dataclass(frozen=True)
class IndexInfo:
    account_id: str
    region: str
    type: str | None  # LOCAL | AGGREGATOR
    state: str | None  # None when only ListIndexesForMembers saw it (it gives no state)


@dataclass(frozen=True)
class ViewInfo:
    arn: str
    region: str
    scope: str  # the organization's ARN for an org-wide view
    has_tags: bool
    filter_string: str
    default: bool

    @property
    def org_wide(self) -> bool:
        return ":organization/" in self.scope


@dataclass
class ExplorerEvidence:
    organization: bool
    home_region: str
    management_account_id: str
    aggregator_region: str  # where the org view must live
    owners_configured: bool = False
    trusted_access: str | CallError | None = None  # "ENABLED" | "DISABLED"
    management_indexes: list[IndexInfo] | CallError = field(default_factory=list)
    expected: dict[str, tuple[str, ...]] = field(default_factory=dict)  # account -> regions needing an index
    indexes: dict[tuple[str, str], IndexInfo] = field(default_factory=dict)
    unknown: dict[tuple[str, str], CallError] = field(default_factory=dict)  # could not tell
    views: list[ViewInfo] | CallError = field(default_factory=list)
    view: ViewInfo | None = None  # the view orgsync would read
    view_sample: int | CallError | None = None  # resources on a first small page of the view
    type_counts: dict[str, tuple[int, bool]] = field(default_factory=dict)  # type -> (counted, reached the end)
    baseline: dict[str, int] = field(default_factory=dict)  # type -> resources in the last sync
    unsupported: frozenset[str] = frozenset()


def _pair(p: tuple[str, str]) -> str:
    return f"{p[0]}:{p[1]}"


def trusted_access_check(ev: ExplorerEvidence) -> CheckResult:
    title = "Trusted access for Resource Explorer is enabled in Organizations"
    call = "resource-explorer-2:GetAccountLevelServiceConfiguration"
    fix = ("Enable trusted access for Resource Explorer in AWS Organizations (Organizations console > Services > "
           f"Resource Explorer), then run {QUICK_SETUP}.")
    if isinstance(ev.trusted_access, CallError):
        return CheckResult("explorer.trusted-access", title, Status.ERROR, "the status could not be read",
                           evidence=(ev.trusted_access.describe(),), remediation=fix)
    if ev.trusted_access != "ENABLED":
        return CheckResult("explorer.trusted-access", title, Status.ERROR,
                           f"trusted access is {ev.trusted_access or 'not reported'}",
                           accounts=(ev.management_account_id,),
                           evidence=(f"{call} -> AWSServiceAccessStatus={ev.trusted_access}",), remediation=fix)
    return ok("explorer.trusted-access", title, "enabled", [f"{call} -> AWSServiceAccessStatus=ENABLED"])


def aggregator_check(ev: ExplorerEvidence) -> CheckResult:
    title = "An aggregator index exists in the management account's aggregator region"
    mgmt, region = ev.management_account_id, ev.aggregator_region
    if isinstance(ev.management_indexes, CallError):
        return CheckResult("explorer.aggregator", title, Status.ERROR, "the management account's indexes could not "
                           "be listed", accounts=(mgmt,), evidence=(ev.management_indexes.describe(),),
                           remediation=AGGREGATOR_FIX)
    listed = ", ".join(f"{i.region} {i.type}" for i in ev.management_indexes) or "none"
    evidence = [f"resource-explorer-2:ListIndexes in {mgmt} -> {listed}"]
    member_aggregators = sorted(_pair(k) for k, i in ev.indexes.items() if i.type == "AGGREGATOR" and k[0] != mgmt)
    if member_aggregators:
        evidence.append(f"aggregator indexes in member accounts: {short_list(member_aggregators)}")
    aggregators = [i for i in ev.management_indexes if i.type == "AGGREGATOR"]
    if aggregators:
        agg = aggregators[0]
        state = (ev.indexes.get((mgmt, agg.region)) or agg).state
        if state not in (ACTIVE, None):
            return CheckResult("explorer.aggregator", title, Status.WARNING,
                               f"the aggregator index in {agg.region} is {state}", accounts=(mgmt,),
                               regions=(agg.region,), evidence=tuple(evidence), remediation=VIEW_WAIT_FIX)
        return ok("explorer.aggregator", title, f"aggregator index in {agg.region}", evidence)
    here = next((i for i in ev.management_indexes if i.region == region), None)
    summary = (f"the index in {region} exists but is {here.type}, not the aggregator" if here is not None
               else f"no index in {region}")
    return CheckResult("explorer.aggregator", title, Status.ERROR, summary, accounts=(mgmt,), regions=(region,),
                       evidence=tuple(evidence), remediation=AGGREGATOR_FIX)


def missing_indexes(ev: ExplorerEvidence) -> list[tuple[str, str]]:
    return sorted((a, r) for a, regions in ev.expected.items() for r in regions
                  if (a, r) not in ev.indexes and (a, r) not in ev.unknown)


def local_indexes_check(ev: ExplorerEvidence) -> CheckResult:
    title = "Every account x region has a Resource Explorer index"
    missing = missing_indexes(ev)
    unknown = sorted(ev.unknown)
    expected = sum(len(r) for r in ev.expected.values())
    evidence = [f"resource-explorer-2:GetIndex in {_pair(p)} -> ResourceNotFoundException" for p in missing[:20]]
    evidence += [ev.unknown[p].describe() for p in unknown[:10]]
    grouped = group_pairs(missing)
    if not missing:
        note = f"; {len(unknown)} could not be checked" if unknown else ""
        return CheckResult("explorer.local-indexes", title, Status.OK,
                           f"{expected - len(unknown)} of {expected} account x region pairs checked have an index{note}",
                           evidence=tuple(evidence), details={"unknown": [_pair(p) for p in unknown]})
    by_region = ", ".join(f"{r} ({plural(len(a), 'account')})" for r, a in grouped["by_region"].items())
    by_account = short_list([f"{a} ({plural(len(r), 'region')})" for a, r in grouped["by_account"].items()], 10)
    return CheckResult(
        "explorer.local-indexes", title, Status.WARNING,
        f"{len(missing)} of {plural(expected, 'account x region pair')} without an index; by region: {by_region}; "
        f"by account: {by_account}" + (f"; {len(unknown)} more could not be checked" if unknown else ""),
        accounts=tuple(grouped["by_account"]), regions=tuple(grouped["by_region"]), evidence=tuple(evidence),
        remediation=INDEX_FIX, details={**grouped, "unknown": [_pair(p) for p in unknown]})


def index_state_check(ev: ExplorerEvidence) -> CheckResult:
    title = "Every index is ACTIVE"
    waiting = sorted((k, i.state) for k, i in ev.indexes.items() if i.state not in (ACTIVE, None))
    if not waiting:
        return ok("explorer.index-state", title,
                  f"{plural(len(ev.indexes), 'index')}, none in another state than ACTIVE")
    grouped = group_pairs(k for k, _ in waiting)
    states = sorted({s for _, s in waiting if s})
    return CheckResult(
        "explorer.index-state", title, Status.WARNING,
        f"{plural(len(waiting), 'index')} not ACTIVE ({', '.join(states)}): "
        f"{short_list(f'{_pair(k)} {s}' for k, s in waiting)}",
        accounts=tuple(grouped["by_account"]), regions=tuple(grouped["by_region"]),
        evidence=tuple(f"resource-explorer-2:GetIndex in {_pair(k)} -> State={s}" for k, s in waiting[:20]),
        remediation=("Indexes in CREATING or UPDATING become ACTIVE on their own (a new index can take up to 36 hours "
                     "to be complete); recreate indexes that are DELETING or DELETED."),
        details={**grouped, "states": {_pair(k): s for k, s in waiting}})


def view_check(ev: ExplorerEvidence) -> CheckResult:
    region = ev.aggregator_region if ev.organization else ev.home_region
    kind = "organization-wide view" if ev.organization else "default view"
    title = f"An {kind} exists in {region} and includes tags" if ev.organization else \
        f"A {kind} exists in {region} and includes tags"
    create = ("Create an organization-wide view in the aggregator region of the management account (Quick Setup "
              "creates one) and include the `tags` resource property." if ev.organization else
              f"Create a view in {region}, include the `tags` resource property and make it the default view.")
    if isinstance(ev.views, CallError):
        return CheckResult("explorer.view", title, Status.ERROR, "the views could not be listed",
                           evidence=(ev.views.describe(),), remediation=create)
    listed = [f"resource-explorer-2:GetView {v.arn} -> scope {v.scope}, tags {'yes' if v.has_tags else 'no'}"
              for v in ev.views]
    if ev.view is None:
        return CheckResult("explorer.view", title, Status.ERROR, f"no {kind} in {region}",
                           accounts=(ev.management_account_id,), regions=(region,),
                           evidence=tuple(listed) or (f"resource-explorer-2:ListViews in {region} -> none",),
                           remediation=create)
    if not ev.view.has_tags:
        # Owner routing reads the owner tag; a view without tags returns none, so that is an error.
        status = Status.ERROR if ev.owners_configured else Status.WARNING
        return CheckResult("explorer.view", title, status, f"{ev.view.arn} does not include the tags property",
                           accounts=(ev.management_account_id,), regions=(region,), evidence=tuple(listed),
                           remediation=("Edit the view to include the `tags` resource property; without it Resource "
                                        "Explorer returns no tags, so owner tags cannot be read through it."))
    return ok("explorer.view", title, f"{ev.view.arn} (tags included)", listed)


def view_volume_check(ev: ExplorerEvidence) -> CheckResult:
    title = "The view is not empty and not far below the service APIs' counts"
    if ev.view is None:
        return ok("explorer.view-volume", title, "no view to read (see explorer.view)")
    if isinstance(ev.view_sample, CallError):
        return CheckResult("explorer.view-volume", title, Status.ERROR, "the view could not be read",
                           evidence=(ev.view_sample.describe(),), remediation=VIEW_WAIT_FIX)
    if not ev.view_sample:
        return CheckResult("explorer.view-volume", title, Status.WARNING, f"the view {ev.view.arn} is empty",
                           regions=(ev.view.region,),
                           evidence=(f"resource-explorer-2:ListResources ViewArn={ev.view.arn} MaxResults=1 -> 0",),
                           remediation=VIEW_WAIT_FIX)
    return _volume(ev, title)


def _volume(ev: ExplorerEvidence, title: str) -> CheckResult:
    if not ev.baseline:
        return ok("explorer.view-volume", title, "the view has resources; no previous sync in the catalog to "
                  "compare counts with")
    low, evidence, inconclusive = [], [], []
    for rtype, expected in sorted(ev.baseline.items()):
        if rtype in ev.unsupported or expected < MIN_BASELINE or rtype not in ev.type_counts:
            continue
        counted, complete = ev.type_counts[rtype]
        line = f"resource-explorer-2:ListResources resourcetype:{rtype} -> {counted}{'' if complete else '+'} " \
               f"(last sync: {expected})"
        evidence.append(line)
        if counted < VOLUME_RATIO * expected:
            (low if complete else inconclusive).append(f"{rtype} {counted} vs {expected}")
    skipped = sorted(t for t in ev.baseline if t in ev.unsupported)
    note = f"; not indexed by Resource Explorer: {', '.join(skipped)}" if skipped else ""
    if low:
        return CheckResult("explorer.view-volume", title, Status.WARNING,
                           f"the view holds far fewer resources than the last sync found: {', '.join(low)}{note}",
                           regions=(ev.view.region,) if ev.view else (), evidence=tuple(evidence),
                           remediation=VIEW_WAIT_FIX + " Lagging or missing indexes: see explorer.local-indexes.",
                           details={"counts": {t: list(c) for t, c in ev.type_counts.items()}, "baseline": ev.baseline})
    budget = f"; stopped counting at the page budget for {', '.join(inconclusive)}" if inconclusive else ""
    return ok("explorer.view-volume", title, f"counts match the last sync{note}{budget}", evidence)


def explorer_checks(ev: ExplorerEvidence) -> list[CheckResult]:
    out = []
    if ev.organization:
        out += [trusted_access_check(ev), aggregator_check(ev)]
    out += [local_indexes_check(ev), index_state_check(ev), view_check(ev), view_volume_check(ev)]
    return out


def baseline_types(baseline: Mapping[str, int]) -> list[str]:
    """The types worth counting in the view."""
    return sorted(t for t, n in baseline.items() if n >= MIN_BASELINE)
