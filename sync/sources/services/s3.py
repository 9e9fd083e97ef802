"""S3 buckets: one ListBuckets per account (global), tags from GetBucketTagging per bucket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.sources.model import Resource, ScopeContext, partition_for, pick, tag_list_to_dict
from sync.sources.spec import DescribeCall, Item, ServiceSpec, TagCall


def bucket_region(item: Item) -> str:
    # ListBuckets returns BucketRegion when MaxBuckets is sent; us-east-1 answers for legacy buckets.
    return str(item.get("BucketRegion") or "us-east-1")


def with_location(item: Item, response: Mapping[str, Any]) -> Item:
    # GetBucketLocation answers None for us-east-1 and the legacy "EU" for eu-west-1.
    constraint = response.get("LocationConstraint") or "us-east-1"
    return {**item, "BucketRegion": "eu-west-1" if constraint == "EU" else constraint}


def normalize_bucket(item: Item, ctx: ScopeContext) -> Resource:
    name = item["Name"]
    region = bucket_region(item)
    return Resource(
        arn=f"arn:{partition_for(region)}:s3:::{name}",
        account_id=ctx.account_id,
        region=region,
        resource_type="s3:bucket",
        resource_id=name,
        name=name,
        tags={},  # filled by GetBucketTagging
        properties=pick(item, "CreationDate"),
    )


def bucket_tags(response: Mapping[str, Any]) -> dict[str, str]:
    return tag_list_to_dict(response.get("TagSet"))


SPECS = (
    ServiceSpec(
        resource_type="s3:bucket",
        service="s3",
        is_global=True,
        list_operation="ListBuckets",
        # The largest page (MaxBuckets 1-10,000, the default bucket quota): a page's tag calls all
        # wait for the page, and names that sort by region made a 1,000-bucket page read one
        # region's tags at that region's rate while the other regions' quotas stood idle.
        page_size=10_000,
        # Only for endpoints that leave BucketRegion out of ListBuckets (older APIs, emulators).
        describe=DescribeCall(
            operation="GetBucketLocation",
            request=lambda item: {"Bucket": item["Name"]},
            when=lambda item: not item.get("BucketRegion"),
            extract=with_location,
        ),
        tags=TagCall(
            operation="GetBucketTagging",
            request=lambda item: {"Bucket": item["Name"]},
            empty_on=frozenset({"NoSuchTagSet"}),
            # A bucket's tags are read in its own region, which an SCP may deny while ListBuckets
            # (global) still lists it: keep the bucket, tags unknown, and say so.
            unreadable_on=frozenset({"AccessDenied"}),
            region=bucket_region,
            extract=bucket_tags,
        ),
        normalize=normalize_bucket,
    ),
)
