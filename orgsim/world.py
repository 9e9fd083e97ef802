"""A simulated organization: the scenario with everything derived from it.

``World`` is protocol-free and synchronous; the HTTP server (``server``) and the CLI both sit on
it. Its only mutable state is the list of mutation generations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from orgsim.auth import CredentialIssuer
from orgsim.identity import IdentityStore
from orgsim.inventory import GLOBAL, Generation, Inventory, MutationError
from orgsim.org import Organization
from orgsim.registry import ResourceType
from orgsim.scenario import Scenario, load_scenario
from orgsim.tags import TagTable

ScenarioLike = Scenario | str | Path | dict[str, Any]


class World:
    def __init__(self, scenario: ScenarioLike, overrides: dict[str, Any] | None = None) -> None:
        if not isinstance(scenario, Scenario) or overrides:
            scenario = load_scenario(scenario, overrides)
        self.scenario = scenario
        self.org = Organization(scenario)
        self.identity = IdentityStore(scenario)
        self.tags = TagTable(scenario, self.identity)
        self.inventory = Inventory(scenario, self.org, self.tags)
        secret = hashlib.sha256(f"orgsim:{scenario.organization.seed}".encode()).digest()
        self.creds = CredentialIssuer(self.org, secret)
        self._explorer: Any = None

    @property
    def explorer(self) -> Any:
        """Resource Explorer setup (indexes, views), built on first use."""
        if self._explorer is None:
            from orgsim.explorer import Explorer

            self._explorer = Explorer(self)
        return self._explorer

    @property
    def generation(self) -> int:
        return self.inventory.generation

    def mutate(self, share: float | None = None, seed: int | None = None) -> Generation:
        """Apply the next generation: the next planned one, or one with this share and seed."""
        if share is None:
            planned = self.scenario.mutations
            n = self.inventory.generation
            if n >= len(planned):
                raise MutationError("no planned mutation left; give share and seed")
            share, seed = planned[n].share, planned[n].seed
        return self.inventory.mutate(share, 0 if seed is None else seed)

    def add(self, account: str, region: str, rtype: str, n: int = 1) -> Generation:
        """Apply a generation that adds n resources to one account (``#N`` or id) x region x type."""
        scope = self.inventory.account_scopes(self.org.resolve(account), region, rtype)
        if scope is None:
            raise MutationError(f"no simulated scope {account} {region} {rtype}")
        return self.inventory.add(scope, n)

    def reachable(self, account: int, region: str) -> tuple[bool, str]:
        """Whether per-service APIs can reach an account x region, and why not."""
        acct = self.org.accounts[account]
        if acct.state != "ACTIVE":
            return False, acct.state.lower()
        if account != 0 and not acct.assumable:
            return False, "unassumable"
        if region != GLOBAL and region in acct.scp_denied:
            return False, "scp_denied"
        return True, ""

    def listable(self, account: int, region: str, rtype: ResourceType) -> tuple[bool, bool, str]:
        """(found by a complete sync, its tags readable, why not) for a resource of `rtype`."""
        reach, why = self.reachable(account, region)
        if not reach and why == "scp_denied" and rtype.listed_globally:
            return True, False, why
        return reach, reach, why

    def truth(self, generation: int | None = None) -> Iterator[dict[str, Any]]:
        """Every live resource: what a complete sync of every type, account and region holds."""
        inv = self.inventory
        gen = inv.generation if generation is None else generation
        if gen > inv.generation:
            raise MutationError(f"generation {gen} not reached (at {inv.generation})")
        sets = self.tags.dicts
        cache: dict[tuple[int, str, str], tuple[bool, bool, str]] = {}
        for s in inv.scopes(gen):
            info = inv.info(s)
            key = (info.account, info.region, info.rtype.rtype)
            reach = cache.get(key)
            if reach is None:
                reach = cache[key] = self.listable(info.account, info.region, info.rtype)
            for res in inv.scan(s, 0, gen):
                yield {
                    "arn": res.arn,
                    "account_id": info.account_id,
                    "region": info.region,
                    "resource_type": info.rtype.rtype,
                    "name": res.name,
                    "tags": sets[res.tagset],
                    "reachable": reach[0],
                    "tags_readable": reach[1],
                    "unreachable_reason": reach[2] or None,
                }

    def summary(self) -> dict[str, Any]:
        org = self.org
        return {
            "scenario": self.scenario.name,
            "accounts": len(org.accounts),
            "management_account_id": org.management_id,
            "regions": list(org.regions),
            "generation": self.generation,
            "base_resources": self.inventory.base_total,
            "per_type": self.inventory.estimate(),
        }
