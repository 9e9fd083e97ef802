"""Per-service APIs through real boto3 clients, checked against the ground truth."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from orgsim_testkit import (
    client,
    collect_services,
    creds_for,
    error_code,
    truth_by_account,
)

import orgsim


@pytest.fixture(scope="module")
def sim() -> Iterator[orgsim.Simulator]:
    with orgsim.run_in_thread("small", overrides={"quotas": {"enabled": False}}) as s:
        yield s


def _biggest_account(sim: orgsim.Simulator, rtype: str) -> int:
    inv = sim.world.inventory
    best, best_n = 1, -1
    for a, acct in enumerate(sim.world.org.accounts):
        if acct.state != "ACTIVE":
            continue
        n = sum(inv.counts[inv.account_scopes(a, r, rtype)] for r in acct.regions)
        if n > best_n:
            best, best_n = a, n
    return best


def test_truth_equals_service_apis(sim: orgsim.Simulator) -> None:
    truth = truth_by_account(sim)
    checked = 0
    for a, acct in enumerate(sim.world.org.accounts):
        if not sim.world.reachable(a, acct.regions[0])[0]:
            continue
        got = collect_services(sim, a)
        assert got == truth.get(acct.account_id, {}), acct.account_id
        checked += len(got)
    assert checked > 300


def test_describe_instances_fields_and_ids(sim: orgsim.Simulator) -> None:
    a = _biggest_account(sim, "ec2:instance")
    ec2 = client(sim, "ec2", creds=creds_for(sim, a))
    page = ec2.describe_instances(MaxResults=5)
    assert page.get("NextToken")
    inst = [i for r in page["Reservations"] for i in r["Instances"]]
    assert len(inst) == 5
    for r in page["Reservations"]:
        assert r["ReservationId"].startswith("r-") and r["OwnerId"] == sim.world.org.accounts[a].account_id
    i = inst[0]
    assert i["State"]["Name"] in ("running", "stopped")
    assert i["Placement"]["AvailabilityZone"].startswith("us-east-1")
    assert i["LaunchTime"].year >= 2020 and i["InstanceType"]
    again = ec2.describe_instances(InstanceIds=[i["InstanceId"]])["Reservations"][0]["Instances"]
    assert again[0]["InstanceId"] == i["InstanceId"]
    with pytest.raises(ClientError) as exc:
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
    assert error_code(exc.value) == "InvalidInstanceID.NotFound"
    with pytest.raises(ClientError) as exc:
        ec2.describe_instances(MaxResults=4)
    assert error_code(exc.value) == "InvalidParameterValue"
    running = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
    )
    assert all(i["State"]["Name"] == "running"
               for r in running["Reservations"] for i in r["Instances"])


def test_describe_regions(sim: orgsim.Simulator) -> None:
    regions = client(sim, "ec2").describe_regions(AllRegions=True)["Regions"]
    assert {r["RegionName"] for r in regions} == set(sim.world.org.regions)
    assert all(r["OptInStatus"] == "opt-in-not-required" for r in regions)


def test_s3_list_buckets_regions_and_tagging(sim: orgsim.Simulator) -> None:
    a = _biggest_account(sim, "s3:bucket")
    s3 = client(sim, "s3", creds=creds_for(sim, a))
    plain = s3.list_buckets()
    assert "BucketRegion" not in plain["Buckets"][0] and "ContinuationToken" not in plain
    page = s3.list_buckets(MaxBuckets=1)
    assert page["Buckets"][0]["BucketRegion"] in sim.world.org.regions
    assert page.get("ContinuationToken")
    names = [b["Name"] for b in plain["Buckets"]]
    assert names == sorted(names)
    for b in plain["Buckets"]:
        loc = s3.get_bucket_location(Bucket=b["Name"])["LocationConstraint"]
        assert (loc or "us-east-1") == next(r["region"] for r in sim.truth() if r["name"] == b["Name"])
    untagged = [r for r in sim.truth() if r["resource_type"] == "s3:bucket" and not r["tags"]]
    owner = sim.world.org.by_id[untagged[0]["account_id"]].index
    s3u = client(sim, "s3", creds=creds_for(sim, owner))
    with pytest.raises(ClientError) as exc:
        s3u.get_bucket_tagging(Bucket=untagged[0]["name"])
    assert error_code(exc.value) == "NoSuchTagSet"
    with pytest.raises(ClientError) as exc:
        s3u.get_bucket_tagging(Bucket="orgsim-nobody-r00-0000001")
    assert error_code(exc.value) == "NoSuchBucket"


def test_rds_iam_eks_lambda_dynamodb_errors(sim: orgsim.Simulator) -> None:
    rds = client(sim, "rds")
    with pytest.raises(ClientError) as exc:
        rds.describe_db_instances(MaxRecords=10)
    assert error_code(exc.value) == "InvalidParameterValue"
    with pytest.raises(ClientError) as exc:
        rds.describe_db_instances(DBInstanceIdentifier="db-999999-ffff")
    assert error_code(exc.value) == "DBInstanceNotFound"
    iam = client(sim, "iam")
    with pytest.raises(ClientError) as exc:
        iam.list_role_tags(RoleName="nobody")
    assert error_code(exc.value) == "NoSuchEntity"
    everything = iam.list_policies()["Policies"]
    assert any(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in everything)
    with pytest.raises(ClientError) as exc:
        client(sim, "eks").describe_cluster(name="eks-99999-prod")
    assert error_code(exc.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client(sim, "lambda").list_tags(
            Resource="arn:aws:lambda:us-east-1:123456789012:function:nope")
    assert error_code(exc.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client(sim, "dynamodb").describe_table(TableName="table-9999999")
    assert error_code(exc.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client(sim, "secretsmanager").list_secrets(NextToken="garbage")
    assert error_code(exc.value) == "InvalidNextTokenException"


def test_dynamodb_exclusive_start(sim: orgsim.Simulator) -> None:
    a = _biggest_account(sim, "dynamodb:table")
    ddb = client(sim, "dynamodb", creds=creds_for(sim, a))
    full = ddb.list_tables()["TableNames"]
    assert len(full) >= 2
    first = ddb.list_tables(Limit=1)
    assert first["TableNames"] == full[:1] and first["LastEvaluatedTableName"] == full[0]
    rest = ddb.list_tables(ExclusiveStartTableName=full[0])["TableNames"]
    assert rest == full[1:]


def test_authorization_details_page_across_kinds_with_tags_inline(sim: orgsim.Simulator) -> None:
    a = _biggest_account(sim, "iam:role")
    iam = client(sim, "iam", creds=creds_for(sim, a))
    listed = {
        "UserDetailList": {u["Arn"] for p in iam.get_paginator("list_users").paginate() for u in p["Users"]},
        "GroupDetailList": {g["Arn"] for p in iam.get_paginator("list_groups").paginate() for g in p["Groups"]},
        "RoleDetailList": {r["Arn"] for p in iam.get_paginator("list_roles").paginate() for r in p["Roles"]},
        "Policies": {p["Arn"] for page in iam.get_paginator("list_policies").paginate(Scope="Local")
                     for p in page["Policies"]},
    }
    assert all(listed.values())
    got: dict[str, list[dict]] = {key: [] for key in listed}
    pages = 0
    # A page size that does not divide any kind's count, so pages straddle the kinds.
    for page in iam.get_paginator("get_account_authorization_details").paginate(
            Filter=["User", "Group", "Role", "LocalManagedPolicy"], PaginationConfig={"PageSize": 7}):
        pages += 1
        assert sum(len(page[key]) for key in got) <= 7
        for key in got:
            got[key].extend(page[key])
    assert {key: {e["Arn"] for e in entities} for key, entities in got.items()} == listed
    assert sum(len(v) for v in got.values()) == sum(len(v) for v in listed.values())  # nothing twice
    assert pages >= sum(len(v) for v in listed.values()) // 7
    for role in got["RoleDetailList"][:5]:
        assert role["Tags"] == iam.list_role_tags(RoleName=role["RoleName"])["Tags"]
    assert all("Tags" not in p for p in got["Policies"])  # ManagedPolicyDetail has no tags, as in AWS
    only_roles = iam.get_account_authorization_details(Filter=["Role"], MaxItems=1000)
    assert not only_roles["UserDetailList"] and not only_roles["Policies"]
    with pytest.raises(ClientError) as info:
        iam.get_account_authorization_details(Filter=["Robot"])
    assert error_code(info.value) == "ValidationError"
