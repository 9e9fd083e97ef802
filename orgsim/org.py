"""The organization: accounts, OUs, states, enabled regions and per-account faults.

Small enough to hold in memory even at 2,000 accounts (one record each); resources are never
held, see ``inventory``.
"""

from __future__ import annotations

from dataclasses import dataclass

from orgsim.hashing import b32, mix, sub, unit
from orgsim.scenario import Scenario, ScenarioError

_WORDS = ["prod", "staging", "dev", "sandbox", "shared", "logging", "security", "audit", "network", "data", "ml", "analytics", "payments", "platform", "web", "mobile", "search", "billing", "identity", "backup"]
BASE_EPOCH = 1_600_000_000  # 2020-09-13: accounts join and resources are created after this


@dataclass(frozen=True)
class OU:
    ou_id: str
    name: str
    parent_id: str
    depth: int


@dataclass(frozen=True)
class Account:
    index: int
    account_id: str
    name: str
    email: str
    state: str  # ACTIVE | SUSPENDED | PENDING_CLOSURE
    parent_id: str
    joined: int  # epoch seconds
    regions: tuple[str, ...]  # enabled regions
    assumable: bool
    scp_denied: frozenset[str]

    @property
    def status(self) -> str:
        """The retired ``Status`` field still sent by Organizations."""
        return self.state


class Organization:
    def __init__(self, scenario: Scenario) -> None:
        cfg = scenario.organization
        seed = cfg.seed
        if cfg.accounts < 1:
            raise ScenarioError("organization.accounts: at least 1 (the management account)")
        self.enabled = cfg.enabled
        self.regions: tuple[str, ...] = tuple(cfg.regions)
        if not self.regions:
            raise ScenarioError("organization.regions: at least one region")
        bad = sorted(set(cfg.opt_in_regions) - set(self.regions))
        if bad:
            raise ScenarioError(f"organization.opt_in_regions: {bad} not in regions")
        self.org_id = "o-" + b32(sub(seed, "org"), 10)
        root_tag = b32(sub(seed, "root"), 4)
        self.root_id = "r-" + root_tag
        self.identity_region = cfg.identity_region or self.regions[0]
        self.ous = self._build_ous(scenario, root_tag)
        ids = self._account_ids(scenario)
        self.management_id = ids[0]
        self.org_arn = f"arn:aws:organizations::{self.management_id}:organization/{self.org_id}"
        states = self._states(scenario, len(ids))
        unassumable = self._unassumable(scenario, ids, states)
        scp = self._scp(scenario, ids)
        parents = [ou.ou_id for ou in self.ous]
        accounts: list[Account] = []
        for i, acct in enumerate(ids):
            x = sub(seed, "account", i)
            if i == 0 or not parents or unit(mix(x + 1)) < cfg.root_account_share:
                parent = self.root_id
            else:
                parent = parents[mix(x + 2) % len(parents)]
            word = _WORDS[x % len(_WORDS)]
            name = "management" if i == 0 else f"{word}-{i:04d}"
            regions = tuple(
                r
                for r in self.regions
                if r not in cfg.opt_in_regions
                or i == 0
                or unit(sub(seed, "optin", i, self.regions.index(r))) < cfg.opt_in_share
            )
            accounts.append(
                Account(
                    index=i,
                    account_id=acct,
                    name=name,
                    email=f"aws+{name}@example.com",
                    state=states[i],
                    parent_id=parent,
                    joined=BASE_EPOCH + i * 3600 + (x % 3600),
                    regions=regions,
                    assumable=i not in unassumable,
                    scp_denied=frozenset(r for (a, r) in scp if a == i),
                )
            )
        self.accounts: tuple[Account, ...] = tuple(accounts)
        self.by_id = {a.account_id: a for a in accounts}
        self.ou_by_id = {ou.ou_id: ou for ou in self.ous}
        self.children_ous: dict[str, list[OU]] = {}
        for ou in self.ous:
            self.children_ous.setdefault(ou.parent_id, []).append(ou)
        self.children_accounts: dict[str, list[Account]] = {}
        for a in accounts:
            self.children_accounts.setdefault(a.parent_id, []).append(a)

    @property
    def management(self) -> Account:
        return self.accounts[0]

    def resolve(self, ref: str) -> int:
        """Account index from ``#N`` or a 12-digit id (see the scenario docstring)."""
        return self._resolve(ref, [a.account_id for a in self.accounts])

    @staticmethod
    def _resolve(ref: str, ids: list[str]) -> int:
        if ref.startswith("#"):
            idx = int(ref[1:])
            if not 0 <= idx < len(ids):
                raise ScenarioError(f"account reference {ref!r} out of range")
            return idx
        try:
            return ids.index(ref)
        except ValueError:
            raise ScenarioError(f"account reference {ref!r} is not in the organization") from None

    def _build_ous(self, scenario: Scenario, root_tag: str) -> tuple[OU, ...]:
        cfg = scenario.organization
        out: list[OU] = []
        level = [self.root_id]
        n = 0
        for depth in range(1, cfg.ou_depth + 1):
            nxt = []
            for parent in level:
                for _ in range(cfg.ou_fanout):
                    x = sub(cfg.seed, "ou", n)
                    ou = OU(
                        ou_id=f"ou-{root_tag}-{b32(x, 8)}",
                        name=f"{_WORDS[x % len(_WORDS)]}-{n:03d}",
                        parent_id=parent,
                        depth=depth,
                    )
                    out.append(ou)
                    nxt.append(ou.ou_id)
                    n += 1
            level = nxt
        return tuple(out)

    @staticmethod
    def _account_ids(scenario: Scenario) -> list[str]:
        cfg = scenario.organization
        mgmt = cfg.management_account_id or f"{100000000000 + sub(cfg.seed, 'mgmt') % 10**11:012d}"
        if len(mgmt) != 12 or not mgmt.isdigit():
            raise ScenarioError("organization.management_account_id: 12 digits")
        ids = [mgmt]
        seen = {mgmt}
        k = 0
        while len(ids) < cfg.accounts:
            acct = f"{sub(cfg.seed, 'acctid', k) % 10**12:012d}"
            k += 1
            if acct not in seen:
                seen.add(acct)
                ids.append(acct)
        return ids

    @staticmethod
    def _pick_members(seed: int, label: str, n: int, count: int, exclude: set[int]) -> set[int]:
        """count distinct member indices (never the management account), deterministic."""
        out: set[int] = set()
        k = 0
        candidates = n - 1 - len(exclude - {0})
        count = min(count, max(0, candidates))
        while len(out) < count:
            i = 1 + sub(seed, label, k) % (n - 1)
            k += 1
            if i not in exclude:
                out.add(i)
        return out

    def _states(self, scenario: Scenario, n: int) -> list[str]:
        cfg = scenario.organization
        states = ["ACTIVE"] * n
        if n > 1:
            suspended = self._pick_members(cfg.seed, "suspended", n, cfg.suspended_accounts, set())
            for i in suspended:
                states[i] = "SUSPENDED"
            closing = self._pick_members(
                cfg.seed, "closing", n, cfg.pending_closure_accounts, suspended
            )
            for i in closing:
                states[i] = "PENDING_CLOSURE"
        return states

    def _unassumable(self, scenario: Scenario, ids: list[str], states: list[str]) -> set[int]:
        f = scenario.faults
        out = {self._resolve(r, ids) for r in f.unassumable}
        if len(ids) > 1 and f.unassumable_accounts:
            inactive = {i for i, s in enumerate(states) if s != "ACTIVE"}
            out |= self._pick_members(
                scenario.organization.seed, "unassumable", len(ids), f.unassumable_accounts,
                inactive | out,
            )
        return out

    def _scp(self, scenario: Scenario, ids: list[str]) -> set[tuple[int, str]]:
        """(account index, region) denied by an SCP; SCPs never bind the management account."""
        f = scenario.faults
        out: set[tuple[int, str]] = set()
        for entry in f.scp_denied_regions:
            if ":" in entry:
                ref, region = entry.split(":", 1)
                out.add((self._resolve(ref, ids), region))
            else:
                out.update((i, entry) for i in range(1, len(ids)))
        if f.scp_denied_share > 0:
            for i in range(1, len(ids)):
                for j, region in enumerate(self.regions):
                    if unit(sub(scenario.organization.seed, "scp", i, j)) < f.scp_denied_share:
                        out.add((i, region))
        return {(i, r) for (i, r) in out if i != 0}
