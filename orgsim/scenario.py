"""Scenario: the TOML description of a simulated organization.

A scenario is a few knobs; everything else (account ids, resources, tags) is derived from the
seed on demand. Built-in scenarios live in ``orgsim/scenarios/<name>.toml``; ``load_scenario``
takes a built-in name, a path, or an existing ``Scenario``, plus nested overrides (handy in
tests: ``load_scenario("small", {"quotas": {"enabled": False}})``).

Account references inside lists (faults, explorer coverage) are either a 12-digit account id
or ``#N``, the N-th account of the organization (``#0`` is the management account).
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIO_DIR = Path(__file__).with_name("scenarios")


class ScenarioError(ValueError):
    """A scenario file or override is invalid; the message names the field."""


@dataclass(frozen=True)
class OrganizationConfig:
    enabled: bool = True  # false: a lone account, Organizations answers AWSOrganizationsNotInUse
    seed: int = 1
    accounts: int = 10  # including the management account
    management_account_id: str = ""  # derived from the seed when empty
    ou_depth: int = 2
    ou_fanout: int = 3
    root_account_share: float = 0.1  # accounts placed directly under the root
    suspended_accounts: int = 0
    pending_closure_accounts: int = 0
    regions: list[str] = field(default_factory=lambda: ["us-east-1", "eu-west-1"])
    opt_in_regions: list[str] = field(default_factory=list)  # subset of regions
    opt_in_share: float = 0.5  # share of accounts that enabled each opt-in region
    empty_page_every: int = 0  # Organizations: every Nth page comes back empty (0 = never)
    identity_store_id: str = "d-9067a1b2c3"
    identity_region: str = ""  # Identity Center home region; first region when empty
    role_names: list[str] = field(default_factory=lambda: ["OrganizationAccountAccessRole"])
    management_has_role: bool = False  # AWS does not create the role in the management account
    role_max_session_seconds: int = 3600


@dataclass(frozen=True)
class IdentityConfig:
    users: int = 40
    groups: int = 8
    members_per_group: int = 6
    group_names: list[str] = field(default_factory=list)  # display names of the first groups


@dataclass(frozen=True)
class ResourcesConfig:
    total: int = 1000  # approximate number of resources at generation 0
    types: list[str] = field(default_factory=list)  # empty: every simulated type
    type_weights: dict[str, float] = field(default_factory=dict)  # overrides type defaults
    account_skew: float = 1.3  # Pareto alpha of account sizes: lower = a few huge accounts
    hot_account: int = -1  # account index holding hot_account_share of everything
    hot_account_share: float = 0.0
    owner_tag_key: str = "owner"
    owner_share: float = 0.6  # resources carrying an owner tag
    group_owner_share: float = 0.3  # of owner tags: an Identity Store group display name
    unknown_owner_share: float = 0.1  # of owner tags: a value matching no user or group
    other_tag_share: float = 0.25  # resources with tags but no owner tag


@dataclass(frozen=True)
class ExplorerConfig:
    enabled: bool = True
    aggregator_region: str = "us-east-1"  # management account's aggregator; "" = none
    org_view: bool = True
    org_view_tags: bool = True
    org_view_filter: str = ""
    org_view_default: bool = True  # the org view is the default view of the aggregator region
    trusted_access: bool = True
    index_share: float = 1.0  # share of account x region with a local index
    indexes_missing: list[str] = field(default_factory=list)  # "ACCT:REGION" / "ACCT:*"
    indexes_present: list[str] = field(default_factory=list)  # forced present
    creating_share: float = 0.0
    updating_share: float = 0.0
    index_states: dict[str, str] = field(default_factory=dict)  # "ACCT:REGION" -> state
    default_view_share: float = 1.0
    default_views_missing: list[str] = field(default_factory=list)  # "ACCT:REGION" / "ACCT:*"
    default_view_tags: bool = True
    member_aggregator_share: float = 0.0  # members that promoted an aggregator index
    supported_types: list[str] = field(default_factory=list)  # empty: all (+ a few extras)
    unsupported_types: list[str] = field(default_factory=list)
    lagging_share: float = 0.0  # ACTIVE indexes whose view still returns nothing
    lagging: list[str] = field(default_factory=list)  # "ACCT:REGION"
    global_region: str = "us-east-1"  # the index that holds global (IAM) resources
    mutation_lag: int = 0  # generations the index trails the service APIs


@dataclass(frozen=True)
class FaultsConfig:
    seed: int = 0
    unassumable_accounts: int = 0  # members whose role cannot be assumed
    unassumable: list[str] = field(default_factory=list)
    scp_denied_regions: list[str] = field(default_factory=list)  # "REGION" or "ACCT:REGION"
    scp_denied_share: float = 0.0  # share of member account x region denied by an SCP
    error_rate: float = 0.0  # share of calls answered with a 5xx
    slow_rate: float = 0.0  # share of calls delayed by slow_seconds
    slow_seconds: float = 1.0


@dataclass(frozen=True)
class LatencyConfig:
    base_ms: float = 0.0
    jitter_ms: float = 0.0


@dataclass(frozen=True)
class QuotasConfig:
    enabled: bool = True
    scale: float = 1.0
    overrides: dict[str, list[float]] = field(default_factory=dict)  # "svc:Op" -> [rate, burst]


@dataclass(frozen=True)
class MutationSpec:
    share: float
    seed: int


@dataclass(frozen=True)
class Scenario:
    name: str = "custom"
    description: str = ""
    organization: OrganizationConfig = field(default_factory=OrganizationConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    explorer: ExplorerConfig = field(default_factory=ExplorerConfig)
    faults: FaultsConfig = field(default_factory=FaultsConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    quotas: QuotasConfig = field(default_factory=QuotasConfig)
    mutations: list[MutationSpec] = field(default_factory=list)  # planned generations

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def builtin_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def load_scenario(
    source: str | Path | Scenario | dict[str, Any], overrides: dict[str, Any] | None = None
) -> Scenario:
    """Load a built-in name, a TOML path, a dict or a Scenario, then apply nested overrides."""
    if isinstance(source, Scenario):
        data = source.to_dict()
    elif isinstance(source, dict):
        data = copy.deepcopy(source)
    else:
        data = _read_toml(source)
    if overrides:
        data = _merge(data, overrides)
    return _build(Scenario, data, "")


def _read_toml(source: str | Path) -> dict[str, Any]:
    path = Path(source)
    if not path.suffix and not path.exists():
        path = SCENARIO_DIR / f"{source}.toml"
        if not path.exists():
            raise ScenarioError(
                f"unknown scenario {source!r}: not a file, built-ins are {builtin_names()}"
            )
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    data.setdefault("name", path.stem)
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ScenarioError(f"{where or 'scenario'}: expected a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        names = ", ".join(f"{where}.{k}" if where else k for k in unknown)
        raise ScenarioError(f"{names}: unknown key (known: {sorted(known)})")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, f"{where}.{name}" if where else name)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is list:
        if not isinstance(value, list):
            raise ScenarioError(f"{where}: expected a list")
        return [_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ScenarioError(f"{where}: expected a table")
        return {str(k): _coerce(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return _coerce(arg, value, where)
            except ScenarioError:
                continue
        raise ScenarioError(f"{where}: {value!r} matches none of {args}")
    if hint is bool:
        if not isinstance(value, bool):
            raise ScenarioError(f"{where}: expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: expected a string, got {value!r}")
        return value
    raise ScenarioError(f"{where}: unsupported field type {hint!r}")
