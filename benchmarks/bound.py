"""The least time a scenario's quotas and latencies allow: the yardstick for "efficiency".

The simulator meters every call through a token bucket per (account, region|global, service,
operation or shared "*"), exactly as ``orgsim.quotas`` declares them. A client that knew the
answer in advance could keep every bucket busy at once, so no sync can finish sooner than the
slowest bucket drains:

    T_bucket = max(0, calls - burst) / rate            for each bucket
    T_org    = max((N_org - burst) / rate, N_org * L)  the OU-tree walk, serialized
    T_bound  = max(T_org + 3L, max T_bucket, (P_max + 3) * L)

``calls`` is the fewest calls the work needs: list pages at the API's largest page size (no
engine's own choice), one per-item call where the API has no inline tags (Lambda ListTags,
DynamoDB DescribeTable + ListTagsOfResource, EKS DescribeCluster, S3 GetBucketTagging, IAM
ListPolicyTags; IAM roles and users come with their tags from GetAccountAuthorizationDetails), one call to learn that an SCP denies a scope, AssumeRole and DescribeRegions per
account. ``N_org`` is counted by replaying orgsim's own Organizations handlers (empty pages with a
NextToken included), for the walk the catalog needs: DescribeOrganization, ListRoots, then per
root/OU ListAccountsForParent and ListOrganizationalUnitsForParent (OU paths, subtree exclusion).
``L`` is the scenario's base latency (jitter only adds): a serialized walk pays it per call,
a paginated listing per page (``P_max``: pages of the longest listing), and the last account
discovered still needs AssumeRole, DescribeRegions and a list call (3L).

What the bound leaves out, so it is a true lower bound: client CPU (the engine's and the
simulator's), dependencies between buckets (an account cannot be listed before the walk finds
it), retries. Efficiency = T_bound / measured wall time, 1.0 = as fast as the quotas allow.

Three models: ``services`` (every type through its service API), ``any``, a lower bound for any
source (Resource Explorer included): only the calls every path needs, the org walk,
AssumeRole/DescribeRegions and the calls that carry IAM tags, which Resource Explorer never
indexes (authorization details for roles and users, GetResources in us-east-1 for policies), and
``explorer``, the plan `--source explorer` forces: every type the organization's aggregator view
covers through that one view (3 ListResources calls/s for the whole organization, pages of
``EXPLORER_PAGE``), IAM and S3 through their APIs as in every mode, and the service APIs where the
view does not reach (no ACTIVE index, an index that lags, an unsupported type). Where the
``explorer`` bound equals the ``any`` bound, forcing the aggregator costs nothing the quotas can
show, and auto cannot beat it by more than noise.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from benchmarks.floor import EXPLORER_PAGE, aggregator_areas, listing_floor
from orgsim.auth import Caller
from orgsim.call import Call
from orgsim.inventory import GLOBAL
from orgsim.org import Account
from orgsim.quotas import Quotas
from orgsim.registry import handler, services
from orgsim.services.tagging import GLOBAL_TAGS_REGION
from orgsim.stats import Stats
from orgsim.world import World

# (list operation, largest page the API allows, per-item operations) per simulated type.
LIST_CALLS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "ec2:instance": ("DescribeInstances", 1000, ()),
    "rds:db": ("DescribeDBInstances", 100, ()),
    "secretsmanager:secret": ("ListSecrets", 100, ()),
    "lambda:function": ("ListFunctions", 50, ("ListTags",)),
    "dynamodb:table": ("ListTables", 100, ("DescribeTable", "ListTagsOfResource")),
    "eks:cluster": ("ListClusters", 100, ("DescribeCluster",)),
    "s3:bucket": ("ListBuckets", 10000, ("GetBucketTagging",)),
    # Authorization details carry role and user tags inline, 1,000 entities a page.
    "iam:role": ("GetAccountAuthorizationDetails", 1000, ()),
    "iam:user": ("GetAccountAuthorizationDetails", 1000, ()),
    "iam:group": ("ListGroups", 1000, ()),
    "iam:policy": ("ListPolicies", 1000, ("ListPolicyTags",)),
}
# Calls that no discovery path can avoid: Resource Explorer never indexes IAM tags, so the
# IAM calls that carry them: the listing itself for roles and users; for customer managed
# policies, the Tagging API's GetResources in us-east-1, 100 a call (`_policy_tags`).
ANY_SOURCE_OPS = frozenset({"GetAccountAuthorizationDetails"})
TAGGING_PAGE = 100
MODELS = ("services", "any", "explorer")

BucketKey = tuple[str, str, str, str]  # (account id, region or "global", service, bucket name)


@dataclass(frozen=True)
class BucketLoad:
    key: BucketKey
    calls: int
    rate: float
    burst: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.calls - self.burst) / self.rate if self.rate > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        account, region, service, name = self.key
        return {"account": account, "region": region, "bucket": f"{service}:{name}",
                "calls": self.calls, "rate_per_s": self.rate, "burst": self.burst,
                "seconds": round(self.seconds, 3)}


@dataclass
class Bound:
    scenario: str
    model: str
    seconds: float
    org_walk_calls: int
    org_walk_seconds: float
    # Not a lower bound for every design, but for one like today's engine, which starts an
    # account when a listing finds it at t_a (the flat ListAccounts before the walk in forced
    # modes, the walk itself in auto): a's slowest bucket cannot start before, so max over
    # accounts of (t_a + a's slowest bucket).
    walk_critical_path_s: float
    walk_critical_account: str
    account_listing_calls: int
    # `any` model: the least time listing every account x region takes through any mix of
    # sources (benchmarks/floor.py); 0 in the other models, whose buckets already list everything.
    listing_floor_s: float
    latency_s: float
    longest_listing_pages: int
    calls: int
    resources: int  # reachable resources the sync must return (ground truth, generation 0)
    limiting: list[dict[str, Any]] = field(default_factory=list)  # slowest buckets first
    calls_by_op: dict[str, int] = field(default_factory=dict)  # "iam:ListRoleTags" -> fewest calls needed
    formula: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "model": self.model, "seconds": round(self.seconds, 3),
            "org_walk_calls": self.org_walk_calls, "org_walk_seconds": round(self.org_walk_seconds, 3),
            "account_listing_calls": self.account_listing_calls,
            "listing_floor_s": round(self.listing_floor_s, 3),
            "walk_critical_path_s": round(self.walk_critical_path_s, 3),
            "walk_critical_account": self.walk_critical_account,
            "latency_s": self.latency_s, "longest_listing_pages": self.longest_listing_pages,
            "calls": self.calls, "resources": self.resources, "limiting": self.limiting,
            "calls_by_op": self.calls_by_op,
            "formula": self.formula,
        }


FORMULA = ("T_bound = max(T_org + 3L, max over buckets of max(0, calls - burst)/rate, (P_max + 3)L); "
           "T_org = max((N_org - burst)/rate, N_org*L), the OU walk serialized at the Organizations "
           "quota; calls = fewest calls at the APIs' largest pages plus unavoidable per-item calls; "
           "L = base latency. Ignores CPU and dependencies, so it is a lower bound.")


class _Loads:
    """Calls per bucket, using orgsim's own quota table (scale and overrides included)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.quotas = Quotas(world.scenario.quotas)
        self.specs = services()
        self.calls: Counter[BucketKey] = Counter()
        self.by_op: Counter[str] = Counter()
        self.limits: dict[BucketKey, tuple[float, float]] = {}

    def add(self, account: int, region: str, service: str, op: str, n: int = 1) -> None:
        if n <= 0:
            return
        spec = self.specs[service]
        lim = self.quotas.limit(spec, op) if self.quotas.enabled else None
        name, rate, burst = lim if lim is not None else (op, 0.0, 0.0)  # rate 0: unmetered
        key = (self.world.org.accounts[account].account_id,
               region if spec.regional else GLOBAL, service, name)
        self.calls[key] += n
        self.by_op[f"{service}:{op}"] += n
        self.limits[key] = (rate, burst)

    def buckets(self) -> list[BucketLoad]:
        out = [BucketLoad(k, n, *self.limits[k]) for k, n in self.calls.items()]
        return sorted(out, key=lambda b: (-b.seconds, -b.calls))


def org_walk_calls(world: World) -> int:
    """Organizations calls of a breadth-first OU walk, replayed through orgsim's handlers."""
    return org_walk(world)[0]


def org_walk(world: World, list_flat_first: bool = True) -> tuple[int, int, dict[str, int]]:
    """(calls of the breadth-first OU walk, calls of the flat account listing before it,
    account id -> calls made when the first page naming it arrived).

    In its forced modes the engine lists the accounts flat first when no OU is excluded (the
    benchmarks exclude none), so that is when an account is found; auto walks alone. The walk
    itself is the work the catalog needs for OU paths, and the only Organizations work the
    bound charges.
    """
    found: dict[str, int] = {}
    if not world.org.enabled:
        return 0, 0, found
    mgmt = world.org.management
    caller = Caller(account=0, account_id=mgmt.account_id, access_key="AKIDBOUND", assumed=False)
    spec = services()["organizations"]
    stats = Stats()
    count = 0

    def pages(op: str, params: dict[str, Any], key: str) -> list[dict[str, Any]]:
        nonlocal count
        items: list[dict[str, Any]] = []
        params = dict(params, MaxResults=20)
        fn = handler("organizations", op)
        assert fn is not None, op
        while True:
            count += 1
            page = fn(Call(world, spec, op, caller, world.org.regions[0], params, "bound", stats))
            items.extend(page.get(key) or ())
            if op in ("ListAccounts", "ListAccountsForParent"):
                for account in page.get(key) or ():
                    found.setdefault(account["Id"], count)
            if not page.get("NextToken"):
                return items
            params["NextToken"] = page["NextToken"]

    count += 1  # DescribeOrganization
    if list_flat_first:
        pages("ListAccounts", {}, "Accounts")
    listing = count - 1
    level = [r["Id"] for r in pages("ListRoots", {}, "Roots")]
    while level:  # as the engine walks: each level's accounts, then its OUs
        for parent in level:
            pages("ListAccountsForParent", {"ParentId": parent}, "Accounts")
        level = [ou["Id"] for parent in level
                 for ou in pages("ListOrganizationalUnitsForParent", {"ParentId": parent}, "OrganizationalUnits")]
    return count - listing, listing, found


def _policy_tags(loads: _Loads, acct: Account, policies: int) -> None:
    """The least any source spends on an account's policy tags: GetResources pages in us-east-1,
    or, where an SCP denies that Region (or it is not enabled), a ListPolicyTags call each."""
    if not policies:
        return
    denied = acct.index != 0 and GLOBAL_TAGS_REGION in acct.scp_denied
    if denied or GLOBAL_TAGS_REGION not in acct.regions:
        loads.add(acct.index, GLOBAL, "iam", "ListPolicyTags", policies)
    else:
        loads.add(acct.index, GLOBAL_TAGS_REGION, "tagging", "GetResources", _pages(policies, TAGGING_PAGE))


def _pages(n: int, page: int) -> int:
    return max(1, math.ceil(n / page))


def truth_by_type(world: World, types: Collection[str] | None = None) -> dict[str, int]:
    """Resources a complete sync returns at generation 0, per type, without generating them."""
    inv = world.inventory
    out: Counter[str] = Counter()
    for s, n in enumerate(inv.counts):
        if not n:
            continue
        info = inv.info(s)
        if types is not None and info.rtype.rtype not in types:
            continue
        if world.listable(info.account, info.region, info.rtype)[0]:
            out[info.rtype.rtype] += n
    return dict(sorted(out.items()))


def compute_bound(scenario: str | World, model: str = "services",
                  types: Collection[str] | None = None, home_region: str = "us-east-1") -> Bound:
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    world = scenario if isinstance(scenario, World) else World(scenario)
    inv, org = world.inventory, world.org
    loads = _Loads(world)
    aggregated = aggregator_areas(world) if model == "explorer" else set()
    aggregated_types = frozenset(world.explorer.supported) if aggregated else frozenset()
    aggregator_resources = 0
    wanted = [rt for rt in inv.types if types is None or rt.rtype in types]
    longest = 0
    for acct in org.accounts:
        if acct.state != "ACTIVE":
            continue  # the walk reports it; nothing is called in it
        a = acct.index
        if a != 0:
            loads.add(0, GLOBAL, "sts", "AssumeRole")
            if not acct.assumable:
                continue
        loads.add(a, home_region, "ec2", "DescribeRegions")
        for rt in wanted:
            op, size, per_item = LIST_CALLS[rt.rtype]
            service = rt.service
            if model == "any" and rt.rtype == "iam:policy":
                _policy_tags(loads, acct, inv.counts[inv.account_scopes(a, GLOBAL, rt.rtype)])
                continue
            if model == "any" and not ANY_SOURCE_OPS & {op, *per_item}:
                continue
            if rt.rtype == "s3:bucket":  # every mode: ListBuckets is the only complete list
                n = sum(inv.counts[inv.account_scopes(a, r, rt.rtype)] for r in acct.regions)
                if model != "any":
                    loads.add(a, home_region, service, op, _pages(n, size))
                for r in acct.regions:
                    if a == 0 or r not in acct.scp_denied:  # the tag call lands in the bucket's region
                        loads.add(a, r, service, per_item[0], inv.counts[inv.account_scopes(a, r, rt.rtype)])
                longest = max(longest, _pages(n, size))
                continue
            left = acct.regions
            if model == "explorer" and rt.rtype in aggregated_types and rt.tags_in_explorer:
                listed = [r for r in acct.regions if (a, r) in aggregated and (a == 0 or r not in acct.scp_denied)]
                aggregator_resources += sum(inv.counts[inv.account_scopes(a, r, rt.rtype)] for r in listed)
                left = [r for r in acct.regions if r not in listed]
            every_call = model != "any"
            for region in ((GLOBAL,) if rt.is_global else left):
                n = inv.counts[inv.account_scopes(a, region, rt.rtype)]
                if region != GLOBAL and a != 0 and region in acct.scp_denied:
                    loads.add(a, region, service, op)  # one call to learn the SCP denies it
                    continue
                if every_call or op in ANY_SOURCE_OPS:
                    loads.add(a, region, service, op, _pages(n, size))
                for item_op in per_item:
                    if every_call or item_op in ANY_SOURCE_OPS:
                        loads.add(a, region, service, item_op, n)
                longest = max(longest, _pages(n, size))
    if aggregator_resources:
        ex = world.explorer
        loads.add(0, ex.aggregator_region, "resource-explorer-2", "ListResources",
                  _pages(aggregator_resources, EXPLORER_PAGE))
    n_org, n_listing, found = org_walk(world, list_flat_first=model != "any")
    org_spec = services()["organizations"]
    quotas = Quotas(world.scenario.quotas)
    lim = quotas.limit(org_spec, "ListAccountsForParent") if quotas.enabled else None
    latency = world.scenario.latency.base_ms / 1000.0

    def walk_time(calls: int) -> float:
        return max((calls - lim[2]) / lim[1] if lim else 0.0, calls * latency)

    t_org = walk_time(n_org)
    buckets = loads.buckets()
    slowest = buckets[0].seconds if buckets else 0.0
    per_account: dict[str, float] = {}
    for b in buckets:
        per_account[b.key[0]] = max(per_account.get(b.key[0], 0.0), b.seconds)
    critical, critical_account = t_org, ""
    for account_id, t in per_account.items():
        at = walk_time(found.get(account_id, 0)) + t
        if at > critical:
            critical, critical_account = at, account_id
    floor = listing_floor(world, LIST_CALLS) if model == "any" else 0.0
    seconds = max(t_org + 3 * latency, slowest, (longest + 3) * latency, floor)
    return Bound(
        scenario=world.scenario.name, model=model, seconds=seconds, org_walk_calls=n_org,
        account_listing_calls=n_listing, listing_floor_s=floor,
        org_walk_seconds=t_org, walk_critical_path_s=max(critical, seconds),
        walk_critical_account=critical_account, latency_s=latency, longest_listing_pages=longest,
        calls=sum(b.calls for b in buckets) + n_org,
        resources=sum(truth_by_type(world, types).values()),
        limiting=[b.to_dict() for b in buckets[:5]], formula=FORMULA,
        calls_by_op=dict(sorted(loads.by_op.items())),
    )
