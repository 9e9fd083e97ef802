"""Typed, immutable view of an orgsync integration config file.

The dataclasses are what the rest of the engine codes against; they never hold
unvalidated data because `sync.config.load` only builds them once every rule
has passed.  The error types live here (and are re-exported by `load`) because
`Config.get` raises them and `load` imports this module, not the reverse.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

IntegrationKind = Literal["aws-account", "aws-organization"]
AttributeType = Literal["user", "group"]
DEFAULT_MEMBER_ROLE = "OrganizationAccountAccessRole"
MAX_CUSTOM_ACCESS_DETAILS = 400


class FrozenMapping(dict[str, int]):
    """Read-only, hashable str -> int mapping.

    A dict subclass rather than a `collections.abc.Mapping` so `dataclasses.asdict`,
    `json` and `orjson` (the catalog stores integration settings as JSON) treat
    it as a plain dict; `types.MappingProxyType` would not be hashable, and the
    integration dataclasses must stay hashable to serve as cache keys.
    """

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("FrozenMapping is read-only")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[type[FrozenMapping], tuple[dict[str, int]]]:
        # The default dict-subclass protocol rebuilds via __setitem__, which is
        # blocked; rebuild from a plain dict so copy/deepcopy/pickle work.
        return (type(self), (dict(self),))

    def __repr__(self) -> str:
        return f"FrozenMapping({dict(self)!r})"


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a config file, phrased for the person editing it.

    `integration` is the integration's name, or `#N` (1-based position in the
    file) when the name is missing or invalid; names cannot start with `#`, so
    the two never collide.  `source` is an addition to the original interface:
    `__str__` needs the file name to print `orgsync.toml:12: ...`.
    """

    integration: str | None
    field: str | None
    message: str
    line: int | None
    source: str | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.source is not None and self.line is not None:
            parts.append(f"{self.source}:{self.line}")
        elif self.source is not None:
            parts.append(self.source)
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.integration is not None:
            label = self.integration
            parts.append(f"integration {label}" if label.startswith("#") else f"integration '{label}'")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        parts.append(self.message)
        return ": ".join(parts)


class ConfigError(Exception):
    """The config cannot be used; `problems` holds every reason found, not just the first."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __reduce__(self) -> tuple[type[ConfigError], tuple[tuple[ConfigProblem, ...]]]:
        # Exception's default pickling replays `args` (the joined text) into
        # __init__, which expects problems; keep errors picklable for worker processes.
        return (type(self), (self.problems,))


@dataclass(frozen=True, kw_only=True)
class IntegrationOwner:
    attribute: AttributeType
    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ResourceOwner:
    tag_key: str
    attribute: AttributeType


@dataclass(frozen=True, kw_only=True)
class IntegrationBase:
    name: str
    kind: IntegrationKind
    region: str
    regions: tuple[str, ...] | None
    resource_types: tuple[str, ...]
    credential_rotation_days: int | None = None
    user_cleanup_days: int | None = None
    custom_access_details: str | None = None
    integration_owner: IntegrationOwner | None = None
    resource_owner: ResourceOwner | None = None
    refresh_intervals: Mapping[str, int] = field(default_factory=FrozenMapping)

    def __post_init__(self) -> None:
        # Callers (tests, the demo) may pass a plain dict; freeze it so the
        # instance stays hashable and cannot be mutated behind the engine's back.
        if not isinstance(self.refresh_intervals, FrozenMapping):
            object.__setattr__(self, "refresh_intervals", FrozenMapping(self.refresh_intervals))


@dataclass(frozen=True, kw_only=True)
class AccountIntegration(IntegrationBase):
    aws_profile: str | None = None


@dataclass(frozen=True, kw_only=True)
class OrganizationIntegration(IntegrationBase):
    sso_region: str
    sso_portal: str
    management_account_role_arn: str | None = None
    member_role_name: str = DEFAULT_MEMBER_ROLE
    external_id: str | None = None
    exclude_organization_unit_ids: tuple[str, ...] = ()
    exclude_account_ids: tuple[str, ...] = ()


Integration = AccountIntegration | OrganizationIntegration


@dataclass(frozen=True, kw_only=True)
class Config:
    source: str
    integrations: tuple[Integration, ...]

    def get(self, name: str) -> Integration:
        for integration in self.integrations:
            if integration.name == name:
                return integration
        names = [integration.name for integration in self.integrations]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        known = ", ".join(f"'{known_name}'" for known_name in names) or "none"
        message = f"no integration named '{name}'{hint}; known integrations: {known}"
        raise ConfigError([ConfigProblem(None, None, message, None, self.source)])

    def select(self, name: str | None) -> tuple[Integration, ...]:
        if name is None:
            return self.integrations
        return (self.get(name),)
