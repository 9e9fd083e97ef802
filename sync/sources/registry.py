"""Every resource type the per-service path supports, found by importing sync.sources.services.*.

No hand-kept list: adding a module with a SPECS tuple adds its types.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from sync.sources import services
from sync.sources.spec import ServiceSpec


@cache
def service_specs() -> dict[str, ServiceSpec]:
    found: dict[str, ServiceSpec] = {}
    for module_info in sorted(pkgutil.iter_modules(services.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{services.__name__}.{module_info.name}")
        for spec in getattr(module, "SPECS", ()):
            if spec.resource_type in found:
                raise RuntimeError(f"resource type {spec.resource_type} is declared twice")
            found[spec.resource_type] = spec
    return dict(sorted(found.items()))


def supported_types() -> tuple[str, ...]:
    return tuple(service_specs())


def spec_for(resource_type: str) -> ServiceSpec:
    return service_specs()[resource_type]
