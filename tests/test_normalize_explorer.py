"""Pure normalize tests for Resource Explorer pages (sync.explorer.normalize), held to the same
rules as the per-service path."""

from __future__ import annotations

import copy
import gc
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa
import pytest

import sync.batches
from catalog.staging import STAGED_SCHEMA
from sync.batches import BatchBuilder, Columns
from sync.explorer.normalize import normalize_explorer
from sync.explorer.normalize import normalize_page as explorer_normalize_page
from sync.explorer.source import add_answer, add_page, decode_page
from sync.sources.model import GLOBAL_REGION


RE_ACCOUNT = "222222222222"
RE_WANTED = {(RE_ACCOUNT, region, rtype)
             for region, rtype in (("eu-west-1", "ec2:instance"), ("eu-west-1", "lambda:function"),
                                   ("eu-west-1", "rds:db"), ("eu-west-1", "secretsmanager:secret"),
                                   ("eu-west-1", "dynamodb:table"), (GLOBAL_REGION, "s3:bucket"),
                                   (GLOBAL_REGION, "iam:role"), (GLOBAL_REGION, "eks:cluster"))}
RE_GLOBAL_TYPES = frozenset({"s3:bucket", "iam:role"})


def re_item(arn: str, rtype: str, region: str | None = "eu-west-1", tags: list[dict] | None = None,
            reported: str | None = "2026-11-20T10:11:12.000Z", account: str = RE_ACCOUNT,
            properties: list[dict] | None = None) -> dict:
    item: dict = {"Arn": arn, "OwningAccountId": account, "ResourceType": rtype, "Service": rtype.split(":")[0]}
    if region is not None:
        item["Region"] = region
    if reported is not None:
        item["LastReportedAt"] = reported
    if properties is not None:
        item["Properties"] = properties
    elif tags is not None:
        item["Properties"] = [{"Name": "tags", "LastReportedAt": reported, "Data": tags}]
    return item


RE_ITEMS = [
    re_item(f"arn:aws:ec2:eu-west-1:{RE_ACCOUNT}:instance/i-0abc", "ec2:instance",
            tags=[{"Key": "team", "Value": "b"}, {"Key": "Name", "Value": "web-1"}, {"Key": "owner", "Value": "ann"}]),
    re_item(f"arn:aws:ec2:eu-west-1:{RE_ACCOUNT}:instance/i-0def", "ec2:instance", tags=None),  # no Properties
    re_item(f"arn:aws:lambda:eu-west-1:{RE_ACCOUNT}:function:fn-1", "lambda:function",
            tags=[{"Key": "owner", "Value": None}, {"Key": "n", "Value": 5}, {"Key": "empty"}]),
    re_item(f"arn:aws:rds:eu-west-1:{RE_ACCOUNT}:db:db-1", "rds:db", tags=[], reported=""),
    re_item(f"arn:aws:secretsmanager:eu-west-1:{RE_ACCOUNT}:secret:prod/db-AbC123", "secretsmanager:secret",
            properties=[{"Name": "other", "Data": {"x": 1}}, {"Name": "tags", "Data": [{"Key": "a", "Value": "1"}]}]),
    re_item(f"arn:aws:dynamodb:eu-west-1:{RE_ACCOUNT}:table/orders", "dynamodb:table",
            properties=[{"Name": "other", "Data": []}], reported=None),
    re_item("arn:aws:s3:::my-bucket", "s3:bucket", region="us-east-1", tags=[{"Key": "owner", "Value": "bob"}]),
    re_item(f"arn:aws:iam::{RE_ACCOUNT}:role/path/admin", "iam:role", region="global"),
    re_item(f"arn:aws:eks:eu-west-1:{RE_ACCOUNT}:cluster/c1", "eks:cluster", region=None),  # no Region: global
    re_item(f"arn:aws:ec2:eu-west-1:{RE_ACCOUNT}:instance/i-0other", "ec2:instance", account="333333333333"),
    re_item(f"arn:aws:ec2:us-east-1:{RE_ACCOUNT}:instance/i-0us", "ec2:instance", region="us-east-1"),
]


def rows_of(builder: BatchBuilder) -> list[dict[str, Any]]:
    return pa.Table.from_batches(builder.batches(), schema=STAGED_SCHEMA).to_pylist()


def rows_by_arn(builder: BatchBuilder) -> dict[str, dict[str, Any]]:
    return {row["arn"]: row for row in rows_of(builder)}


def per_resource_rows(items: list[dict], owner_key: str | None) -> dict[str, dict[str, Any]]:
    """The rows of the per-resource path (normalize_explorer + BatchBuilder.extend), as before normalize_page."""
    builder = BatchBuilder(source="explorer-aggregator", scope_region=None, owner_tag_key=owner_key)
    for item in items:
        rtype = item["ResourceType"]
        scope_region = GLOBAL_REGION if rtype in RE_GLOBAL_TYPES else (item.get("Region") or GLOBAL_REGION)
        if (item["OwningAccountId"], scope_region, rtype) in RE_WANTED:
            builder.extend([normalize_explorer(item)], scope_region=scope_region)
    return rows_by_arn(builder)


@pytest.mark.parametrize("owner_key", ["owner", None])
def test_explorer_page_rows_equal_the_per_resource_rules(owner_key: str | None) -> None:
    builder = BatchBuilder(source="explorer-aggregator", scope_region=None, owner_tag_key=owner_key)
    counts: dict = {}
    add_page(copy.deepcopy(RE_ITEMS), RE_WANTED, builder, counts, RE_GLOBAL_TYPES)
    got = rows_by_arn(builder)
    assert got == per_resource_rows(RE_ITEMS, owner_key)
    assert len(got) == 9 and builder.rows == 9  # other account and region dropped
    ec2 = got[f"arn:aws:ec2:eu-west-1:{RE_ACCOUNT}:instance/i-0abc"]
    assert ec2["tags"] == '{"Name":"web-1","owner":"ann","team":"b"}' and ec2["name"] == "web-1"
    assert ec2["owner_tag_value"] == ("ann" if owner_key else None) and ec2["resource_id"] == "i-0abc"
    fn = got[f"arn:aws:lambda:eu-west-1:{RE_ACCOUNT}:function:fn-1"]
    assert fn["tags"] == '{"empty":"","n":"5","owner":""}'
    secret = got[f"arn:aws:secretsmanager:eu-west-1:{RE_ACCOUNT}:secret:prod/db-AbC123"]
    assert secret["resource_id"] == secret["name"] == "prod/db" and secret["tags"] == '{"a":"1"}'
    bucket = got["arn:aws:s3:::my-bucket"]
    assert (bucket["region"], bucket["scope_region"], bucket["service"]) == ("us-east-1", GLOBAL_REGION, "s3")
    cluster = got[f"arn:aws:eks:eu-west-1:{RE_ACCOUNT}:cluster/c1"]
    assert cluster["region"] == cluster["scope_region"] == GLOBAL_REGION
    assert got[f"arn:aws:rds:eu-west-1:{RE_ACCOUNT}:db:db-1"]["last_reported_at"] is None
    assert counts == {(RE_ACCOUNT, "eu-west-1", "ec2:instance"): 2, (RE_ACCOUNT, "eu-west-1", "lambda:function"): 1,
                      (RE_ACCOUNT, "eu-west-1", "rds:db"): 1, (RE_ACCOUNT, "eu-west-1", "secretsmanager:secret"): 1,
                      (RE_ACCOUNT, "eu-west-1", "dynamodb:table"): 1, (RE_ACCOUNT, GLOBAL_REGION, "s3:bucket"): 1,
                      (RE_ACCOUNT, GLOBAL_REGION, "iam:role"): 1, (RE_ACCOUNT, GLOBAL_REGION, "eks:cluster"): 1}


@pytest.mark.parametrize("reported", ["2026-11-20T10:11:12.000Z", "2026-11-20T12:11:12+02:00", "2026-11-20T10:11:12",
                                      "2026-11-20T10:11:12.1234567Z", "2026-11-20"])
def test_explorer_timestamps_parse_as_fromisoformat_does(reported: str) -> None:
    items = [re_item(f"arn:aws:ec2:eu-west-1:{RE_ACCOUNT}:instance/i-{n}", "ec2:instance", reported=reported)
             for n in range(3)]
    items.append(re_item(f"arn:aws:ec2:eu-west-1:{RE_ACCOUNT}:instance/i-none", "ec2:instance", reported=None))
    builder = BatchBuilder(source="explorer-aggregator", scope_region=None, owner_tag_key="owner")
    add_page(items, RE_WANTED, builder, {}, RE_GLOBAL_TYPES)
    got = rows_by_arn(builder)
    assert got == per_resource_rows(items, "owner")
    assert got[f"arn:aws:ec2:eu-west-1:{RE_ACCOUNT}:instance/i-0"]["last_reported_at"] == (
        pa.array([datetime.fromisoformat(reported)], STAGED_SCHEMA.field("last_reported_at").type)[0].as_py())


def test_explorer_columns_and_resources_in_one_builder() -> None:
    builder = BatchBuilder(source="explorer-aggregator", scope_region=None, owner_tag_key="owner")
    builder.extend([normalize_explorer(RE_ITEMS[0])], scope_region="eu-west-1")  # a datetime
    add_page(RE_ITEMS[2:3], RE_WANTED, builder, {}, RE_GLOBAL_TYPES)  # an ISO string
    builder.extend([normalize_explorer(RE_ITEMS[1])], scope_region="eu-west-1")
    rows = rows_of(builder)
    assert [r["arn"] for r in rows] == [RE_ITEMS[0]["Arn"], RE_ITEMS[2]["Arn"], RE_ITEMS[1]["Arn"]]
    assert {r["last_reported_at"] for r in rows} == {datetime.fromisoformat("2026-11-20T10:11:12.000Z")}
    assert [r["scope_region"] for r in rows] == ["eu-west-1"] * 3


def test_explorer_columns_cut_at_batch_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync.batches, "BATCH_ROWS", 3)
    items = [re_item(f"arn:aws:ec2:eu-west-1:{RE_ACCOUNT}:instance/i-{n:02d}", "ec2:instance") for n in range(11)]
    builder = BatchBuilder(source="explorer-aggregator", scope_region=None, owner_tag_key="owner")
    add_page(items[:2], RE_WANTED, builder, {}, RE_GLOBAL_TYPES)
    add_page(items[2:], RE_WANTED, builder, {}, RE_GLOBAL_TYPES)
    batches = builder.batches()
    assert [b.num_rows for b in batches] == [3, 3, 3, 2] and builder.rows == 11
    assert [r["resource_id"] for b in batches for r in b.to_pylist()] == [f"i-{n:02d}" for n in range(11)]
    with pytest.raises(ValueError):
        BatchBuilder(source="services", scope_region="eu-west-1", owner_tag_key=None).extend_columns(
            normalize_page_rows(items[:1]))


def normalize_page_rows(items: list[dict]) -> Columns:
    return explorer_normalize_page(items, RE_WANTED, RE_GLOBAL_TYPES, "owner")[0]


def test_decode_page_parses_and_normalizes_in_one_step() -> None:
    body = orjson.dumps({"Resources": RE_ITEMS, "NextToken": "next", "ViewArn": "arn:view"})
    assert gc.isenabled()
    answer = decode_page(body, RE_WANTED, RE_GLOBAL_TYPES, "owner")
    assert gc.isenabled()  # the collector resumes
    assert answer["NextToken"] == "next"
    decoded = BatchBuilder(source="explorer-aggregator", scope_region=None, owner_tag_key="owner")
    decoded_counts: dict = {}
    add_answer(answer, RE_WANTED, decoded, decoded_counts, RE_GLOBAL_TYPES)
    parsed = BatchBuilder(source="explorer-aggregator", scope_region=None, owner_tag_key="owner")
    parsed_counts: dict = {}
    add_answer(orjson.loads(body), RE_WANTED, parsed, parsed_counts, RE_GLOBAL_TYPES)  # a botocore client's answer
    assert rows_of(decoded) == rows_of(parsed) and decoded_counts == parsed_counts
    assert decode_page(b"", RE_WANTED, RE_GLOBAL_TYPES, "owner")["NextToken"] is None
    with pytest.raises(orjson.JSONDecodeError):
        decode_page(b"{not json", RE_WANTED, RE_GLOBAL_TYPES, "owner")
    assert gc.isenabled()
    gc.disable()
    try:
        decode_page(body, RE_WANTED, RE_GLOBAL_TYPES, "owner")
        assert not gc.isenabled()  # a collector paused by someone else stays paused
    finally:
        gc.enable()
