"""Tag sets: a small table of distinct tag combinations that resources point into.

A resource carries an index into this table instead of its own tags, so a page renders tags by
looking up a fragment pre-serialized once per wire format (JSON for Resource Explorer, XML for
EC2/RDS/IAM/S3), and a tag filter is one boolean per table entry.
"""

from __future__ import annotations

from collections.abc import Callable

from orgsim.hashing import mix, sub, unit
from orgsim.identity import IdentityStore
from orgsim.scenario import Scenario

TagSet = tuple[tuple[str, str], ...]

_ENVS = ("prod", "staging", "dev", "test")
_APPS = ("checkout", "search", "ledger", "ingest", "reports", "gateway", "auth", "etl")
_VARIANTS = 3  # tag sets per owner value: owner; owner+env; owner+env+cost-center


class TagTable:
    def __init__(self, scenario: Scenario, identity: IdentityStore) -> None:
        cfg = scenario.resources
        seed = scenario.organization.seed
        self.owner_key = cfg.owner_tag_key
        self.owner_share = cfg.owner_share
        self.other_share = cfg.other_tag_share
        self.group_share = cfg.group_owner_share
        self.unknown_share = cfg.unknown_owner_share
        self.users = [u.user_name for u in identity.users]
        self.groups = [g.display_name for g in identity.groups]
        n_unknown = max(3, len(self.users) // 10)
        self.unknown = [f"former-employee-{i + 1}" for i in range(n_unknown)]
        sets: list[TagSet] = [()]
        self.user_base = len(sets)
        for v in self.users:
            sets.extend(self._owner_variants(seed, v))
        self.group_base = len(sets)
        for v in self.groups:
            sets.extend(self._owner_variants(seed, v))
        self.unknown_base = len(sets)
        for v in self.unknown:
            sets.extend(self._owner_variants(seed, v))
        self.other_base = len(sets)
        for env in _ENVS:
            sets.append((("env", env),))
            for app in _APPS:
                sets.append((("app", app), ("env", env)))
        self.other_count = len(sets) - self.other_base
        self.owner_count = self.other_base - self.user_base
        self.sets: tuple[TagSet, ...] = tuple(sets)
        self.dicts = tuple(dict(s) for s in sets)
        self._render: dict[str, list[str]] = {}
        self._masks: dict[str, list[bool]] = {}
        # The choice depends only on the top 16 bits of a resource's hash, so it is a table
        # lookup on the hot path (shares are honoured to 1/65536).
        self.table: list[int] = [self._pick(mix(i << 48)) for i in range(1 << 16)]

    def _owner_variants(self, seed: int, value: str) -> list[TagSet]:
        x = sub(seed, "owner-variant", len(value), sum(map(ord, value)))
        env = _ENVS[x % len(_ENVS)]
        cc = f"cc-{100 + (x >> 8) % 900}"
        key = self.owner_key
        return [
            ((key, value),),
            tuple(sorted(((key, value), ("env", env)))),
            tuple(sorted(((key, value), ("cost-center", cc), ("env", env)))),
        ]

    def __len__(self) -> int:
        return len(self.sets)

    def pick(self, h: int) -> int:
        """Tag set of a resource from its hash (0 = untagged)."""
        return self.table[h >> 48]

    def _pick(self, h: int) -> int:
        u = unit(h)
        if u < self.owner_share:
            y = mix(h)
            c = unit(y)
            variant = (y >> 8) % _VARIANTS
            if c < self.unknown_share:
                return self.unknown_base + ((y >> 16) % len(self.unknown)) * _VARIANTS + variant
            if self.groups and (c < self.unknown_share + self.group_share or not self.users):
                return self.group_base + ((y >> 16) % len(self.groups)) * _VARIANTS + variant
            if self.users:
                return self.user_base + ((y >> 16) % len(self.users)) * _VARIANTS + variant
            return self.unknown_base + variant
        if u < self.owner_share + self.other_share:
            return self.other_base + (mix(h + 1) % self.other_count)
        return 0

    def retag(self, h: int, salt: int, old: int) -> int:
        """A different tag set for a mutated resource; mostly a new owner, sometimes none."""
        y = mix(h ^ salt)
        u = unit(y)
        if u < 0.1 and old != 0:
            return 0
        if u < 0.2:
            new = self.other_base + (y >> 8) % self.other_count
        else:
            new = self.user_base + (y >> 8) % self.owner_count
        if new == old:
            new = self.user_base + (new - self.user_base + 1) % self.owner_count
        return new

    def has_owner(self, idx: int) -> bool:
        return self.user_base <= idx < self.other_base

    def render(self, fmt: str, fn: Callable[[TagSet], str]) -> list[str]:
        """Per-tag-set fragments for one wire format, built once."""
        out = self._render.get(fmt)
        if out is None:
            out = [fn(s) for s in self.sets]
            self._render[fmt] = out
        return out

    def mask(self, key: str, pred: Callable[[TagSet], bool]) -> list[bool]:
        """Per-tag-set truth of a tag predicate, cached by a caller-chosen key."""
        out = self._masks.get(key)
        if out is None:
            out = [pred(s) for s in self.sets]
            if len(self._masks) > 512:
                self._masks.clear()
            self._masks[key] = out
        return out
