"""Tags from the Resource Groups Tagging API: for a Resource Explorer view without the tags
property, and (auto mode) for a scope listed through its service API whose tags would otherwise
cost a call per resource.

GetResources answers per account and region, 100 resources with their tags a call, filtered to
the query's types. A resource that was never tagged is absent: for a resource the view listed,
absence means no tags. The tags are then written into the query's Arrow rows by ARN.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from botocore.exceptions import BotoCoreError, ClientError

from sync.aws.calls import ApiCaller
from sync.aws.stats import CallStats
from sync.explorer.planner import TAGGING_PAGE
from sync.plan import ScopeKey
from sync.sources.model import tag_list_to_dict

Area = tuple[str, str]  # (account, region)
# AWS said no, or the network failed past the retries: the caller falls back to the service API.
# Anything else is a bug and is not dressed up as the Tagging API's failure.
FAILURES = (ClientError, BotoCoreError, TimeoutError, OSError)
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
            if not isinstance(result, FAILURES):
                raise result
            failed[area] = result
        else:
            tags.update(result)
    return tags, failed


def apply_tags(batches: Iterable[pa.RecordBatch], tags: Mapping[str, Mapping[str, str]],
               owner_tag_key: str | None, unknown_regions: Collection[str] = ()) -> list[pa.RecordBatch]:
    """The batches with their tags (and owner tag value) taken from `tags` by ARN; absent: none.

    Rows in `unknown_regions` (whose GetResources call failed) get tags unknown (NULL), which the
    catalog reads as "keep the tags known before", never as "untagged".
    """
    out: list[pa.RecordBatch] = []
    for batch in batches:
        arns = batch.column("arn").to_pylist()
        regions = batch.column("region").to_pylist() if unknown_regions else [None] * len(arns)
        found = [tags.get(arn) for arn in arns]
        tag_json = [None if region in unknown_regions else orjson.dumps(t, option=_DUMP_OPTS).decode() if t else "{}"
                    for t, region in zip(found, regions, strict=True)]
        owners = [t.get(owner_tag_key) if t and owner_tag_key else None for t in found]
        schema = batch.schema
        columns = list(batch.columns)
        columns[schema.get_field_index("tags")] = pa.array(tag_json, schema.field("tags").type)
        columns[schema.get_field_index("owner_tag_value")] = pa.array(owners, schema.field("owner_tag_value").type)
        out.append(pa.RecordBatch.from_arrays(columns, schema=schema))
    return out


@dataclass(frozen=True)
class TagListing:
    batches: list[pa.RecordBatch]  # the rows with their tags
    failed: dict[str, BaseException]  # region -> why its GetResources failed
    unknown: int  # rows in those regions: their tags are unknown (NULL)
    answered: int  # resources GetResources returned, tagged or once tagged


async def tag_listing(
    batches: list[pa.RecordBatch], account_id: str, resource_type: str, caller_for: CallerFor, stats: CallStats,
    owner_tag_key: str | None,
) -> TagListing:
    """Tags for a scope listed through its service API without its per-resource tag calls.

    GetResources is asked in every region the rows are in (an S3 bucket's, the scope's own, or
    for a global scope the caller's choice of Region behind "global").
    """
    regions = {r for batch in batches for r in pc.unique(batch.column("region")).to_pylist()}
    tags, failed = await tags_by_area({(account_id, r): {resource_type} for r in regions}, caller_for, stats)
    failed_regions = {region: exc for (_, region), exc in failed.items()}
    if not failed_regions:
        return TagListing(apply_tags(batches, tags, owner_tag_key), failed_regions, 0, len(tags))
    in_failed = pa.array(sorted(failed_regions))
    unknown = sum(pc.sum(pc.is_in(batch.column("region"), value_set=in_failed)).as_py() or 0 for batch in batches)
    return TagListing(apply_tags(batches, tags, owner_tag_key, failed_regions), failed_regions, unknown, len(tags))
