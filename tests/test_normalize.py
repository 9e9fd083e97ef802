"""Pure normalize tests, one resource type at a time, from recorded botocore-parsed pages (Resource
Explorer pages: test_normalize_explorer.py)."""

from __future__ import annotations

import copy
import re
from datetime import datetime

import pytest

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
