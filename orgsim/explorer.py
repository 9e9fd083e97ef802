"""Resource Explorer setup: which account x region has an index, which views exist, what a
view can see. Indexes and views are a few per account, so they are held; resources never are.

Coverage rules (mirroring the service):
- the org view (management account, aggregator region) sees every account x region whose
  index is ACTIVE and not lagging;
- an account view in an AGGREGATOR region sees all of its account's ACTIVE regions; in a LOCAL
  region only that region (ACTIVE or UPDATING);
- global resources (IAM) are indexed in one region per account (``explorer.global_region``,
  else the account's first region) and IAM tags are never indexed;
- a lagging index claims to be ACTIVE but its resources have not reached any view yet.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orgsim.hashing import mix, sub, unit
from orgsim.inventory import GLOBAL
from orgsim.refilter import Query
from orgsim.scenario import ScenarioError

if TYPE_CHECKING:
    from orgsim.world import World

# Types Resource Explorer knows beyond the simulated ones; they index nothing here.
EXTRA_TYPES = ("ec2:volume", "ec2:vpc", "ec2:security-group", "sns:topic", "sqs:queue",
               "cloudformation:stack", "kms:key", "logs:log-group")
STATES = ("CREATING", "ACTIVE", "UPDATING", "DELETING", "DELETED")


@dataclass(frozen=True)
class Index:
    account: int
    region: str
    type: str  # LOCAL | AGGREGATOR
    state: str
    arn: str
    created: int


@dataclass(frozen=True)
class View:
    arn: str
    account: int
    region: str
    scope: str  # "org" | "account"
    include_tags: bool
    filter: str
    default: bool


def _uuid(x: int) -> str:
    return str(uuid.UUID(int=(mix(x) << 64) | mix(x + 1), version=4))


class Explorer:
    def __init__(self, world: World) -> None:
        self.world = world
        sc = world.scenario
        cfg = sc.explorer
        self.cfg = cfg
        org = world.org
        seed = sc.organization.seed
        self.enabled = cfg.enabled
        self.aggregator_region = cfg.aggregator_region
        if cfg.aggregator_region and cfg.aggregator_region not in org.regions:
            raise ScenarioError(f"explorer.aggregator_region {cfg.aggregator_region!r} "
                                "is not in organization.regions")
        bad = sorted(set(cfg.index_states.values()) - set(STATES))
        if bad:
            raise ScenarioError(f"explorer.index_states: unknown state(s) {bad}")
        missing = self._pairs(cfg.indexes_missing)
        present = self._pairs(cfg.indexes_present)
        states = {p: st for k, st in cfg.index_states.items() for p in self._pairs([k])}
        lagging = self._pairs(cfg.lagging)
        self.indexes: dict[tuple[int, str], Index] = {}
        self.lagging: set[tuple[int, str]] = set()
        for acct in org.accounts if self.enabled else ():
            a = acct.index
            if acct.state == "SUSPENDED":
                continue
            member_agg = a != 0 and unit(sub(seed, "re-agg", a)) < cfg.member_aggregator_share
            agg_region = cfg.aggregator_region or acct.regions[0]
            for j, region in enumerate(acct.regions):
                key = (a, region)
                x = sub(seed, "re-index", a, j)
                is_mgmt_agg = a == 0 and region == cfg.aggregator_region
                has = is_mgmt_agg or unit(x) < cfg.index_share
                if key in missing and not is_mgmt_agg:
                    has = False
                if key in present:
                    has = True
                if not has:
                    continue
                u = unit(mix(x))
                state = ("CREATING" if u < cfg.creating_share
                         else "UPDATING" if u < cfg.creating_share + cfg.updating_share
                         else "ACTIVE")
                if is_mgmt_agg:
                    state = "ACTIVE"
                state = states.get(key, state)
                kind = "AGGREGATOR" if is_mgmt_agg or (member_agg and region == agg_region) else "LOCAL"
                self.indexes[key] = Index(
                    a, region, kind, state,
                    f"arn:aws:resource-explorer-2:{region}:{acct.account_id}:index/{_uuid(x)}",
                    1_650_000_000 + (x % 20_000_000),
                )
                if state == "ACTIVE" and (key in lagging or unit(mix(x + 7)) < cfg.lagging_share):
                    self.lagging.add(key)
        self.views: dict[tuple[int, str], list[View]] = {}
        self.view_by_arn: dict[str, View] = {}
        org_view = (self.enabled and org.enabled and cfg.org_view and cfg.trusted_access
                    and bool(cfg.aggregator_region))
        no_default = self._pairs(cfg.default_views_missing)
        for a, region in self.indexes:
            acct_id = org.accounts[a].account_id
            here_org = org_view and a == 0 and region == cfg.aggregator_region
            if here_org:
                self._add(View(self._view_arn(region, acct_id, "organization-view", a),
                               a, region, "org", cfg.org_view_tags, cfg.org_view_filter,
                               cfg.org_view_default))
            x = sub(seed, "re-view", a, org.regions.index(region))
            wanted = here_org or a == 0 or unit(x) < cfg.default_view_share
            if wanted and (a, region) not in no_default:
                self._add(View(self._view_arn(region, acct_id, "all-resources", a), a, region,
                               "account", cfg.default_view_tags, "",
                               not (here_org and cfg.org_view_default)))
        all_types = [rt.rtype for rt in world.inventory.types]
        supported = cfg.supported_types or (all_types + list(EXTRA_TYPES))
        self.supported = [t for t in supported if t not in set(cfg.unsupported_types)]
        self.indexed_types = [i for i, rt in enumerate(world.inventory.types)
                              if rt.rtype in set(self.supported)]
        self._scope_cache: dict[tuple[str, str, int], list[int]] = {}
        self.count_cache: dict[tuple[str, int], tuple[int, bool]] = {}

    def _pairs(self, refs: list[str]) -> set[tuple[int, str]]:
        org = self.world.org
        out: set[tuple[int, str]] = set()
        for ref in refs:
            acct, _, region = ref.partition(":")
            if not region:
                raise ScenarioError(f"explorer: {ref!r} should be ACCOUNT:REGION")
            a = org.resolve(acct)
            regions = org.accounts[a].regions if region == "*" else (region,)
            out.update((a, r) for r in regions)
        return out

    @staticmethod
    def _view_arn(region: str, account_id: str, name: str, a: int) -> str:
        x = zlib.crc32(f"{region}/{account_id}/{name}".encode()) + a
        return f"arn:aws:resource-explorer-2:{region}:{account_id}:view/{name}/{_uuid(x)}"

    def _add(self, view: View) -> None:
        self.views.setdefault((view.account, view.region), []).append(view)
        self.view_by_arn[view.arn] = view

    def default_view(self, account: int, region: str) -> View | None:
        for v in self.views.get((account, region), ()):
            if v.default:
                return v
        return None

    def aggregator_of(self, account: int) -> Index | None:
        for (a, _), idx in self.indexes.items():
            if a == account and idx.type == "AGGREGATOR":
                return idx
        return None

    def global_home(self, account: int) -> str:
        regions = self.world.org.accounts[account].regions
        return self.cfg.global_region if self.cfg.global_region in regions else regions[0]

    def scope_arn(self, view: View) -> str:
        org = self.world.org
        if view.scope == "org":
            return org.org_arn
        return f"arn:aws:iam::{org.accounts[view.account].account_id}:root"

    def coverage(self, view: View) -> list[tuple[int, str]]:
        """(account, region) pairs whose resources the view returns."""
        idx = self.indexes.get((view.account, view.region))
        if idx is None:
            return []
        org = self.world.org
        ok = ("ACTIVE",)
        if view.scope == "org":
            accounts = range(len(org.accounts))
        elif idx.type == "AGGREGATOR" and idx.state in ("ACTIVE", "UPDATING"):
            accounts = range(view.account, view.account + 1)
        else:
            key = (view.account, view.region)
            return [key] if idx.state in ("ACTIVE", "UPDATING") and key not in self.lagging else []
        out = []
        for a in accounts:
            for region in org.accounts[a].regions:
                other = self.indexes.get((a, region))
                if other is not None and other.state in ok and (a, region) not in self.lagging:
                    out.append((a, region))
        return out

    def scopes(self, view: View, queries: list[Query], gen: int) -> list[int]:
        """Sorted inventory scopes a view (narrowed by queries) can return."""
        key = (view.arn, " & ".join(q.key for q in queries), gen)
        got = self._scope_cache.get(key)
        if got is not None:
            return got
        inv = self.world.inventory
        org = self.world.org
        out: list[int] = []
        for a, region in self.coverage(view):
            acct_id = org.accounts[a].account_id
            home = self.global_home(a)
            for t in self.indexed_types:
                rt = inv.types[t]
                if rt.is_global:
                    if region != home:
                        continue
                    where, ri = GLOBAL, inv.GLOBAL_R
                else:
                    where, ri = region, inv.region_index[region]
                s = inv.scope_index(a, ri, t)
                if not inv.counts[s] or not inv.raw_size(s, gen):
                    continue
                if all(q.scope_ok(acct_id, where, rt.rtype, rt.service) for q in queries):
                    out.append(s)
        out.sort()
        if len(self._scope_cache) > 256:
            self._scope_cache.clear()
        self._scope_cache[key] = out
        return out
