"""Helpers for the orgsim tests: real boto3 clients against a running simulator."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

import orgsim

NO_RETRY = Config(retries={"total_max_attempts": 1}, max_pool_connections=4)


_SESSION: boto3.Session | None = None


def session(sim: orgsim.Simulator) -> boto3.Session:
    """One shared session: it caches the service models, so clients are cheap to make."""
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.Session(region_name="us-east-1")
    return _SESSION


def client(sim: orgsim.Simulator, service: str, region: str = "us-east-1",
           creds: dict[str, Any] | None = None) -> Any:
    keys = (
        {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        if creds is None
        else {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
    )
    return session(sim).client(
        service, endpoint_url=sim.endpoint_url, region_name=region, config=NO_RETRY, **keys
    )


def assume(sim: orgsim.Simulator, account_id: str, role: str = "OrganizationAccountAccessRole") -> dict[str, Any]:
    sts = client(sim, "sts")
    out = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="tests")
    return out["Credentials"]


def creds_for(sim: orgsim.Simulator, account_index: int) -> dict[str, Any] | None:
    """Base credentials for the management account, assumed ones for members."""
    if account_index == 0:
        return None
    return assume(sim, sim.world.org.accounts[account_index].account_id)


def error_code(exc: Exception) -> str:
    return exc.response["Error"]["Code"]  # type: ignore[attr-defined]


def collect_services(sim: orgsim.Simulator, account_index: int) -> dict[str, dict[str, str]]:
    """Every resource of one account through the per-service APIs: arn -> tags."""
    creds = creds_for(sim, account_index)
    acct = sim.world.org.accounts[account_index]
    out: dict[str, dict[str, str]] = {}

    def tagdict(pairs: list[dict[str, str]]) -> dict[str, str]:
        return {p["Key"]: p["Value"] for p in pairs}

    iam = client(sim, "iam", creds=creds)
    for page in iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 7}):
        for r in page["Roles"]:
            out[r["Arn"]] = tagdict(iam.list_role_tags(RoleName=r["RoleName"])["Tags"])
    for page in iam.get_paginator("list_users").paginate():
        for u in page["Users"]:
            out[u["Arn"]] = tagdict(iam.list_user_tags(UserName=u["UserName"])["Tags"])
    for page in iam.get_paginator("list_groups").paginate():
        for g in page["Groups"]:
            out[g["Arn"]] = {}
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        for p in page["Policies"]:
            out[p["Arn"]] = tagdict(iam.list_policy_tags(PolicyArn=p["Arn"])["Tags"])
    s3 = client(sim, "s3", creds=creds)
    for page in s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 3}):
        for b in page["Buckets"]:
            try:
                tags = tagdict(s3.get_bucket_tagging(Bucket=b["Name"])["TagSet"])
            except s3.exceptions.ClientError as exc:
                assert error_code(exc) == "NoSuchTagSet"
                tags = {}
            out[f"arn:aws:s3:::{b['Name']}"] = tags
    for region in acct.regions:
        ec2 = client(sim, "ec2", region, creds)
        for page in ec2.get_paginator("describe_instances").paginate(
            PaginationConfig={"PageSize": 5}
        ):
            for rv in page["Reservations"]:
                for i in rv["Instances"]:
                    arn = f"arn:aws:ec2:{region}:{acct.account_id}:instance/{i['InstanceId']}"
                    out[arn] = tagdict(i.get("Tags", []))
        rds = client(sim, "rds", region, creds)
        for page in rds.get_paginator("describe_db_instances").paginate(
            PaginationConfig={"PageSize": 20}
        ):
            for d in page["DBInstances"]:
                out[d["DBInstanceArn"]] = tagdict(d["TagList"])
        eks = client(sim, "eks", region, creds)
        for page in eks.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2}):
            for name in page["clusters"]:
                c = eks.describe_cluster(name=name)["cluster"]
                out[c["arn"]] = c.get("tags", {})
        lam = client(sim, "lambda", region, creds)
        for page in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 4}):
            for f in page["Functions"]:
                out[f["FunctionArn"]] = lam.list_tags(Resource=f["FunctionArn"])["Tags"]
        ddb = client(sim, "dynamodb", region, creds)
        for page in ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 3}):
            for name in page["TableNames"]:
                arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
                out[arn] = tagdict(ddb.list_tags_of_resource(ResourceArn=arn)["Tags"])
        sm = client(sim, "secretsmanager", region, creds)
        for page in sm.get_paginator("list_secrets").paginate(PaginationConfig={"PageSize": 3}):
            for sec in page["SecretList"]:
                out[sec["ARN"]] = tagdict(sec.get("Tags", []))
    return out


def truth_by_account(sim: orgsim.Simulator) -> dict[str, dict[str, dict[str, str]]]:
    out: dict[str, dict[str, dict[str, str]]] = {}
    for row in sim.truth():
        out.setdefault(row["account_id"], {})[row["arn"]] = row["tags"]
    return out
