"""One API call as handlers see it: who, where, which parameters, and validation helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orgsim.auth import Caller
from orgsim.errors import AwsError, invalid
from orgsim.org import Account
from orgsim.registry import ServiceSpec

if TYPE_CHECKING:
    from orgsim.inventory import Inventory
    from orgsim.stats import Stats
    from orgsim.world import World


@dataclass
class Call:
    world: World
    spec: ServiceSpec
    op: str
    caller: Caller
    region: str
    params: dict[str, Any]
    request_id: str
    stats: Stats

    @property
    def account(self) -> Account:
        return self.world.org.accounts[self.caller.account]

    @property
    def inv(self) -> Inventory:
        return self.world.inventory

    @property
    def generation(self) -> int:
        return self.world.inventory.generation

    @property
    def is_management(self) -> bool:
        return self.caller.account == 0

    def invalid(self, message: str) -> AwsError:
        return invalid(self.spec, message)

    def str_param(self, name: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.params.get(name, default)
        if value is None:
            if required:
                raise self.invalid(f"1 validation error detected: Value null at '{name}' "
                                   "failed to satisfy constraint: Member must not be null")
            return None
        return str(value)

    def int_param(self, name: str, default: int, lo: int, hi: int) -> int:
        """An integer parameter within the documented range, else the service's own error."""
        raw = self.params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise self.invalid(f"Invalid value for {name}: {raw!r}") from None
        if not lo <= value <= hi:
            raise self.invalid(
                f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy "
                f"constraint: Member must have value between {lo} and {hi}"
            )
        return value

    def bool_param(self, name: str, default: bool = False) -> bool:
        raw = self.params.get(name)
        if raw is None:
            return default
        if isinstance(raw, bool):
            return raw
        return str(raw).lower() == "true"

    def list_param(self, prefix: str) -> list[str]:
        """Query-protocol list ``Prefix.1``, ``Prefix.2`` ... in order."""
        out = []
        i = 1
        while f"{prefix}.{i}" in self.params:
            out.append(str(self.params[f"{prefix}.{i}"]))
            i += 1
        return out

    def query_filters(self, prefix: str, values: str = "Value") -> dict[str, list[str]]:
        """Query-protocol filters ``Filter.N.Name`` / ``Filter.N.Value.M`` as name -> values."""
        out: dict[str, list[str]] = {}
        i = 1
        while f"{prefix}.{i}.Name" in self.params:
            name = str(self.params[f"{prefix}.{i}.Name"])
            out.setdefault(name, []).extend(self.list_param(f"{prefix}.{i}.{values}"))
            i += 1
        return out
