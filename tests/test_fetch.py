"""fetch_service_scope against a fake ApiCaller (error classification: test_error_classes.py)."""

from __future__ import annotations

import asyncio
import copy
import gc
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from sync.aws.errors import error_code
from sync.aws.stats import CallStats
from sync.sources.fetch import fetch_service_scope
from sync.sources.model import Resource, ScopeContext
from sync.sources.registry import spec_for
from tests.data.pages import botocore_pages as pages

ACCOUNT = pages.ACCOUNT


def client_error(code: str, message: str = "boom", status: int = 400, op: str = "Op") -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, op)


Handler = Callable[[dict[str, Any]], Any]


class FakeAws:
    """Serves canned answers per operation; records every call with the region of its caller."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []  # (region, service, operation, params)
        self.callers: list[tuple[str, str]] = []

    async def caller_for(self, region: str, service: str) -> FakeCaller:
        self.callers.append((region, service))
        return FakeCaller(self, region, service)

    def ops(self, operation: str) -> list[dict[str, Any]]:
        return [params for _, _, op, params in self.calls if op == operation]

    def regions_of(self, operation: str) -> list[str]:
        return [region for region, _, op, _ in self.calls if op == operation]


class FakeCaller:
    """Duck-typed sync.aws.calls.ApiCaller."""

    def __init__(self, aws: FakeAws, region: str, service: str) -> None:
        self.aws, self.region, self.service = aws, region, service

    async def call(self, operation: str, params: dict[str, Any], stats: CallStats) -> dict[str, Any]:
        self.aws.calls.append((self.region, self.service, operation, copy.deepcopy(params)))
        stats.api_calls += 1
        await asyncio.sleep(0)  # let concurrent per-item calls interleave
        answer = self.aws.handlers[operation](params)
        if isinstance(answer, BaseException):
            raise answer
        return copy.deepcopy(answer)


def by_token(token_key: str, pages_by_token: dict[str | None, dict[str, Any]]) -> Handler:
    """A list operation's pages, keyed by the input token the request carries (None: first page)."""
    return lambda params: pages_by_token[params.get(token_key)]


def by_key(key: str, answers: dict[str, Any]) -> Handler:
    return lambda params: answers[params[key]]


async def collect(resource_type: str, aws: FakeAws, region: str = "eu-west-1",
                  stats: CallStats | None = None) -> list[list[Resource]]:
    ctx = ScopeContext(account_id=ACCOUNT, region=region)
    return [page async for page in fetch_service_scope(spec_for(resource_type), ctx, aws.caller_for,
                                                          stats or CallStats())]


def flat(pages_out: list[list[Resource]]) -> dict[str, Resource]:
    return {r.resource_id: r for page in pages_out for r in page}


# --- pagination -----------------------------------------------------------------------------------


async def test_ec2_follows_next_token_until_it_is_missing() -> None:
    second = {"Reservations": [{"Instances": [{"InstanceId": "i-0000000000000000b", "State": {"Name": "running"}}]}]}
    aws = FakeAws({"DescribeInstances": by_token("NextToken", {
        None: {**pages.EC2_DESCRIBE_INSTANCES, "NextToken": "tok-2"},
        "tok-2": second,
    })})
    stats = CallStats()
    out = await collect("ec2:instance", aws, stats=stats)
    assert aws.ops("DescribeInstances") == [{"MaxResults": 1000}, {"MaxResults": 1000, "NextToken": "tok-2"}]
    assert [len(p) for p in out] == [2, 1]  # one yielded list per page; the terminated instance dropped
    assert sorted(flat(out)) == ["i-0000000000000000b", "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60003"]
    assert stats.pages == 2 and stats.api_calls == 2
    assert aws.callers == [("eu-west-1", "ec2")]


async def test_an_empty_page_with_a_token_keeps_paging() -> None:
    aws = FakeAws({"ListSecrets": by_token("NextToken", {
        None: {"SecretList": [], "NextToken": "t1"},
        "t1": pages.SECRETS_LIST_SECRETS,
    })})
    out = await collect("secretsmanager:secret", aws)
    assert [len(p) for p in out] == [0, 2]
    assert aws.ops("ListSecrets") == [{"MaxResults": 100}, {"MaxResults": 100, "NextToken": "t1"}]
    assert flat(out)["db/password"].tags == {"owner": "bob", "Name": "not-the-name"}


async def test_rds_pages_by_marker_with_max_records() -> None:
    aws = FakeAws({"DescribeDBInstances": by_token("Marker", {
        None: {"DBInstances": pages.RDS_DESCRIBE_DB_INSTANCES["DBInstances"][:1], "Marker": "m-1"},
        "m-1": {"DBInstances": pages.RDS_DESCRIBE_DB_INSTANCES["DBInstances"][1:]},
    })})
    out = await collect("rds:db", aws)
    assert aws.ops("DescribeDBInstances") == [{"MaxRecords": 100}, {"MaxRecords": 100, "Marker": "m-1"}]
    assert sorted(flat(out)) == ["legacy-mysql", "orders-db"]


async def test_iam_is_truncated_false_stops_even_with_a_marker() -> None:
    aws = FakeAws({
        "ListGroups": lambda params: {**pages.IAM_LIST_GROUPS, "IsTruncated": False, "Marker": "stale"},
    })
    out = await collect("iam:group", aws, region="us-east-1")
    assert aws.ops("ListGroups") == [{"MaxItems": 1000}]
    assert [r.region for r in flat(out).values()] == ["global"]


async def test_iam_is_truncated_true_passes_the_marker_back() -> None:
    first = {"Groups": [], "IsTruncated": True, "Marker": "mk-1"}
    aws = FakeAws({"ListGroups": by_token("Marker", {None: first, "mk-1": pages.IAM_LIST_GROUPS})})
    out = await collect("iam:group", aws, region="us-east-1")
    assert aws.ops("ListGroups") == [{"MaxItems": 1000}, {"MaxItems": 1000, "Marker": "mk-1"}]
    assert list(flat(out)) == ["AGPAEXAMPLEADMINS001"]


async def test_lambda_marker_in_next_marker_out_and_list_tags_per_function() -> None:
    fns = pages.LAMBDA_LIST_FUNCTIONS["Functions"]
    aws = FakeAws({
        "ListFunctions": by_token("Marker", {
            None: {"Functions": fns[:1], "NextMarker": "nm-1"},
            "nm-1": {"Functions": fns[1:]},
        }),
        "ListTags": lambda params: pages.LAMBDA_LIST_TAGS if params["Resource"].endswith("resize-images")
        else {"Tags": {}},
    })
    out = await collect("lambda:function", aws)
    assert aws.ops("ListFunctions") == [{"MaxItems": 50}, {"MaxItems": 50, "Marker": "nm-1"}]
    assert sorted(p["Resource"] for p in aws.ops("ListTags")) == sorted(f["FunctionArn"] for f in fns)
    got = flat(out)
    assert got["resize-images"].tags == {"owner": "dave", "app": "media"}
    assert got["from-image"].tags == {}


async def test_iam_policies_list_local_scope_with_tags() -> None:
    aws = FakeAws({
        "ListPolicies": lambda params: pages.IAM_LIST_POLICIES,
        "ListPolicyTags": lambda params: {"Tags": [{"Key": "owner", "Value": "sec"}], "IsTruncated": False},
    })
    out = await collect("iam:policy", aws, region="us-east-1")
    assert aws.ops("ListPolicies") == [{"Scope": "Local", "MaxItems": 1000}]
    assert aws.ops("ListPolicyTags") == [{"PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/read-logs"}]
    assert flat(out)["ANPAEXAMPLEREADLOGS1"].tags == {"owner": "sec"}


# --- per-item calls -------------------------------------------------------------------------------


async def test_iam_roles_and_their_tags_come_in_one_authorization_details_call() -> None:
    aws = FakeAws({"GetAccountAuthorizationDetails": lambda params: pages.IAM_AUTH_DETAILS_ROLES})
    out = await collect("iam:role", aws, region="us-east-1")
    assert aws.ops("GetAccountAuthorizationDetails") == [{"Filter": ["Role"], "MaxItems": 1000}]
    assert [op for _, _, op, _ in aws.calls] == ["GetAccountAuthorizationDetails"]  # no per-role call
    got = flat(out)
    assert sorted(got) == ["AROAEXAMPLEDEPLOYER1", "AROAEXAMPLELAMBDAEX1"]
    assert got["AROAEXAMPLEDEPLOYER1"].tags == {"owner": "platform", "cost-center": "42"}
    assert got["AROAEXAMPLEDEPLOYER1"].region == "global"


async def test_iam_authorization_details_follow_the_marker() -> None:
    first = {**pages.IAM_AUTH_DETAILS_USERS, "IsTruncated": True, "Marker": "m1"}
    second = {**pages.IAM_AUTH_DETAILS_USERS, "UserDetailList": [
        {**pages.IAM_AUTH_DETAILS_USERS["UserDetailList"][0], "UserName": "bob", "UserId": "AIDAEXAMPLEBOB000001",
         "Arn": f"arn:aws:iam::{ACCOUNT}:user/bob", "Tags": []}]}
    aws = FakeAws({"GetAccountAuthorizationDetails": lambda params: second if params.get("Marker") else first})
    out = await collect("iam:user", aws, region="us-east-1")
    assert aws.ops("GetAccountAuthorizationDetails") == [
        {"Filter": ["User"], "MaxItems": 1000}, {"Filter": ["User"], "MaxItems": 1000, "Marker": "m1"}]
    assert {r.name: r.tags for r in flat(out).values()} == {"alice": {"owner": "alice@example.com"}, "bob": {}}


async def test_a_vanished_policy_is_dropped() -> None:
    aws = FakeAws({
        "ListPolicies": lambda params: pages.IAM_LIST_POLICIES,
        "ListPolicyTags": lambda params: client_error("NoSuchEntity", "Policy does not exist.", 404),
    })
    out = await collect("iam:policy", aws, region="us-east-1")
    assert len(aws.ops("ListPolicyTags")) == 1
    assert flat(out) == {}


async def test_iam_groups_make_no_tag_call() -> None:
    aws = FakeAws({"ListGroups": lambda params: pages.IAM_LIST_GROUPS})
    await collect("iam:group", aws, region="us-east-1")
    assert [op for _, _, op, _ in aws.calls] == ["ListGroups"]


async def test_eks_describes_each_cluster_and_drops_one_that_vanished() -> None:
    aws = FakeAws({
        "ListClusters": by_token("nextToken", {
            None: {"clusters": ["prod", "gone"], "nextToken": "nt-1"},
            "nt-1": {"clusters": ["staging"]},
        }),
        "DescribeCluster": by_key("name", {
            "prod": pages.EKS_DESCRIBE_CLUSTER_PROD,
            "staging": pages.EKS_DESCRIBE_CLUSTER_STAGING,
            "gone": client_error("ResourceNotFoundException", "No cluster found for name: gone.", 404),
        }),
    })
    out = await collect("eks:cluster", aws)
    assert aws.ops("ListClusters") == [{"maxResults": 100}, {"maxResults": 100, "nextToken": "nt-1"}]
    assert sorted(p["name"] for p in aws.ops("DescribeCluster")) == ["gone", "prod", "staging"]
    assert [[r.name for r in page] for page in out] == [["prod"], ["staging"]]
    prod = flat(out)["prod"]
    assert prod.arn == f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/prod"
    assert prod.tags == {"owner": "carol", "env": "prod"}
    assert set(aws.regions_of("DescribeCluster")) == {"eu-west-1"}


async def test_dynamodb_lists_names_describes_and_tags() -> None:
    aws = FakeAws({
        "ListTables": by_token("ExclusiveStartTableName", {
            None: {"TableNames": ["orders"], "LastEvaluatedTableName": "orders"},
            "orders": {"TableNames": ["dropped"]},
        }),
        "DescribeTable": by_key("TableName", {
            "orders": pages.DYNAMODB_DESCRIBE_TABLE,
            "dropped": client_error("ResourceNotFoundException", "Requested resource not found"),
        }),
        "ListTagsOfResource": lambda params: pages.DYNAMODB_LIST_TAGS_OF_RESOURCE,
    })
    out = await collect("dynamodb:table", aws)
    assert aws.ops("ListTables") == [{"Limit": 100}, {"Limit": 100, "ExclusiveStartTableName": "orders"}]
    assert aws.ops("ListTagsOfResource") == [{"ResourceArn": f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders"}]
    assert [[r.name for r in page] for page in out] == [["orders"], []]
    assert flat(out)["orders"].tags == {"owner": "erin"}


async def test_a_tag_call_that_finds_the_resource_gone_drops_only_that_item() -> None:
    aws = FakeAws({
        "ListTables": lambda params: {"TableNames": ["orders", "users"]},
        "DescribeTable": lambda params: {"Table": {**pages.DYNAMODB_DESCRIBE_TABLE["Table"],
                                                   "TableName": params["TableName"],
                                                   "TableArn": f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/"
                                                               + params["TableName"]}},
        "ListTagsOfResource": lambda params: client_error("ResourceNotFoundException", "gone")
        if params["ResourceArn"].endswith("/users") else pages.DYNAMODB_LIST_TAGS_OF_RESOURCE,
    })
    out = await collect("dynamodb:table", aws)
    assert list(flat(out)) == ["orders"]


# --- S3 -------------------------------------------------------------------------------------------


def s3_aws(tagging: dict[str, Any], location: dict[str, Any] | None = None,
           buckets: list[dict[str, Any]] | None = None) -> FakeAws:
    listing = {**pages.S3_LIST_BUCKETS, "Buckets": buckets if buckets is not None else pages.S3_LIST_BUCKETS["Buckets"]}
    return FakeAws({
        "ListBuckets": lambda params: listing,
        "GetBucketLocation": by_key("Bucket", location or {}),
        "GetBucketTagging": by_key("Bucket", tagging),
    })


async def test_s3_location_only_for_buckets_without_bucket_region_and_tags_in_the_bucket_region() -> None:
    aws = s3_aws(
        tagging={
            "acme-logs": {"TagSet": [{"Key": "owner", "Value": "ops"}]},
            "acme-legacy": client_error("NoSuchTagSet", "The TagSet does not exist", 404),
        },
        location={"acme-legacy": {"LocationConstraint": "EU"}},
    )
    out = await collect("s3:bucket", aws, region="us-east-1")
    assert aws.ops("ListBuckets") == [{"MaxBuckets": 10_000}]
    assert aws.ops("GetBucketLocation") == [{"Bucket": "acme-legacy"}]  # acme-logs had BucketRegion
    assert aws.regions_of("GetBucketLocation") == ["us-east-1"]
    tagging_regions = {p["Bucket"]: r for r, _, op, p in aws.calls if op == "GetBucketTagging"}
    assert tagging_regions == {"acme-logs": "eu-west-1", "acme-legacy": "eu-west-1"}
    got = flat(out)
    assert got["acme-logs"].tags == {"owner": "ops"}
    assert got["acme-legacy"].tags == {}  # NoSuchTagSet: no tags, not an error
    assert got["acme-legacy"].region == "eu-west-1"  # legacy "EU" location
    assert {r.account_id for r in got.values()} == {ACCOUNT}
    assert ("eu-west-1", "s3") in aws.callers


async def test_s3_tag_call_goes_to_the_bucket_region_given_by_list_buckets() -> None:
    buckets = [
        {"Name": "apse2", "BucketRegion": "ap-southeast-2"},
        {"Name": "use1", "BucketRegion": "us-east-1"},
        {"Name": "nolocation"},
    ]
    aws = s3_aws(
        tagging={n: {"TagSet": []} for n in ("apse2", "use1", "nolocation")},
        location={"nolocation": {"LocationConstraint": None}},
        buckets=buckets,
    )
    out = await collect("s3:bucket", aws, region="eu-west-1")
    tagging_regions = {p["Bucket"]: r for r, _, op, p in aws.calls if op == "GetBucketTagging"}
    assert tagging_regions == {"apse2": "ap-southeast-2", "use1": "us-east-1", "nolocation": "us-east-1"}
    assert {r.name: r.region for r in flat(out).values()} == tagging_regions


async def test_s3_continuation_token_pagination() -> None:
    aws = FakeAws({
        "ListBuckets": by_token("ContinuationToken", {
            None: {"Buckets": [{"Name": "a", "BucketRegion": "eu-west-1"}], "ContinuationToken": "ct-1"},
            "ct-1": {"Buckets": [{"Name": "b", "BucketRegion": "eu-west-1"}]},
        }),
        "GetBucketTagging": lambda params: client_error("NoSuchTagSet", "none", 404),
    })
    out = await collect("s3:bucket", aws, region="us-east-1")
    assert aws.ops("ListBuckets") == [{"MaxBuckets": 10_000}, {"MaxBuckets": 10_000, "ContinuationToken": "ct-1"}]
    assert aws.ops("GetBucketLocation") == []
    assert [[r.name for r in p] for p in out] == [["a"], ["b"]]


async def test_s3_bucket_deleted_between_list_and_tagging_is_dropped() -> None:
    aws = s3_aws(tagging={
        "acme-logs": client_error("NoSuchBucket", "The specified bucket does not exist", 404),
        "acme-legacy": {"TagSet": []},
    }, location={"acme-legacy": {"LocationConstraint": None}})
    out = await collect("s3:bucket", aws, region="us-east-1")
    assert list(flat(out)) == ["acme-legacy"]


async def test_s3_bucket_deleted_before_get_bucket_location_is_dropped() -> None:
    aws = s3_aws(
        tagging={"acme-logs": {"TagSet": []}},
        location={"acme-legacy": client_error("NoSuchBucket", "The specified bucket does not exist", 404)},
    )
    out = await collect("s3:bucket", aws, region="us-east-1")
    assert list(flat(out)) == ["acme-logs"]
    assert [p["Bucket"] for p in aws.ops("GetBucketTagging")] == ["acme-logs"]


# --- errors that propagate ------------------------------------------------------------------------


async def test_the_next_page_is_listed_while_the_tag_calls_of_this_one_run() -> None:
    fns = pages.LAMBDA_LIST_FUNCTIONS["Functions"]
    aws = FakeAws({
        "ListFunctions": by_token("Marker", {None: {"Functions": fns[:1], "NextMarker": "nm-1"},
                                             "nm-1": {"Functions": fns[1:]}}),
        "ListTags": lambda params: {"Tags": {}},
    })
    out = await collect("lambda:function", aws)
    order = [(op, params.get("Marker") or params.get("Resource")) for _, _, op, params in aws.calls]
    first_page_tags = order.index(("ListTags", fns[0]["FunctionArn"]))
    # Without listing ahead, the quota would idle for a list call's round trip after each page.
    assert order.index(("ListFunctions", "nm-1")) < first_page_tags
    assert [r.resource_id for page in out for r in page] == [f["FunctionName"] for f in fns]  # pages in order


async def test_a_scope_that_fails_drops_the_page_listed_ahead_without_noise() -> None:
    loop_errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: loop_errors.append(context))
    fns = pages.LAMBDA_LIST_FUNCTIONS["Functions"]
    aws = FakeAws({
        "ListFunctions": by_token("Marker", {None: {"Functions": fns[:1], "NextMarker": "nm-1"},
                                             "nm-1": client_error("ServiceUnavailable", status=503)}),
        "ListTags": lambda params: client_error("AccessDeniedException", status=403),
    })
    with pytest.raises(ClientError) as info:
        await collect("lambda:function", aws)
    assert error_code(info.value) == "AccessDeniedException"  # what ended the scope, not the page ahead
    assert [params.get("Marker") for params in aws.ops("ListFunctions")] == [None, "nm-1"]
    del info  # its traceback holds the generator's frame, and with it the task that listed ahead
    for _ in range(3):  # the generator's finally runs when the loop finalizes it, then its task goes
        gc.collect()
        await asyncio.sleep(0)
    assert loop_errors == []  # no "Task exception was never retrieved"


@pytest.mark.parametrize("code", ["AccessDenied", "ThrottlingException", "InternalError", "ValidationError"])
async def test_other_errors_in_a_tag_call_propagate(code: str) -> None:
    aws = FakeAws({
        "ListPolicies": lambda params: pages.IAM_LIST_POLICIES,
        "ListPolicyTags": lambda params: client_error(code),
    })
    with pytest.raises(ClientError) as info:
        await collect("iam:policy", aws, region="us-east-1")
    assert error_code(info.value) == code


async def test_access_denied_on_s3_tagging_keeps_the_bucket_with_tags_unknown() -> None:
    # ListBuckets is global; the tags are read in the bucket's region, which an SCP may deny.
    aws = s3_aws(tagging={"acme-logs": client_error("AccessDenied", "denied", 403),
                          "acme-legacy": {"TagSet": []}},
                 location={"acme-legacy": {"LocationConstraint": None}})
    stats = CallStats()
    got = flat(await collect("s3:bucket", aws, region="us-east-1", stats=stats))
    assert set(got) == {"acme-logs", "acme-legacy"}
    assert got["acme-logs"].tags is None  # unknown, not "no tags"
    assert got["acme-legacy"].tags == {}
    assert stats.unread_tags == 1


async def test_other_s3_tagging_errors_still_fail_the_scope() -> None:
    aws = s3_aws(tagging={"acme-logs": client_error("InternalError", "boom", 500), "acme-legacy": {"TagSet": []}},
                 location={"acme-legacy": {"LocationConstraint": None}})
    with pytest.raises(ClientError, match="InternalError"):
        await collect("s3:bucket", aws, region="us-east-1")


async def test_errors_of_a_describe_call_propagate() -> None:
    aws = FakeAws({
        "ListClusters": lambda params: {"clusters": ["prod"]},
        "DescribeCluster": lambda params: client_error("AccessDeniedException", "no", 403),
    })
    with pytest.raises(ClientError, match="AccessDeniedException"):
        await collect("eks:cluster", aws)


async def test_an_error_on_a_later_page_propagates_after_the_earlier_pages() -> None:
    aws = FakeAws({"DescribeInstances": lambda params: (
        client_error("UnauthorizedOperation", "no", 403) if params.get("NextToken")
        else {**pages.EC2_DESCRIBE_INSTANCES, "NextToken": "tok-2"}
    )})
    ctx = ScopeContext(account_id=ACCOUNT, region="eu-west-1")
    seen: list[list[Resource]] = []
    with pytest.raises(ClientError, match="UnauthorizedOperation"):
        async for page in fetch_service_scope(spec_for("ec2:instance"), ctx, aws.caller_for, CallStats()):
            seen.append(page)
    assert [len(p) for p in seen] == [2]


async def test_a_non_client_error_propagates() -> None:
    def broken(params: dict[str, Any]) -> Any:
        raise EndpointConnectionError(endpoint_url="https://ec2.eu-west-1.amazonaws.com")

    with pytest.raises(EndpointConnectionError):
        await collect("ec2:instance", FakeAws({"DescribeInstances": broken}))


def test_s3_lists_buckets_in_the_largest_page_the_api_allows() -> None:
    # Each page's tag calls wait for the page: fewer, larger pages keep every region's quota busy.
    model = botocore.session.get_session().get_service_model("s3").operation_model("ListBuckets")
    assert spec_for("s3:bucket").page_size == model.input_shape.members["MaxBuckets"].metadata["max"]
