"""The baseline: how a user lists an organization today with plain boto3, no orgsync.

Written the way such a script usually is: the Organizations ``list_accounts`` paginator,
``sts.assume_role`` into each ACTIVE member, ``ec2.describe_regions`` for its enabled regions,
then for every region and resource type a boto3 paginator plus the per-item tag/describe calls
the type needs (the same calls orgsync's specs make, for the same 11 types). boto3's
``standard`` retry mode with 10 attempts absorbs throttling. Results are kept as dicts in
memory; nothing is written to a database (orgsync's time includes its DuckDB commit).

Modes: ``sequential`` (accounts, regions and types one after another) and ``threads`` (a
ThreadPoolExecutor over accounts, one boto3 Session per account since sessions are not
thread-safe).

    AWS_ENDPOINT_URL=http://127.0.0.1:PORT python -m benchmarks.baseline --mode sequential

Prints one JSON object: resources (distinct ARNs), per-type counts, failed accounts, seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

CONFIG = Config(retries={"mode": "standard", "max_attempts": 10})
ROLE_NAME = "OrganizationAccountAccessRole"
Row = dict[str, Any]


def _tags(tag_list: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_list or ()}


def ec2_instances(s: boto3.Session, region: str) -> Iterator[Row]:
    ec2 = s.client("ec2", region_name=region, config=CONFIG)
    for page in ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 1000}):
        for res in page["Reservations"]:
            for i in res["Instances"]:
                if i["State"]["Name"] != "terminated":
                    arn = f"arn:aws:ec2:{region}:{res['OwnerId']}:instance/{i['InstanceId']}"
                    yield {"arn": arn, "type": "ec2:instance", "region": region, "tags": _tags(i.get("Tags"))}


def rds_instances(s: boto3.Session, region: str) -> Iterator[Row]:
    rds = s.client("rds", region_name=region, config=CONFIG)
    for page in rds.get_paginator("describe_db_instances").paginate(PaginationConfig={"PageSize": 100}):
        for db in page["DBInstances"]:
            yield {"arn": db["DBInstanceArn"], "type": "rds:db", "region": region, "tags": _tags(db.get("TagList"))}


def secrets(s: boto3.Session, region: str) -> Iterator[Row]:
    sm = s.client("secretsmanager", region_name=region, config=CONFIG)
    for page in sm.get_paginator("list_secrets").paginate(PaginationConfig={"PageSize": 100}):
        for sec in page["SecretList"]:
            yield {"arn": sec["ARN"], "type": "secretsmanager:secret", "region": region, "tags": _tags(sec.get("Tags"))}


def lambda_functions(s: boto3.Session, region: str) -> Iterator[Row]:
    lam = s.client("lambda", region_name=region, config=CONFIG)
    for page in lam.get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            tags = lam.list_tags(Resource=fn["FunctionArn"]).get("Tags", {})
            yield {"arn": fn["FunctionArn"], "type": "lambda:function", "region": region, "tags": tags}


def dynamodb_tables(s: boto3.Session, region: str) -> Iterator[Row]:
    ddb = s.client("dynamodb", region_name=region, config=CONFIG)
    for page in ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 100}):
        for name in page["TableNames"]:
            arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
            tags = ddb.list_tags_of_resource(ResourceArn=arn).get("Tags")
            yield {"arn": arn, "type": "dynamodb:table", "region": region, "tags": _tags(tags)}


def eks_clusters(s: boto3.Session, region: str) -> Iterator[Row]:
    eks = s.client("eks", region_name=region, config=CONFIG)
    for page in eks.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 100}):
        for name in page["clusters"]:
            c = eks.describe_cluster(name=name)["cluster"]
            yield {"arn": c["arn"], "type": "eks:cluster", "region": region, "tags": c.get("tags") or {}}


def s3_buckets(s: boto3.Session, region: str) -> Iterator[Row]:
    # PageSize sends MaxBuckets, which makes ListBuckets return each bucket's region.
    s3 = s.client("s3", region_name=region, config=CONFIG)
    regional: dict[str, Any] = {}
    for page in s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 1000}):
        for b in page["Buckets"]:
            where = b.get("BucketRegion") or "us-east-1"
            client = regional.get(where) or regional.setdefault(where, s.client("s3", region_name=where, config=CONFIG))
            try:
                tags = client.get_bucket_tagging(Bucket=b["Name"]).get("TagSet")
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
                if code == "AccessDenied":
                    continue  # an SCP denies the bucket's region: out of reach, like the region itself
                if code != "NoSuchTagSet":
                    raise
                tags = []
            yield {"arn": f"arn:aws:s3:::{b['Name']}", "type": "s3:bucket", "region": where, "tags": _tags(tags)}


def _iam(kind: str, list_op: str, key: str, tag_op: str | None, name_key: str,
         params: dict[str, Any] | None = None) -> Callable[[boto3.Session, str], Iterator[Row]]:
    def run(s: boto3.Session, region: str) -> Iterator[Row]:
        iam = s.client("iam", region_name=region, config=CONFIG)
        for page in iam.get_paginator(list_op).paginate(**(params or {}), PaginationConfig={"PageSize": 1000}):
            for item in page[key]:
                tags: list[dict[str, str]] = []
                if tag_op is not None:
                    arg = {"PolicyArn": item["Arn"]} if kind == "policy" else {name_key: item[name_key]}
                    tags = getattr(iam, tag_op)(**arg).get("Tags", [])
                yield {"arn": item["Arn"], "type": f"iam:{kind}", "region": "global", "tags": _tags(tags)}

    return run


REGIONAL = (ec2_instances, rds_instances, secrets, lambda_functions, dynamodb_tables, eks_clusters)
GLOBAL = (
    s3_buckets,
    _iam("role", "list_roles", "Roles", "list_role_tags", "RoleName"),
    _iam("user", "list_users", "Users", "list_user_tags", "UserName"),
    _iam("group", "list_groups", "Groups", None, "GroupName"),
    _iam("policy", "list_policies", "Policies", "list_policy_tags", "PolicyName", {"Scope": "Local"}),
)


def account_session(base: boto3.Session, account_id: str, management_id: str, region: str) -> boto3.Session:
    if account_id == management_id:
        return base
    creds = base.client("sts", region_name=region, config=CONFIG).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE_NAME}", RoleSessionName="inventory-script",
    )["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])


def sync_account(account_id: str, management_id: str, region: str) -> list[Row]:
    base = boto3.Session()  # one per call: boto3 sessions must not be shared across threads
    s = account_session(base, account_id, management_id, region)
    regions = [r["RegionName"] for r in s.client("ec2", region_name=region, config=CONFIG).describe_regions()["Regions"]
               if r.get("OptInStatus", "opt-in-not-required") in ("opt-in-not-required", "opted-in")]
    rows = [row for fn in GLOBAL for row in fn(s, region)]
    for r in regions:
        for fn in REGIONAL:
            try:
                rows.extend(fn(s, r))
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
                    raise  # an SCP denial skips the region, as orgsync does; anything else is a bug
    for row in rows:
        row["account_id"] = account_id
    return rows


def list_accounts(region: str) -> tuple[str, list[str]]:
    org = boto3.Session().client("organizations", region_name=region, config=CONFIG)
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    active = [a["Id"] for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"]
              if a.get("State", a.get("Status")) == "ACTIVE"]
    return management, active


def run(mode: str, region: str, workers: int) -> dict[str, Any]:
    start = time.perf_counter()
    management, accounts = list_accounts(region)
    rows: list[Row] = []
    failed: dict[str, str] = {}

    def one(account_id: str) -> tuple[str, list[Row] | str]:
        try:
            return account_id, sync_account(account_id, management, region)
        except ClientError as exc:
            return account_id, exc.response["Error"]["Code"]

    if mode == "sequential":
        results = [one(a) for a in accounts]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, accounts))
    for account_id, got in results:
        if isinstance(got, str):
            failed[account_id] = got
        else:
            rows.extend(got)
    arns = {r["arn"] for r in rows}
    return {
        "mode": mode, "workers": workers if mode == "threads" else 1,
        "seconds": round(time.perf_counter() - start, 3), "accounts": len(accounts),
        "failed_accounts": failed, "rows": len(rows), "resources": len(arns),
        "by_type": dict(sorted(Counter(r["type"] for r in rows).items())),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.baseline", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=("sequential", "threads"), default="sequential")
    p.add_argument("--workers", type=int, default=16, help="threads mode: accounts in parallel")
    p.add_argument("--region", default="us-east-1")
    args = p.parse_args(argv)
    json.dump(run(args.mode, args.region, args.workers), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
