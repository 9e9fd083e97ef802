"""Failures stay scoped: a failed account, region or service keeps its rows and says why."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import duckdb
import pytest

from tests.conftest import OrgEnv, org_config, run_cli, write
from tests.support.fault_proxy import Fault, Request, ec2_error, query_error
from tests.support.moto_org import client_kwargs, member_credentials



def rows(catalog: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(catalog), read_only=True) as con:
        return con.execute(sql).fetchall()


def sync(config: str, catalog: Path, *extra: str) -> tuple[int, dict]:
    # moto has no quotas: lift ours (Organizations is 2 calls/s otherwise) to keep the suite fast.
    result = run_cli("sync", config, "--catalog", str(catalog), "--json", "--max-attempts", "2",
                     "--rate-scale", "20", *extra)
    return result.exit_code, json.loads(result.output)[0]


@pytest.fixture
def config(aws: OrgEnv, tmp_path: Path) -> str:
    return write(tmp_path / "orgsync.toml", org_config(aws.org))


def test_account_whose_role_cannot_be_assumed_fails_alone(aws: OrgEnv, config: str, tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    victim = aws.org.account_ids["prod-a"]
    code, first = sync(config, catalog)
    assert code == 0
    victim_rows = rows(catalog, f"SELECT count(*) FROM resources WHERE account_id = '{victim}'")[0][0]
    assert victim_rows > 0

    status, body = query_error("AccessDenied", f"not authorized to perform: sts:AssumeRole on {victim}", 403)
    aws.proxy.add(Fault(lambda r: r.action == "AssumeRole" and victim.encode() in r.body, status, body))
    code, second = sync(config, catalog)
    assert code == 1
    assert second["status"] == "partial"
    [failed] = second["failed_accounts"]
    assert failed["account_id"] == victim and "AccessDenied" in failed["reason"]
    # The other accounts synced; the failed one kept every row, none marked deleted.
    assert second["resources"]["deleted"] == 0
    assert rows(catalog, f"SELECT count(*) FROM current_resources WHERE account_id = '{victim}'")[0][0] == victim_rows
    assert rows(catalog, f"SELECT status FROM accounts WHERE account_id = '{victim}'") == [("failed",)]
    assert second["scopes"]["complete"] == first["scopes"]["complete"] - (2 * 6 + 5)


def test_failing_region_keeps_its_rows_and_records_the_error(aws: OrgEnv, config: str, tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    assert sync(config, catalog)[0] == 0
    before = rows(catalog, "SELECT arn FROM current_resources WHERE region = 'eu-west-1' AND service = 'ec2' ORDER BY 1")
    assert before

    status, body = ec2_error("InternalError", "An internal error has occurred", 500)
    fault = aws.proxy.add(Fault(lambda r: r.service == "ec2" and r.region == "eu-west-1"
                                and r.action == "DescribeInstances", status, body))
    code, summary = sync(config, catalog)
    assert code == 1 and fault.hits >= 2  # retried before giving up
    failed = {(s["region"], s["resource_type"], s["error_code"]) for s in summary["failed_scopes"]}
    assert failed == {("eu-west-1", "ec2:instance", "InternalError")}
    after = rows(catalog, "SELECT arn FROM current_resources WHERE region = 'eu-west-1' AND service = 'ec2' ORDER BY 1")
    assert after == before
    failed_rows = run_cli("query", "failed-scopes", "--catalog", str(catalog), "--format", "json")
    assert {r["error_code"] for r in json.loads(failed_rows.output)} == {"InternalError"}


def test_access_denied_scope_is_skipped_not_emptied(aws: OrgEnv, config: str, tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    assert sync(config, catalog)[0] == 0
    count = rows(catalog, "SELECT count(*) FROM current_resources WHERE resource_type = 'lambda:function'")[0][0]
    body = json.dumps({"__type": "AccessDeniedException",
                       "Message": "explicit deny in a service control policy"}).encode()
    aws.proxy.add(Fault(lambda r: r.service == "lambda" and r.region == "us-east-1", 403, body,
                        content_type="application/json"))
    code, summary = sync(config, catalog)
    assert code == 0  # legitimately skipped
    skipped = {(s["region"], s["resource_type"]) for s in summary["skipped_scopes"]}
    assert skipped == {("us-east-1", "lambda:function")}
    assert rows(catalog, "SELECT count(*) FROM current_resources WHERE resource_type = 'lambda:function'")[0][0] == count


def test_throttling_is_retried_until_it_succeeds(aws: OrgEnv, config: str, tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    status, body = ec2_error("RequestLimitExceeded", "Request limit exceeded.", 503)
    fault = aws.proxy.add(Fault(lambda r: r.service == "ec2" and r.action == "DescribeInstances",
                                status, body, times=3))
    result = run_cli("sync", config, "--catalog", str(catalog), "--json", "--rate-scale", "20")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)[0]
    assert fault.hits == 3 and summary["throttles"] >= 3 and summary["scopes"]["failed"] == 0
    assert rows(catalog, "SELECT count(*) FROM current_resources WHERE resource_type = 'ec2:instance'")[0][0] == 16


def test_unreachable_organization_is_an_error_without_data_loss(aws: OrgEnv, config: str, tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    assert sync(config, catalog)[0] == 0
    total = rows(catalog, "SELECT count(*) FROM current_resources")[0][0]
    body = json.dumps({"__type": "AccessDeniedException", "Message": "no"}).encode()
    aws.proxy.add(Fault(lambda r: r.service == "organizations", 400, body, content_type="application/x-amz-json-1.1"))
    code, summary = sync(config, catalog)
    assert code == 1 and summary["status"] == "failed" and "AccessDeniedException" in summary["error"]
    assert rows(catalog, "SELECT count(*) FROM current_resources")[0][0] == total
    assert rows(catalog, "SELECT status, status_reason LIKE '%AccessDenied%' FROM integrations") == [("error", True)]


def test_deleted_resources_are_marked_after_the_next_sync(aws: OrgEnv, config: str, tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    assert sync(config, catalog)[0] == 0
    account = aws.org.account_ids["shared-a"]
    creds = member_credentials(aws.org.endpoint, account)
    ec2 = boto3.client("ec2", **client_kwargs(aws.org.endpoint, "eu-west-1", creds))
    [instance_arn] = [a for a, v in aws.org.resources.items()
                      if v[0] == account and v[1] == "eu-west-1" and v[2] == "ec2:instance" and "owner" in v[3]]
    ec2.terminate_instances(InstanceIds=[instance_arn.rsplit("/", 1)[1]])
    secrets = boto3.client("secretsmanager", **client_kwargs(aws.org.endpoint, "us-east-1", creds))
    [secret_arn] = [a for a, v in aws.org.resources.items()
                    if v[0] == account and v[1] == "us-east-1" and v[2] == "secretsmanager:secret" and not v[3]]
    secrets.delete_secret(SecretId=secret_arn, ForceDeleteWithoutRecovery=True)

    code, summary = sync(config, catalog)
    assert code == 0 and summary["resources"]["deleted"] == 2 and summary["resources"]["added"] == 0
    deleted = {r[0] for r in rows(catalog, "SELECT arn FROM resources WHERE deleted_at IS NOT NULL")}
    assert deleted == {instance_arn, secret_arn}
    changes = json.loads(run_cli("query", "changes-since", "-p", "since=1", "--catalog", str(catalog),
                                 "--format", "json").output)
    assert {(c["arn"], c["change"]) for c in changes} == {(instance_arn, "deleted"), (secret_arn, "deleted")}
