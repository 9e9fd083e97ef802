"""Normalized resources -> Arrow record batches, column by column.

The organization is never held as Python dicts: rows go into per-column lists and become an Arrow
batch of at most BATCH_ROWS rows as soon as that many are collected.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from catalog.staging import STAGED_SCHEMA
from sync.sources.model import Resource

BATCH_ROWS = 50_000

_DUMP_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _json(value: object) -> str:
    return orjson.dumps(value, option=_DUMP_OPTS, default=str).decode()


class BatchBuilder:
    def __init__(self, *, source: str, scope_region: str, owner_tag_key: str | None) -> None:
        self._source = source
        self._scope_region = scope_region
        self._owner_key = owner_tag_key
        self._batches: list[pa.RecordBatch] = []
        self._reset()
        self.rows = 0

    def _reset(self) -> None:
        # scope_region, source and service are filled in at flush: constant or derived per batch.
        self._cols: dict[str, list[object]] = {
            f.name: [] for f in STAGED_SCHEMA if f.name not in ("scope_region", "source", "service")
        }

    def extend(self, resources: Iterable[Resource]) -> None:
        owner_key = self._owner_key
        for r in resources:
            c = self._cols
            c["arn"].append(r.arn)
            c["account_id"].append(r.account_id)
            c["region"].append(r.region)
            c["resource_type"].append(r.resource_type)
            c["resource_id"].append(r.resource_id)
            c["name"].append(r.name)
            c["tags"].append(_json(r.tags))
            c["owner_tag_value"].append(r.tags.get(owner_key) if owner_key else None)
            c["properties"].append(_json(r.properties))
            c["last_reported_at"].append(r.last_reported_at)
            self.rows += 1
            if len(c["arn"]) >= BATCH_ROWS:
                self._flush()

    def _flush(self) -> None:
        cols = self._cols
        n = len(cols["arn"])
        if not n:
            return
        types = pa.array(cols["resource_type"], pa.string())
        arrays = {
            **{name: pa.array(values, STAGED_SCHEMA.field(name).type) for name, values in cols.items()},
            "resource_type": types,
            "scope_region": pa.repeat(pa.scalar(self._scope_region, pa.string()), n),
            "source": pa.repeat(pa.scalar(self._source, pa.string()), n),
            "service": pc.list_element(pc.split_pattern(types, ":", max_splits=1), 0),
        }
        self._batches.append(pa.RecordBatch.from_arrays([arrays[f.name] for f in STAGED_SCHEMA], schema=STAGED_SCHEMA))
        self._reset()

    def batches(self) -> list[pa.RecordBatch]:
        self._flush()
        return list(self._batches)
