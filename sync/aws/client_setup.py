"""What every new botocore client repeats, done once per process.

A sync creates thousands of clients (one per account x region x service, S3 ones in each
region that holds buckets). A whole-run py-spy profile of org-500 put 11.5% of the engine's CPU
in client creation; three parts of it depend on nothing but code and data shared by all clients:
- botocore checks that every event handler it registers accepts **kwargs, with
  inspect.getfullargspec, for each of the ~100 handlers of each new client (2.2%): the answer
  depends only on the function, so it is kept per function;
- each client parses its service's endpoint rule set into a rule tree (1.9%): the tree depends
  only on the rule set and partition data, which the shared loader hands out as the same
  objects, so one EndpointProvider per pair serves every client (it caches by call parameters,
  the region among them);
- each client wraps its service's model data in a new ServiceModel, and aiobotocore's check for
  endpoint discovery then builds an OperationModel for every operation of it (705 for EC2): ~1,400
  long-lived objects per client. On org-2000, with every account's clients alive at once, the
  heap reached 8 million objects and Python's full garbage collections froze the event loop for
  29% of the first 250 s (up to 8 s each), which starved the critical IAM bucket (6 calls/s
  against 19.6). The model is read-only once built, so one ServiceModel per model data object
  (the shared loader hands out the same one) serves every client.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import botocore.client
import botocore.hooks
import botocore.regions
from botocore.endpoint_provider import EndpointProvider
from botocore.model import ServiceModel

_Key = tuple[int, int]


def _cached_accepts_kwargs(original: Callable[[Any], bool]) -> Callable[[Any], bool]:
    known: dict[Any, bool] = {}

    def accepts_kwargs(func: Any) -> bool:
        target = func.__func__ if isinstance(func, types.MethodType) else func
        if not isinstance(target, types.FunctionType):
            return original(func)  # a callable object: its __call__ may differ per instance type
        found = known.get(target)
        if found is None:
            found = known[target] = bool(original(func))
        return found

    accepts_kwargs._orgsync_cached = True  # type: ignore[attr-defined]
    return accepts_kwargs


class _SharedProviders:
    """EndpointProvider per (rule set, partitions) object pair; the data objects are kept alive
    with it, so their ids cannot be reused by other objects."""

    def __init__(self) -> None:
        self._providers: dict[_Key, tuple[Any, Any, EndpointProvider]] = {}

    def __call__(self, ruleset_data: Any, partition_data: Any) -> EndpointProvider:
        key = (id(ruleset_data), id(partition_data))
        found = self._providers.get(key)
        if found is None:
            found = self._providers[key] = (ruleset_data, partition_data,
                                            EndpointProvider(ruleset_data=ruleset_data, partition_data=partition_data))
        return found[2]


def _shared_service_models(original: Callable[..., ServiceModel]) -> Callable[..., ServiceModel]:
    """One ServiceModel per model data object; the data is kept alive with it (ids stay unique)."""
    models: dict[int, tuple[Any, ServiceModel]] = {}

    def load_service_model(self: Any, service_name: str, api_version: str | None = None) -> ServiceModel:
        json_model = self._loader.load_service_model(service_name, "service-2", api_version=api_version)
        found = models.get(id(json_model))
        if found is None:
            found = models[id(json_model)] = (json_model, original(self, service_name, api_version))
        return found[1]

    load_service_model._orgsync_shared = True  # type: ignore[attr-defined]
    return load_service_model


def share_client_setup() -> None:
    if not getattr(botocore.hooks.accepts_kwargs, "_orgsync_cached", False):
        botocore.hooks.accepts_kwargs = _cached_accepts_kwargs(botocore.hooks.accepts_kwargs)
    if not isinstance(botocore.regions.EndpointProvider, _SharedProviders):
        botocore.regions.EndpointProvider = _SharedProviders()  # type: ignore[misc, assignment]
    creator = botocore.client.ClientCreator
    if not getattr(creator._load_service_model, "_orgsync_shared", False):
        creator._load_service_model = _shared_service_models(creator._load_service_model)  # type: ignore[method-assign]
