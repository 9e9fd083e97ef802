"""Quotas, SCP-denied and disabled regions, injected 5xx and latency."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from orgsim_testkit import client, creds_for, error_code

import orgsim

# (boto3 service, signing:Op, call, expected code, expected HTTP status)
THROTTLES: list[tuple[str, str, Callable[[Any], Any], str, int]] = [
    ("ec2", "ec2:DescribeRegions", lambda c: c.describe_regions(), "RequestLimitExceeded", 503),
    ("resource-explorer-2", "resource-explorer-2:ListIndexes", lambda c: c.list_indexes(),
     "ThrottlingException", 429),
    ("organizations", "organizations:ListRoots", lambda c: c.list_roots(),
     "TooManyRequestsException", 400),
    ("dynamodb", "dynamodb:ListTables", lambda c: c.list_tables(), "ThrottlingException", 400),
    ("s3", "s3:ListBuckets", lambda c: c.list_buckets(), "SlowDown", 503),
    ("iam", "iam:ListRoles", lambda c: c.list_roles(), "Throttling", 400),
    ("rds", "rds:DescribeDBInstances", lambda c: c.describe_db_instances(), "Throttling", 400),
    ("sts", "sts:GetCallerIdentity", lambda c: c.get_caller_identity(), "Throttling", 400),
    ("lambda", "lambda:ListFunctions", lambda c: c.list_functions(),
     "TooManyRequestsException", 429),
    ("eks", "eks:ListClusters", lambda c: c.list_clusters(), "ThrottlingException", 429),
    ("secretsmanager", "secretsmanager:ListSecrets", lambda c: c.list_secrets(),
     "ThrottlingException", 400),
    ("resourcegroupstaggingapi", "tagging:GetResources", lambda c: c.get_resources(),
     "ThrottledException", 400),
]


def test_throttling_codes_per_service() -> None:
    overrides = {"quotas": {"overrides": {op: [0.001, 1] for _, op, _, _, _ in THROTTLES}}}
    with orgsim.run_in_thread("small", overrides=overrides) as sim:
        for service, op, call, code, status in THROTTLES:
            c = client(sim, service)
            call(c)  # the burst of one
            with pytest.raises(ClientError) as exc:
                call(c)
            assert error_code(exc.value) == code, op
            assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == status, op
        stats = sim.stats()
        assert stats["throttled_total"] == len(THROTTLES)


def test_quota_refills_and_scale() -> None:
    with orgsim.run_in_thread("small", overrides={"quotas": {"scale": 1.0}}) as sim:
        re = client(sim, "resource-explorer-2")
        codes = []
        for _ in range(5):
            try:
                re.list_indexes()
                codes.append("ok")
            except ClientError as exc:
                codes.append(error_code(exc))
        assert codes[:3] == ["ok"] * 3 and "ThrottlingException" in codes[3:]
        time.sleep(0.7)
        re.list_indexes()  # 3/s refills within a second


SCENARIO = {
    "quotas": {"enabled": False},
    "organization": {"regions": ["us-east-1", "eu-west-1", "ap-southeast-2"],
                     "opt_in_regions": ["ap-southeast-2"], "opt_in_share": 0.0},
    "faults": {"scp_denied_regions": ["#1:eu-west-1", "#0:eu-west-1"]},
}


def test_scp_denied_and_disabled_regions() -> None:
    with orgsim.run_in_thread("small", overrides=SCENARIO) as sim:
        creds = creds_for(sim, 1)
        ec2 = client(sim, "ec2", "eu-west-1", creds)
        with pytest.raises(ClientError) as exc:
            ec2.describe_instances()
        assert error_code(exc.value) == "UnauthorizedOperation"
        assert "explicit deny in a service control policy" in exc.value.response["Error"]["Message"]
        assert ec2.describe_regions()["Regions"]  # DescribeRegions is exempt
        with pytest.raises(ClientError) as exc:
            client(sim, "dynamodb", "eu-west-1", creds).list_tables()
        assert error_code(exc.value) == "AccessDeniedException"
        with pytest.raises(ClientError) as exc:
            client(sim, "resource-explorer-2", "eu-west-1", creds).list_indexes()
        assert error_code(exc.value) == "AccessDeniedException"
        client(sim, "iam", "eu-west-1", creds).list_roles()  # global: SCP region rules exempt
        client(sim, "ec2", "eu-west-1").describe_instances()  # SCPs never bind management
        with pytest.raises(ClientError) as exc:
            client(sim, "ec2", "ap-southeast-2", creds).describe_instances()
        assert error_code(exc.value) == "AuthFailure"
        with pytest.raises(ClientError) as exc:
            client(sim, "lambda", "ap-southeast-2", creds).list_functions()
        assert error_code(exc.value) == "UnrecognizedClientException"
        regions = client(sim, "ec2", creds=creds).describe_regions(AllRegions=True)["Regions"]
        status = {r["RegionName"]: r["OptInStatus"] for r in regions}
        assert status["ap-southeast-2"] == "not-opted-in"
        assert status["us-east-1"] == "opt-in-not-required"
        assert len(client(sim, "ec2", creds=creds).describe_regions()["Regions"]) == 2
        rows = [r for r in sim.truth() if r["account_id"] == sim.world.org.accounts[1].account_id]
        assert {r["unreachable_reason"] for r in rows if r["region"] == "eu-west-1"} == {"scp_denied"}


def test_injected_5xx_and_latency() -> None:
    with orgsim.run_in_thread("small", overrides={
        "quotas": {"enabled": False}, "faults": {"error_rate": 1.0}
    }) as sim:
        with pytest.raises(ClientError) as exc:
            client(sim, "ec2").describe_regions()
        assert error_code(exc.value) == "InternalError"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        with pytest.raises(ClientError) as exc:
            client(sim, "resource-explorer-2").list_indexes()
        assert error_code(exc.value) == "InternalServerException"
        assert sim.stats()["injected_5xx"] == 2
    with orgsim.run_in_thread("small", overrides={
        "quotas": {"enabled": False}, "latency": {"base_ms": 60.0}
    }) as sim:
        sts = client(sim, "sts")
        t = time.perf_counter()
        sts.get_caller_identity()
        assert time.perf_counter() - t >= 0.06
