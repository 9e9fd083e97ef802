"""Declarations that service modules make about themselves.

Each module in ``orgsim.services`` registers its wire protocol (``ServiceSpec``), its resource
types (``ResourceType``) and its operations (``@operation``) at import; ``load_services`` imports
every module of the package, so adding a service is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orgsim.call import Call
    from orgsim.inventory import ScopeInfo

Handler = Callable[["Call"], Any]


@dataclass(frozen=True)
class ServiceSpec:
    signing_name: str  # the service in the SigV4 credential scope
    protocol: str  # query | ec2 | json | rest-json | rest-xml
    xmlns: str = ""
    target_prefix: str = ""  # json protocol: X-Amz-Target prefix
    json_version: str = "1.1"
    regional: bool = True  # false: global service, no region/SCP checks (IAM, Organizations)
    throttle: tuple[str, int] = ("ThrottlingException", 400)
    server_error: tuple[str, int] = ("InternalFailure", 500)
    access_denied: tuple[str, int] = ("AccessDeniedException", 400)
    validation: tuple[str, int] = ("ValidationException", 400)
    # (rate per second, burst) per operation; "*" covers the rest, shared by them
    quotas: dict[str, tuple[float, float]] = field(default_factory=dict)
    quota_per_op: bool = True  # false: one bucket shared by every operation under "*"
    scp_exempt: frozenset[str] = frozenset()  # operations region-deny SCPs usually exempt


@dataclass(frozen=True)
class ResourceType:
    rtype: str  # "ec2:instance"
    weight: float  # default relative number of resources
    arn_prefix: str  # format string with {region} and {account}; the ARN is prefix + tail
    name: Callable[[ScopeInfo, int, int], str]  # (scope, position, hash) -> name or id
    arn_tail: Callable[[str, int], str] | None = None  # (name, hash) -> ARN tail if not name
    is_global: bool = False  # IAM: region "global", one scope per account
    # A regional resource listed by a global call (S3 ListBuckets): an SCP that denies its region
    # hides its tags (read in that region), not the resource.
    listed_globally: bool = False
    taggable: bool = True  # IAM groups carry no tags
    mutable: bool = True  # takes part in mutate()
    tags_in_explorer: bool = True  # IAM tags are never indexed by Resource Explorer
    in_tagging_api: bool = True
    # The most an account can hold under AWS's own quota (IAM: 5,000 roles), so that a skewed
    # scenario never builds an account AWS would refuse to create; None: no count quota applies.
    per_account_max: int | None = None

    @property
    def service(self) -> str:
        return self.rtype.split(":", 1)[0]


@dataclass(frozen=True)
class Route:
    method: str
    parts: tuple[str, ...]  # path segments, "{name}" binds one, "{name+}" binds the rest
    op: str
    query_keys: frozenset[str] = frozenset()  # S3 sub-resources such as "?tagging"


_SERVICES: dict[str, ServiceSpec] = {}
_TYPES: dict[str, ResourceType] = {}
_OPS: dict[tuple[str, str], Handler] = {}
_ROUTES: dict[str, list[Route]] = {}
_loaded = False


def register_service(spec: ServiceSpec) -> ServiceSpec:
    _SERVICES[spec.signing_name] = spec
    return spec


def register_type(rt: ResourceType) -> ResourceType:
    _TYPES[rt.rtype] = rt
    return rt


def operation(
    service: str, name: str, method: str | None = None, path: str | None = None
) -> Callable[[Handler], Handler]:
    """Register a handler; rest protocols also give the HTTP method and path template."""

    def deco(fn: Handler) -> Handler:
        _OPS[(service, name)] = fn
        if method and path is not None:
            route_path, _, query = path.partition("?")
            parts = tuple(p for p in route_path.split("/") if p)
            keys = frozenset(k for k in query.split("&") if k)
            _ROUTES.setdefault(service, []).append(Route(method, parts, name, keys))
            # Routes with required sub-resources must win over the bare path.
            _ROUTES[service].sort(key=lambda r: -len(r.query_keys))
        return fn

    return deco


def load_services() -> None:
    global _loaded
    if _loaded:
        return
    import orgsim.services as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    _loaded = True


def services() -> dict[str, ServiceSpec]:
    load_services()
    return _SERVICES


def resource_types() -> list[ResourceType]:
    load_services()
    return [_TYPES[k] for k in sorted(_TYPES)]


def handler(service: str, op: str) -> Handler | None:
    load_services()
    return _OPS.get((service, op))


def match_route(
    service: str, method: str, segments: list[str], query_keys: set[str]
) -> tuple[str, dict[str, str]] | None:
    """Operation and path parameters for a rest request, or None."""
    load_services()
    for route in _ROUTES.get(service, ()):
        if route.method != method or not route.query_keys <= query_keys:
            continue
        params: dict[str, str] = {}
        ok = True
        for i, part in enumerate(route.parts):
            if part.endswith("+}"):
                params[part[1:-2]] = "/".join(segments[i:])
                ok = i < len(segments)
                break
            if i >= len(segments):
                ok = False
                break
            if part.startswith("{"):
                params[part[1:-1]] = segments[i]
            elif part != segments[i]:
                ok = False
                break
        else:
            ok = len(segments) == len(route.parts)
        if ok:
            return route.op, params
    return None
