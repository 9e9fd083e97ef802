"""Every resource of the organization, computed on demand and never materialized.

Resources live in *scopes*: account x region x type (global types such as IAM use the extra
region "global"). A scope holds ``counts[s]`` resources at generation 0; the resource at
position ``p`` is a pure function of (seed, scope, p). Paginators only need a scope and a
position, so a NextToken is two integers and a page costs O(page).

Mutations (``mutate``) are cumulative generations. Base resources are laid out on one global
line of ``T`` positions and shuffled by an affine permutation; generation g deletes the
shuffled positions [lo, lo + k) and retags [lo + k, lo + 2k), and the cursor moves on, so each
generation touches exactly k fresh resources of each kind. It also adds k new resources, spread
over scopes in proportion to their size, appended after the scope's existing positions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from orgsim.hashing import M64, coprime_multiplier, stochastic_round, sub, unit
from orgsim.org import Organization
from orgsim.registry import ResourceType, resource_types
from orgsim.scenario import Scenario, ScenarioError
from orgsim.tags import TagTable

GLOBAL = "global"


def _regional_growth(types: Sequence[ResourceType], bases: Sequence[float]) -> float:
    """How much an account's regional types grow to take what its global types hold over quota.

    A skewed account can be given more IAM entities than AWS lets one account hold (5,000
    roles); the excess moves to the account's regional types, so the account keeps the size its
    scenario gives it and only its mix changes. 1.0 when nothing is over quota.
    """
    over = sum(max(0.0, base - rt.per_account_max) for rt, base in zip(types, bases, strict=True)
               if rt.is_global and rt.per_account_max is not None)
    regional = sum(base for rt, base in zip(types, bases, strict=True) if not rt.is_global)
    return 1.0 + over / regional if over and regional else 1.0


class MutationError(ValueError):
    """The requested mutation cannot be applied (e.g. every base resource was already used)."""


@dataclass(frozen=True)
class ScopeInfo:
    scope: int
    account: int
    account_id: str
    region: str  # "global" for global types
    region_index: int
    rtype: ResourceType
    arn_prefix: str
    key: int
    salt_hex: str  # low 32 bits of key in hex: a stable per-scope prefix for generated ids


class Res(NamedTuple):
    scope: int
    pos: int
    h: int
    name: str
    arn: str
    tagset: int


@dataclass(frozen=True)
class Generation:
    number: int
    share: float
    seed: int
    deleted: int
    retagged: int
    added: int
    lo: int  # cursor on the shuffled base line
    salt: int
    live_after: int
    # (scope, n): resources added to one scope on top of the spread ones (see Inventory.add)
    targeted: tuple[tuple[int, int], ...] = ()


class Inventory:
    def __init__(self, scenario: Scenario, org: Organization, tags: TagTable) -> None:
        self.scenario = scenario
        self.org = org
        self.tags = tags
        self.seed = scenario.organization.seed
        all_types = {rt.rtype: rt for rt in resource_types()}
        wanted = scenario.resources.types or sorted(all_types)
        unknown = sorted(set(wanted) - set(all_types))
        if unknown:
            raise ScenarioError(f"resources.types: unknown {unknown}; known {sorted(all_types)}")
        self.types: tuple[ResourceType, ...] = tuple(all_types[t] for t in sorted(set(wanted)))
        self.type_index = {rt.rtype: i for i, rt in enumerate(self.types)}
        self.K = len(self.types)
        self.regions: tuple[str, ...] = org.regions + (GLOBAL,)
        self.region_index = {r: i for i, r in enumerate(self.regions)}
        self.NR = len(self.regions)
        self.GLOBAL_R = self.NR - 1
        self.A = len(org.accounts)
        self.counts = self._counts()
        self.S = len(self.counts)
        # Prefix sums of mutable base counts: the global line mutations walk along.
        mprefix = [0] * (self.S + 1)
        run = 0
        for s in range(self.S):
            mprefix[s] = run
            if self.types[s % self.K].mutable:
                run += self.counts[s]
        mprefix[self.S] = run
        self.mprefix = mprefix
        self.T = run
        self.base_total = sum(self.counts)
        self._pa = coprime_multiplier(self.T, sub(self.seed, "perm-a")) if self.T else 1
        self._pb = sub(self.seed, "perm-b") % self.T if self.T else 0
        self.gens: list[Generation] = []
        self._cursor = 0
        self._info: dict[int, ScopeInfo] = {}

    # ----- layout -------------------------------------------------------------------------
    def scope_index(self, account: int, region_index: int, type_index: int) -> int:
        return (account * self.NR + region_index) * self.K + type_index

    def _counts(self) -> list[int]:
        cfg = self.scenario.resources
        seed = self.seed
        alpha = max(0.2, cfg.account_skew)
        weights = []
        for i in range(self.A):
            u = unit(sub(seed, "acct-size", i))
            weights.append(min((1.0 - u) ** (-1.0 / alpha), 1e4))
        hot = cfg.hot_account
        if 0 <= hot < self.A and cfg.hot_account_share > 0:
            rest = sum(w for i, w in enumerate(weights) if i != hot)
            share = min(cfg.hot_account_share, 0.999)
            weights[hot] = rest * share / (1.0 - share) if rest else 1.0
        elif hot >= self.A:
            raise ScenarioError(f"resources.hot_account: {hot} >= accounts {self.A}")
        wsum = sum(weights) or 1.0
        tw = [cfg.type_weights.get(rt.rtype, rt.weight) for rt in self.types]
        twsum = sum(tw) or 1.0
        total = cfg.total
        counts = [0] * (self.A * self.NR * self.K)
        for a, acct in enumerate(self.org.accounts):
            wa = weights[a] / wsum
            rw = {}
            for r in acct.regions:
                ri = self.region_index[r]
                rw[ri] = 1.0 if not rw else 0.2 + 0.8 * unit(sub(seed, "region-size", a, ri))
            rsum = sum(rw.values()) or 1.0
            bases = [total * wa * tw[t] / twsum for t in range(self.K)]
            grow = _regional_growth(self.types, bases)
            for t, rt in enumerate(self.types):
                base = bases[t]
                if rt.is_global:
                    s = self.scope_index(a, self.GLOBAL_R, t)
                    n = stochastic_round(base, sub(seed, "count", s))
                    counts[s] = n if rt.per_account_max is None else min(n, rt.per_account_max)
                    continue
                for ri, w in rw.items():
                    s = self.scope_index(a, ri, t)
                    counts[s] = stochastic_round(base * grow * w / rsum, sub(seed, "count", s))
        return counts

    def info(self, s: int) -> ScopeInfo:
        got = self._info.get(s)
        if got is None:
            t = s % self.K
            ri = (s // self.K) % self.NR
            a = s // (self.K * self.NR)
            acct = self.org.accounts[a].account_id
            region = self.regions[ri]
            rt = self.types[t]
            key = sub(self.seed, "scope", s)
            got = ScopeInfo(
                scope=s,
                account=a,
                account_id=acct,
                region=region,
                region_index=ri,
                rtype=rt,
                arn_prefix=rt.arn_prefix.format(region=region, account=acct),
                key=key,
                salt_hex=f"{key & 0xFFFFFFFF:08x}",
            )
            self._info[s] = got
        return got

    def account_scopes(self, account: int, region: str, rtype: str) -> int | None:
        """Scope of one account x region x type, or None if not simulated."""
        t = self.type_index.get(rtype)
        ri = self.region_index.get(GLOBAL if t is not None and self.types[t].is_global else region)
        if t is None or ri is None:
            return None
        return self.scope_index(account, ri, t)

    # ----- generations ----------------------------------------------------------------------
    @property
    def generation(self) -> int:
        return len(self.gens)

    def live_total(self, gen: int | None = None) -> int:
        """Live resources of mutable types at a generation (IAM groups never change)."""
        g = self.generation if gen is None else gen
        return self.gens[g - 1].live_after if g > 0 else self.T

    def mutate(self, share: float, seed: int) -> Generation:
        if not 0 <= share <= 0.5:
            raise MutationError(f"share must be within [0, 0.5], got {share}")
        live = self.live_total()
        k = round(share * live)
        if self._cursor + 2 * k > self.T:
            raise MutationError(
                f"only {self.T - self._cursor} untouched base resources left, {2 * k} needed"
            )
        n = self.generation + 1
        gen = Generation(
            number=n,
            share=share,
            seed=seed,
            deleted=k,
            retagged=k,
            added=k,
            lo=self._cursor,
            salt=sub(seed, "retag", n),
            live_after=live,  # deletes and adds cancel out
        )
        self._cursor += 2 * k
        self.gens.append(gen)
        return gen

    def add(self, s: int, n: int) -> Generation:
        """A generation that only appends ``n`` resources to scope ``s`` (a targeted change)."""
        if n < 1:
            raise MutationError(f"n must be at least 1, got {n}")
        if not self.counts[s]:
            raise MutationError("the scope holds no resources at generation 0; add to one that does")
        live = self.live_total()
        gen = Generation(number=self.generation + 1, share=0.0, seed=0, deleted=0, retagged=0, added=0,
                         lo=self._cursor, salt=0, live_after=live + (n if self.types[s % self.K].mutable else 0),
                         targeted=((s, n),))
        self.gens.append(gen)
        return gen

    def added_in(self, s: int, g: Generation) -> int:
        extra = sum(n for scope, n in g.targeted if scope == s)
        m0 = self.mprefix[s]
        m1 = self.mprefix[s + 1]
        if m0 == m1 or not self.T:
            return extra
        return extra + (m1 * g.added) // self.T - (m0 * g.added) // self.T

    def raw_size(self, s: int, gen: int) -> int:
        n = self.counts[s]
        for g in self.gens[:gen]:
            n += self.added_in(s, g)
        return n

    # ----- resources -----------------------------------------------------------------------
    def resource(self, s: int, pos: int, gen: int | None = None) -> Res | None:
        """The resource at a position, or None if deleted or not (yet) created."""
        gen = self.generation if gen is None else gen
        for res in self.scan(s, pos, gen, pos + 1):
            return res
        return None

    def scan(self, s: int, start: int, gen: int, stop: int | None = None) -> Iterator[Res]:
        """Live resources of a scope from position ``start`` (inclusive) to ``stop``."""
        info = self.info(s)
        rt = info.rtype
        n0 = self.counts[s]
        end = self.raw_size(s, gen)
        if stop is not None:
            end = min(end, stop)
        gens = self.gens[:gen] if rt.mutable else []
        key = info.key
        prefix = info.arn_prefix
        name_fn = rt.name
        tail_fn = rt.arn_tail
        table = self.tags.table if rt.taggable else None
        retag = self.tags.retag
        T = self.T
        pa, pb = self._pa, self._pb
        gbase = self.mprefix[s]
        new = tuple.__new__
        for pos in range(start, end):
            # mix(key + pos), inlined: this loop is the simulator's hot path
            x = (key + pos + 0x9E3779B97F4A7C15) & M64
            x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
            x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
            h = x ^ (x >> 31)
            ts = table[h >> 48] if table is not None else 0
            if gens and pos < n0:
                u = (pa * (gbase + pos) + pb) % T
                dead = False
                for g in gens:
                    off = (u - g.lo) % T
                    if off < g.deleted:
                        dead = True
                        break
                    if off < g.deleted + g.retagged and table is not None:
                        ts = retag(h, g.salt, ts)
                if dead:
                    continue
            name = name_fn(info, pos, h)
            arn = prefix + (tail_fn(name, h) if tail_fn is not None else name)
            yield new(Res, (s, pos, h, name, arn, ts))

    def scopes(self, gen: int | None = None) -> Iterator[int]:
        """Scopes that hold at least one resource position at a generation."""
        gen = self.generation if gen is None else gen
        for s in range(self.S):
            if self.counts[s] and self.raw_size(s, gen):
                yield s

    def find_by_name(self, s: int, name: str, parse_pos: int | None, gen: int | None = None) -> Res | None:
        """Look a resource up by name; names embed their position, so this is O(1)."""
        if parse_pos is None or parse_pos < 0:
            return None
        res = self.resource(s, parse_pos, gen)
        if res is None or res.name != name:
            return None
        return res

    def iter_all(self, gen: int | None = None) -> Iterator[Res]:
        gen = self.generation if gen is None else gen
        for s in self.scopes(gen):
            yield from self.scan(s, 0, gen)

    def estimate(self) -> dict[str, int]:
        """Base resource count per type (generation 0), for summaries."""
        out: dict[str, int] = {}
        for s, n in enumerate(self.counts):
            if n:
                rt = self.types[s % self.K].rtype
                out[rt] = out.get(rt, 0) + n
        return out


def position_of(name: str, sep: str = "-", field: int = 1) -> int | None:
    """Position embedded in a generated name (``table-0000042`` -> 42), None if foreign."""
    parts = name.split(sep)
    if len(parts) <= field:
        return None
    digits = parts[field]
    if not digits.isdigit():
        return None
    return int(digits)
