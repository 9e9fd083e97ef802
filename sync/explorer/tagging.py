"""Tags from the Resource Groups Tagging API for a Resource Explorer view without the tags property.

GetResources answers per account and region, 100 resources with their tags a call, filtered to
the query's types. A resource that was never tagged is absent: for a resource the view listed,
absence means no tags. The tags are then written into the query's Arrow rows by ARN.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import orjson
import pyarrow as pa
from botocore.exceptions import BotoCoreError, ClientError

from sync.aws.calls import ApiCaller
from sync.aws.stats import CallStats
from sync.explorer.planner import TAGGING_PAGE
from sync.plan import ScopeKey
from sync.sources.model import tag_list_to_dict

Area = tuple[str, str]  # (account, region)
CallerFor = Callable[[str, str], Awaitable[ApiCaller]]  # (account, region) -> a tagging caller
_DUMP_OPTS = orjson.OPT_SORT_KEYS  # the same serialization as sync/batches.py, so hashes agree


def areas_of(keys: Iterable[ScopeKey]) -> dict[Area, set[str]]:
    out: dict[Area, set[str]] = {}
    for key in keys:
        out.setdefault((key.account_id, key.region), set()).add(key.resource_type)
    return out


async def area_tags(caller: ApiCaller, types: Iterable[str], stats: CallStats) -> dict[str, dict[str, str]]:
    """ARN -> tags of every tagged resource of `types` in the caller's account and region."""
    params: dict[str, Any] = {"ResourceTypeFilters": sorted(types), "ResourcesPerPage": TAGGING_PAGE}
    out: dict[str, dict[str, str]] = {}
    while True:
        page = await caller.call("GetResources", params, stats)
        stats.pages += 1
        for mapping in page.get("ResourceTagMappingList") or ():
            out[mapping["ResourceARN"]] = tag_list_to_dict(mapping.get("Tags"))
        token = page.get("PaginationToken")
        if not token:  # AWS ends with an empty string
            return out
        params["PaginationToken"] = token


async def tags_by_area(areas: Mapping[Area, set[str]], caller_for: CallerFor,
                       stats: CallStats) -> tuple[dict[str, dict[str, str]], dict[Area, BaseException]]:
    """Tags of every area, and the areas whose Tagging API calls failed (with the error)."""

    async def one(area: Area, types: set[str]) -> dict[str, dict[str, str]]:
        return await area_tags(await caller_for(*area), types, stats)

    results = await asyncio.gather(*(one(a, t) for a, t in areas.items()), return_exceptions=True)
    tags: dict[str, dict[str, str]] = {}
    failed: dict[Area, BaseException] = {}
    for area, result in zip(areas, results, strict=True):
        if isinstance(result, BaseException):
            # AWS said no, or the network failed past the retries: the area falls back. Anything
            # else is a bug and is not dressed up as an area's failure.
            if not isinstance(result, (ClientError, BotoCoreError, TimeoutError, OSError)):
                raise result
            failed[area] = result
        else:
            tags.update(result)
    return tags, failed


def apply_tags(batches: Iterable[pa.RecordBatch], tags: Mapping[str, Mapping[str, str]],
               owner_tag_key: str | None) -> list[pa.RecordBatch]:
    """The batches with their tags (and owner tag value) taken from `tags` by ARN; absent: none."""
    out: list[pa.RecordBatch] = []
    for batch in batches:
        arns = batch.column("arn").to_pylist()
        found = [tags.get(arn) for arn in arns]
        tag_json = [orjson.dumps(t, option=_DUMP_OPTS).decode() if t else "{}" for t in found]
        owners = [t.get(owner_tag_key) if t and owner_tag_key else None for t in found]
        schema = batch.schema
        columns = list(batch.columns)
        columns[schema.get_field_index("tags")] = pa.array(tag_json, schema.field("tags").type)
        columns[schema.get_field_index("owner_tag_value")] = pa.array(owners, schema.field("owner_tag_value").type)
        out.append(pa.RecordBatch.from_arrays(columns, schema=schema))
    return out
