"""The Arrow schema of rows handed to the catalog writer (one row per resource seen)."""

from __future__ import annotations

import pyarrow as pa

STAGED_SCHEMA = pa.schema(
    [
        ("arn", pa.string()),
        ("account_id", pa.string()),
        ("region", pa.string()),
        ("scope_region", pa.string()),
        ("service", pa.string()),
        ("resource_type", pa.string()),
        ("resource_id", pa.string()),
        ("name", pa.string()),
        ("tags", pa.string()),  # JSON object, keys sorted so equal tags compare equal
        ("owner_tag_value", pa.string()),
        ("source", pa.string()),
        ("properties", pa.string()),  # JSON object, keys sorted
        ("last_reported_at", pa.timestamp("us", tz="UTC")),
    ]
)
