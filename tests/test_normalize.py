"""Pure normalize tests, one resource type at a time, from recorded botocore-parsed pages."""

from __future__ import annotations

import copy
import gc
import re
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
from sync.sources.model import (
    GLOBAL_REGION,
    Resource,
    ScopeContext,
    partition_for,
    pick,
    tag_list_to_dict,
)
from sync.sources.registry import service_specs, spec_for, supported_types
from sync.sources.services import s3
from sync.sources.spec import iam_action
from tests.data.pages import botocore_pages as pages

ACCOUNT = pages.ACCOUNT
EU = ScopeContext(account_id=ACCOUNT, region="eu-west-1")
HOME = ScopeContext(account_id=ACCOUNT, region="us-east-1")  # global types are listed from the home region

ALL_TYPES = (
    "dynamodb:table", "ec2:instance", "eks:cluster", "iam:group", "iam:policy", "iam:role", "iam:user",
    "lambda:function", "rds:db", "s3:bucket", "secretsmanager:secret",
)


def listed(resource_type: str, page: dict) -> list:
    """The items the fetcher would hand to normalize: the spec's extractor, else the result key."""
    spec = spec_for(resource_type)
    if spec.items is not None:
        return list(spec.items(page))
    from sync.sources.fetch import paginator_config

    return list(page[paginator_config(spec.service, spec.list_operation)["result_key"]])


def normalize_page(resource_type: str, page: dict, ctx: ScopeContext) -> list[Resource]:
    spec = spec_for(resource_type)
    return [r for item in listed(resource_type, page) if (r := spec.normalize(item, ctx)) is not None]


# --- registry and specs ---------------------------------------------------------------------------


def test_registry_finds_exactly_the_eleven_types() -> None:
    assert supported_types() == ALL_TYPES
    assert all(spec_for(t).resource_type == t for t in ALL_TYPES)


def test_global_types_are_iam_and_s3() -> None:
    assert {t for t, s in service_specs().items() if s.is_global} == {
        "iam:group", "iam:policy", "iam:role", "iam:user", "s3:bucket"
    }


@pytest.mark.parametrize("resource_type", ALL_TYPES)
def test_spec_actions_are_service_operation_strings(resource_type: str) -> None:
    spec = spec_for(resource_type)
    assert spec.actions, resource_type
    for action in spec.actions:
        assert re.fullmatch(r"[a-z0-9-]+:[A-Z][A-Za-z0-9]+", action), action
        assert action.split(":")[0] == spec.service


def test_spec_actions_name_every_call_the_spec_makes() -> None:
    assert spec_for("ec2:instance").actions == ("ec2:DescribeInstances",)
    assert spec_for("eks:cluster").actions == ("eks:ListClusters", "eks:DescribeCluster")
    assert spec_for("iam:role").actions == ("iam:GetAccountAuthorizationDetails",)
    assert spec_for("iam:policy").actions == ("iam:ListPolicies", "iam:ListPolicyTags")
    assert spec_for("iam:group").actions == ("iam:ListGroups",)
    assert spec_for("dynamodb:table").actions == (
        "dynamodb:ListTables", "dynamodb:DescribeTable", "dynamodb:ListTagsOfResource"
    )


def test_s3_list_buckets_maps_to_list_all_my_buckets() -> None:
    assert iam_action("s3", "ListBuckets") == "s3:ListAllMyBuckets"
    assert iam_action("s3", "GetBucketTagging") == "s3:GetBucketTagging"
    assert spec_for("s3:bucket").actions == ("s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:GetBucketTagging")


# --- helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"), ("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"), ("us-gov-east-1", "aws-us-gov"), ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
    ],
)
def test_partition_for(region: str, partition: str) -> None:
    assert partition_for(region) == partition
    assert ScopeContext(account_id=ACCOUNT, region=region).partition == partition


def test_tag_list_to_dict_and_pick() -> None:
    assert tag_list_to_dict(None) == {}
    assert tag_list_to_dict([]) == {}
    assert tag_list_to_dict([{"Key": "a", "Value": "1"}, {"Key": "empty"}]) == {"a": "1", "empty": ""}
    assert tag_list_to_dict([{"key": "k", "value": "v"}], key="key", value="value") == {"k": "v"}
    assert pick({"a": 1, "b": None, "c": False}, "a", "b", "c", "d") == {"a": 1, "c": False}


# --- EC2 ------------------------------------------------------------------------------------------


def test_ec2_instances_from_a_describe_instances_page() -> None:
    resources = normalize_page("ec2:instance", pages.EC2_DESCRIBE_INSTANCES, EU)
    by_id = {r.resource_id: r for r in resources}
    # the terminated instance (i-...0002) is dropped; instances of both reservations are kept
    assert sorted(by_id) == ["i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60003"]

    web = by_id["i-0a1b2c3d4e5f60001"]
    assert web.arn == f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0a1b2c3d4e5f60001"
    assert (web.account_id, web.region, web.resource_type) == (ACCOUNT, "eu-west-1", "ec2:instance")
    assert web.name == "web-1"
    assert web.tags == {"Name": "web-1", "owner": "alice", "env": "prod"}
    assert web.properties["State"] == "running"
    assert web.properties["InstanceType"] == "t3.micro"
    assert web.properties["AvailabilityZone"] == "eu-west-1a"
    assert web.properties["IamInstanceProfile"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/web"
    assert web.properties["VpcId"] == "vpc-0123456789abcdef0"
    assert web.properties["LaunchTime"] == pages.ts(2024, 3, 4, 10, 15, 2)
    assert isinstance(web.properties["LaunchTime"], datetime) and web.properties["LaunchTime"].tzinfo is not None
    assert "Monitoring" not in web.properties and "PrivateDnsName" not in web.properties

    stopped = by_id["i-0a1b2c3d4e5f60003"]
    assert stopped.name is None and stopped.tags == {}
    assert stopped.properties["State"] == "stopped"
    assert "IamInstanceProfile" not in stopped.properties


def test_ec2_terminated_instance_is_dropped() -> None:
    item = pages.EC2_DESCRIBE_INSTANCES["Reservations"][0]["Instances"][1]
    assert item["State"]["Name"] == "terminated"
    assert spec_for("ec2:instance").normalize(item, EU) is None


@pytest.mark.parametrize(
    ("region", "partition"), [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("us-east-1", "aws")]
)
def test_ec2_arn_uses_the_partition_of_the_region(region: str, partition: str) -> None:
    item = pages.EC2_DESCRIBE_INSTANCES["Reservations"][0]["Instances"][0]
    r = spec_for("ec2:instance").normalize(item, ScopeContext(account_id=ACCOUNT, region=region))
    assert r is not None
    assert r.arn == f"arn:{partition}:ec2:{region}:{ACCOUNT}:instance/i-0a1b2c3d4e5f60001"
    assert r.region == region


def test_normalize_does_not_mutate_the_page() -> None:
    page = copy.deepcopy(pages.EC2_DESCRIBE_INSTANCES)
    normalize_page("ec2:instance", page, EU)
    assert page == pages.EC2_DESCRIBE_INSTANCES


# --- RDS ------------------------------------------------------------------------------------------


def test_rds_db_instances() -> None:
    by_id = {r.resource_id: r for r in normalize_page("rds:db", pages.RDS_DESCRIBE_DB_INSTANCES, EU)}
    orders = by_id["orders-db"]
    assert orders.arn == f"arn:aws:rds:eu-west-1:{ACCOUNT}:db:orders-db"
    assert (orders.account_id, orders.region, orders.resource_type, orders.name) == (
        ACCOUNT, "eu-west-1", "rds:db", "orders-db"
    )
    assert orders.tags == {"owner": "bob", "team": "payments"}
    assert orders.properties == {
        "Engine": "postgres", "EngineVersion": "16.3", "DBInstanceClass": "db.t3.medium",
        "DBInstanceStatus": "available", "MultiAZ": False, "InstanceCreateTime": pages.ts(2023, 11, 20, 9, 30, 0),
        "DbiResourceId": "db-ABCDEFGHIJKLMNOPQRSTUVWXY1",
    }
    legacy = by_id["legacy-mysql"]
    assert legacy.arn == f"arn:aws:rds:eu-west-1:{ACCOUNT}:db:legacy-mysql"  # built: no DBInstanceArn
    assert legacy.tags == {}
    assert legacy.properties["MultiAZ"] is True


@pytest.mark.parametrize(("region", "partition"), [("cn-northwest-1", "aws-cn"), ("us-gov-east-1", "aws-us-gov")])
def test_rds_built_arn_uses_the_partition(region: str, partition: str) -> None:
    item = pages.RDS_DESCRIBE_DB_INSTANCES["DBInstances"][1]
    r = spec_for("rds:db").normalize(item, ScopeContext(account_id=ACCOUNT, region=region))
    assert r is not None and r.arn == f"arn:{partition}:rds:{region}:{ACCOUNT}:db:legacy-mysql"


# --- S3 -------------------------------------------------------------------------------------------


def test_s3_bucket_with_bucket_region_is_in_that_region() -> None:
    item = pages.S3_LIST_BUCKETS["Buckets"][0]
    r = spec_for("s3:bucket").normalize(item, HOME)  # listed from the home region
    assert r is not None
    assert r.arn == "arn:aws:s3:::acme-logs"
    assert (r.account_id, r.region, r.resource_type, r.resource_id, r.name) == (
        ACCOUNT, "eu-west-1", "s3:bucket", "acme-logs", "acme-logs"
    )
    assert r.tags == {}  # filled by GetBucketTagging
    assert r.properties == {"CreationDate": pages.ts(2022, 1, 10, 12, 0, 0)}


def test_s3_bucket_without_bucket_region_defaults_to_us_east_1() -> None:
    item = pages.S3_LIST_BUCKETS["Buckets"][1]
    r = spec_for("s3:bucket").normalize(item, EU)
    assert r is not None and r.region == "us-east-1" and r.arn == "arn:aws:s3:::acme-legacy"


@pytest.mark.parametrize(
    ("constraint", "region"),
    [(None, "us-east-1"), ("", "us-east-1"), ("EU", "eu-west-1"), ("ap-south-1", "ap-south-1")],
)
def test_s3_get_bucket_location_answer_gives_the_region(constraint: str | None, region: str) -> None:
    item = pages.S3_LIST_BUCKETS["Buckets"][1]
    described = s3.with_location(item, {"LocationConstraint": constraint, "ResponseMetadata": {}})
    assert described["BucketRegion"] == region and described["Name"] == "acme-legacy"
    assert "BucketRegion" not in item  # the listed item is left alone
    r = spec_for("s3:bucket").normalize(described, HOME)
    assert r is not None and r.region == region


@pytest.mark.parametrize(("region", "partition"), [("cn-northwest-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_s3_arn_partition_follows_the_bucket_region(region: str, partition: str) -> None:
    r = spec_for("s3:bucket").normalize({"Name": "b", "BucketRegion": region}, HOME)
    assert r is not None and r.arn == f"arn:{partition}:s3:::b" and r.region == region


def test_s3_bucket_tags_from_get_bucket_tagging() -> None:
    spec = spec_for("s3:bucket")
    assert spec.tags is not None
    assert spec.tags.extract({"TagSet": [{"Key": "owner", "Value": "ops"}]}) == {"owner": "ops"}
    assert spec.tags.empty_on == frozenset({"NoSuchTagSet"})
    assert spec.tags.region(pages.S3_LIST_BUCKETS["Buckets"][0]) == "eu-west-1"


# --- IAM ------------------------------------------------------------------------------------------


def test_iam_roles_are_global() -> None:
    roles = normalize_page("iam:role", pages.IAM_AUTH_DETAILS_ROLES, HOME)
    assert [r.name for r in roles] == ["deployer", "lambda-exec"]
    deployer = roles[0]
    assert deployer.arn == f"arn:aws:iam::{ACCOUNT}:role/deployer"
    assert (deployer.account_id, deployer.region, deployer.resource_type, deployer.resource_id) == (
        ACCOUNT, GLOBAL_REGION, "iam:role", "AROAEXAMPLEDEPLOYER1"
    )
    assert deployer.region == "global"
    assert deployer.tags == {"owner": "platform", "cost-center": "42"}  # inline in the details
    assert roles[1].tags == {}
    # RoleLastUsed moves on every use: keeping it would make every sync report the role modified.
    assert deployer.properties == {"Path": "/", "CreateDate": pages.ts(2021, 4, 2, 15, 3, 0)}
    assert "AssumeRolePolicyDocument" not in deployer.properties
    assert roles[1].properties["Path"] == "/service-role/"


def test_iam_region_is_global_whatever_the_api_region() -> None:
    for ctx in (HOME, EU, ScopeContext(account_id=ACCOUNT, region="cn-north-1")):
        [r] = normalize_page("iam:user", pages.IAM_AUTH_DETAILS_USERS, ctx)
        assert r.region == "global"


def test_iam_users_groups_policies() -> None:
    [user] = normalize_page("iam:user", pages.IAM_AUTH_DETAILS_USERS, HOME)
    assert (user.arn, user.resource_type, user.resource_id, user.name) == (
        f"arn:aws:iam::{ACCOUNT}:user/alice", "iam:user", "AIDAEXAMPLEALICE0001", "alice"
    )
    assert user.tags == {"owner": "alice@example.com"}
    assert "GroupList" not in user.properties

    [group] = normalize_page("iam:group", pages.IAM_LIST_GROUPS, HOME)
    assert (group.arn, group.region, group.resource_type, group.resource_id, group.name) == (
        f"arn:aws:iam::{ACCOUNT}:group/admins", "global", "iam:group", "AGPAEXAMPLEADMINS001", "admins"
    )

    [policy] = normalize_page("iam:policy", pages.IAM_LIST_POLICIES, HOME)
    assert (policy.arn, policy.region, policy.resource_type, policy.resource_id, policy.name) == (
        f"arn:aws:iam::{ACCOUNT}:policy/read-logs", "global", "iam:policy", "ANPAEXAMPLEREADLOGS1", "read-logs"
    )
    assert policy.properties["DefaultVersionId"] == "v3"
    assert policy.properties["AttachmentCount"] == 2


def test_iam_tag_calls() -> None:
    # Roles and users: one authorization-details page carries a thousand entities and their tags.
    for rtype, kind in (("iam:role", "Role"), ("iam:user", "User")):
        spec = spec_for(rtype)
        assert spec.tags is None
        assert (spec.list_operation, spec.list_params) == ("GetAccountAuthorizationDetails", {"Filter": [kind]})
    assert listed("iam:role", pages.IAM_AUTH_DETAILS_USERS) == []  # another kind's list is not read
    policy_tags = spec_for("iam:policy").tags
    assert policy_tags is not None and policy_tags.operation == "ListPolicyTags"
    assert policy_tags.extract(pages.IAM_LIST_POLICY_TAGS) == {"owner": "platform", "cost-center": "42"}
    assert policy_tags.request(pages.IAM_LIST_POLICIES["Policies"][0]) == {
        "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/read-logs"
    }
    assert spec_for("iam:policy").list_params == {"Scope": "Local"}  # customer-managed only
    assert spec_for("iam:group").tags is None


# --- EKS ------------------------------------------------------------------------------------------


def test_eks_cluster_from_describe_cluster() -> None:
    spec = spec_for("eks:cluster")
    assert spec.describe is not None
    names = listed("eks:cluster", pages.EKS_LIST_CLUSTERS)
    assert names == [{"name": "prod"}, {"name": "staging"}]
    assert spec.describe.request(names[0]) == {"name": "prod"}

    described = spec.describe.extract(names[0], pages.EKS_DESCRIBE_CLUSTER_PROD)
    r = spec.normalize(described, EU)
    assert r is not None
    assert r.arn == f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/prod"
    assert (r.account_id, r.region, r.resource_type, r.resource_id, r.name) == (
        ACCOUNT, "eu-west-1", "eks:cluster", "prod", "prod"
    )
    assert r.tags == {"owner": "carol", "env": "prod"}
    assert r.properties == {
        "version": "1.30", "status": "ACTIVE", "platformVersion": "eks.8",
        "createdAt": pages.ts(2024, 1, 15, 11, 22, 33),
        "endpoint": "https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com",
    }

    staging = spec.normalize(spec.describe.extract(names[1], pages.EKS_DESCRIBE_CLUSTER_STAGING), EU)
    assert staging is not None and staging.tags == {} and "endpoint" not in staging.properties


# --- Lambda ---------------------------------------------------------------------------------------


def test_lambda_functions() -> None:
    fns = normalize_page("lambda:function", pages.LAMBDA_LIST_FUNCTIONS, EU)
    assert [f.name for f in fns] == ["resize-images", "from-image"]
    resize = fns[0]
    assert resize.arn == f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:resize-images"
    assert (resize.account_id, resize.region, resize.resource_type, resize.resource_id) == (
        ACCOUNT, "eu-west-1", "lambda:function", "resize-images"
    )
    assert resize.tags == {}
    assert resize.properties == {
        "Runtime": "python3.12", "Role": f"arn:aws:iam::{ACCOUNT}:role/service-role/lambda-exec",
        "Handler": "app.handler", "MemorySize": 256, "LastModified": "2024-05-01T10:00:00.000+0000",
        "PackageType": "Zip",
    }
    assert "Runtime" not in fns[1].properties and fns[1].properties["PackageType"] == "Image"
    tags = spec_for("lambda:function").tags
    assert tags is not None
    assert tags.request(pages.LAMBDA_LIST_FUNCTIONS["Functions"][0]) == {"Resource": resize.arn}
    assert tags.extract(pages.LAMBDA_LIST_TAGS) == {"owner": "dave", "app": "media"}


# --- DynamoDB -------------------------------------------------------------------------------------


def test_dynamodb_table_from_describe_table() -> None:
    spec = spec_for("dynamodb:table")
    assert spec.describe is not None and spec.tags is not None
    names = listed("dynamodb:table", {"TableNames": ["orders", "users"], "LastEvaluatedTableName": "users"})
    assert names == [{"TableName": "orders"}, {"TableName": "users"}]
    assert spec.describe.request(names[0]) == {"TableName": "orders"}
    table = spec.describe.extract(names[0], pages.DYNAMODB_DESCRIBE_TABLE)
    r = spec.normalize(table, EU)
    assert r is not None
    assert r.arn == f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders"
    assert (r.account_id, r.region, r.resource_type, r.resource_id, r.name) == (
        ACCOUNT, "eu-west-1", "dynamodb:table", "orders", "orders"
    )
    assert r.properties == {
        "TableStatus": "ACTIVE", "CreationDateTime": pages.ts(2023, 3, 3, 3, 3, 3), "ItemCount": 4200,
        "TableSizeBytes": 1048576, "TableId": "0c5b8f1e-1111-2222-3333-444455556666",
    }
    assert spec.tags.request(table) == {"ResourceArn": r.arn}
    assert spec.tags.extract(pages.DYNAMODB_LIST_TAGS_OF_RESOURCE) == {"owner": "erin"}


# --- Secrets Manager ------------------------------------------------------------------------------


def test_secrets_with_inline_tags() -> None:
    secrets = normalize_page("secretsmanager:secret", pages.SECRETS_LIST_SECRETS, EU)
    db, api = secrets
    assert db.arn == f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:db/password-AbCdEf"
    assert (db.account_id, db.region, db.resource_type, db.resource_id) == (
        ACCOUNT, "eu-west-1", "secretsmanager:secret", "db/password"
    )
    assert db.name == "db/password"  # the secret's name, not its Name tag
    assert db.tags == {"owner": "bob", "Name": "not-the-name"}
    assert db.properties["RotationEnabled"] is True
    assert db.properties["LastRotatedDate"] == pages.ts(2024, 7, 1, 0, 0, 0)
    assert "SecretVersionsToStages" not in db.properties and "LastAccessedDate" not in db.properties
    assert api.tags == {} and api.properties == {"CreatedDate": pages.ts(2024, 1, 1, 0, 0, 0)}


# --- every type -----------------------------------------------------------------------------------


def test_last_reported_at_is_unset_for_service_api_resources() -> None:
    [r] = normalize_page("iam:group", pages.IAM_LIST_GROUPS, HOME)
    assert r.last_reported_at is None


# --- Resource Explorer pages: sync.explorer.normalize.normalize_page -------------------------------

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
