"""The simulated Identity Store: users, groups and memberships derived from the seed.

Owner tags point at these names (user names and group display names), so the engine can
resolve owners; a share of owner tags deliberately names nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from orgsim.hashing import mix, sub
from orgsim.scenario import Scenario

_FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "kim", "leo", "mallory", "nina", "oscar", "peggy", "quinn", "rita", "sam", "trent", "uma", "victor", "wendy", "xavier", "yara", "zoe", "amir", "bea", "chen", "dina", "eli", "fatima", "gus", "hana", "igor", "jana", "kofi", "lena", "marco", "noor", "omar", "pia"]
_LAST = ["smith", "jones", "garcia", "miller", "davis", "lopez", "wilson", "anderson", "taylor", "thomas", "moore", "martin", "lee", "perez", "white", "harris", "clark", "lewis", "young", "walker", "hall", "allen", "king", "wright", "scott", "green", "baker", "adams", "nelson", "hill", "ramirez", "campbell", "mitchell", "roberts", "carter", "phillips", "evans", "turner"]
_TEAMS = ["payments", "platform", "data-eng", "search", "mobile", "web", "identity", "billing", "growth", "security", "sre", "ml-infra", "analytics", "checkout", "catalog", "logistics", "support", "marketing", "finance", "hr-tools", "devex", "networking", "storage", "observability"]


@dataclass(frozen=True)
class User:
    user_id: str
    user_name: str
    display_name: str
    email: str
    given: str
    family: str


@dataclass(frozen=True)
class Group:
    group_id: str
    display_name: str
    description: str
    members: tuple[int, ...]  # indices into IdentityStore.users


def _uuidish(x: int, store_prefix: str) -> str:
    y = mix(x)
    hexs = f"{x:016x}{y:016x}"
    return f"{store_prefix}-{hexs[0:8]}-{hexs[8:12]}-{hexs[12:16]}-{hexs[16:20]}-{hexs[20:32]}"


class IdentityStore:
    def __init__(self, scenario: Scenario) -> None:
        cfg = scenario.identity
        seed = scenario.organization.seed
        self.store_id = scenario.organization.identity_store_id
        prefix = self.store_id.removeprefix("d-")[:10] or "9067000000"
        seen: dict[str, int] = {}
        users: list[User] = []
        for i in range(cfg.users):
            x = sub(seed, "user", i)
            given = _FIRST[x % len(_FIRST)]
            family = _LAST[(x >> 16) % len(_LAST)]
            base = f"{given}.{family}"
            n = seen.get(base, 0)
            seen[base] = n + 1
            user_name = base if n == 0 else f"{base}{n + 1}"
            users.append(
                User(
                    user_id=_uuidish(x, prefix),
                    user_name=user_name,
                    display_name=f"{given.title()} {family.title()}",
                    email=f"{user_name}@example.com",
                    given=given.title(),
                    family=family.title(),
                )
            )
        groups: list[Group] = []
        for j in range(cfg.groups):
            x = sub(seed, "group", j)
            named = cfg.group_names
            k = j - len(named)
            team = _TEAMS[k % len(_TEAMS)] if k >= 0 else ""
            if k < 0:
                name = named[j]
            else:
                name = team if k < len(_TEAMS) else f"{team}-{k // len(_TEAMS) + 1}"
            members: list[int] = []
            if users:
                want = min(cfg.members_per_group, len(users))
                k = 0
                while len(members) < want:
                    u = mix(x + k) % len(users)
                    k += 1
                    if u not in members:
                        members.append(u)
            groups.append(
                Group(
                    group_id=_uuidish(x, prefix),
                    display_name=name,
                    description=f"The {name} team",
                    members=tuple(sorted(members)),
                )
            )
        self.users: tuple[User, ...] = tuple(users)
        self.groups: tuple[Group, ...] = tuple(groups)
        self.group_by_id = {g.group_id: g for g in groups}
