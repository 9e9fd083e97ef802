"""S3 buckets in a region an SCP denies: ListBuckets (global) lists them, their tags cannot be read.

Before, one denied GetBucketTagging failed the account's whole bucket scope, so a fresh catalog
missed every bucket of that account (the org-500 benchmark: 340 buckets). Now the buckets are
kept with tags unknown, the run says so, and a later run keeps tags the catalog already had.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_explorer_sync import q, simulated, sync, truth

DENIED = {"faults": {"scp_denied_regions": ["eu-west-1"]}}


# Forced services reads each bucket's tags (GetBucketTagging); auto reads them per region from the
# Tagging API (GetResources), which the SCP denies in that region just the same.
@pytest.mark.parametrize(("source", "tag_call"), [("services", "GetBucketTagging"), ("auto", "GetResources")])
def test_buckets_in_a_denied_region_are_kept_with_tags_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               source: str, tag_call: str) -> None:
    with simulated(monkeypatch, **DENIED, explorer={"enabled": False}) as sim:
        expected = {arn: t for arn, t in truth(sim).items() if t["resource_type"] == "s3:bucket"}
        summary, path = sync(tmp_path, "c.duckdb", "--source", source)
    assert any(t["region"] == "eu-west-1" for t in expected.values())  # the case is really there
    rows = {arn: (region, tags) for arn, region, tags in
            q(path, "SELECT arn, region, tags FROM current_resources WHERE resource_type = 's3:bucket'")}
    assert set(rows) == set(expected)
    unreadable = {arn for arn, t in expected.items() if not t["tags_readable"]}
    assert unreadable and {expected[arn]["region"] for arn in unreadable} == {"eu-west-1"}
    for arn, (_, tags) in rows.items():
        assert (tags is None) == (arn in unreadable), arn
    warnings = [w for w in summary["warnings"] if tag_call in w]
    assert warnings and all("could not be read" in w for w in warnings)
    statuses = q(path, "SELECT DISTINCT status FROM sync_scopes WHERE resource_type = 's3:bucket'")
    assert statuses == [("complete",)]  # the listing is whole: deletions in these scopes stay right
