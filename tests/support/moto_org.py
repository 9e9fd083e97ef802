"""A small AWS Organization in a moto server: nested OUs, several accounts, every resource type.

What is created is returned as `SeededOrg`, the ground truth the tests compare the catalog with.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3

REGIONS = ("us-east-1", "eu-west-1")
MEMBER_ROLE = "OrganizationAccountAccessRole"


@dataclass
class SeededOrg:
    endpoint: str
    management_id: str
    ou_ids: dict[str, str]  # path -> ou id
    account_ids: dict[str, str]  # account name -> id
    # arn -> (account_id, region, resource_type, tags)
    resources: dict[str, tuple[str, str, str, dict[str, str]]] = field(default_factory=dict)

    def expected(self, accounts: set[str] | None = None) -> dict[str, tuple[str, str, str, dict[str, str]]]:
        return {arn: v for arn, v in self.resources.items() if accounts is None or v[0] in accounts}


def client_kwargs(endpoint: str, region: str = "us-east-1", creds: dict[str, str] | None = None) -> dict[str, Any]:
    kw: dict[str, Any] = {"endpoint_url": endpoint, "region_name": region}
    if creds:
        kw.update(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                  aws_session_token=creds["SessionToken"])
    else:
        kw.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    return kw


def member_credentials(endpoint: str, account_id: str) -> dict[str, str]:
    sts = boto3.client("sts", **client_kwargs(endpoint))
    return sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{MEMBER_ROLE}",
                           RoleSessionName="seed")["Credentials"]


def _lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def seed_account_resources(org: SeededOrg, account_id: str, label: str, owner: str | None) -> None:
    """Every type, once with an owner tag (when `owner`) and once without, in both regions."""
    creds = None if account_id == org.management_id else member_credentials(org.endpoint, account_id)
    tagged = {"owner": owner, "team": label} if owner else {"team": label}
    untagged: dict[str, str] = {}

    def add(arn: str, region: str, rtype: str, tags: dict[str, str]) -> None:
        org.resources[arn] = (account_id, region, rtype, dict(tags))

    iam = boto3.client("iam", **client_kwargs(org.endpoint, creds=creds))
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    for suffix, tags in (("owned", tagged), ("plain", untagged)):
        role = iam.create_role(RoleName=f"{label}-role-{suffix}", AssumeRolePolicyDocument=trust, Tags=_tag_list(tags))["Role"]
        add(role["Arn"], "global", "iam:role", tags)
        user = iam.create_user(UserName=f"{label}-user-{suffix}", Tags=_tag_list(tags))["User"]
        add(user["Arn"], "global", "iam:user", tags)
        policy = iam.create_policy(PolicyName=f"{label}-policy-{suffix}", Tags=_tag_list(tags),
                                   PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))["Policy"]
        add(policy["Arn"], "global", "iam:policy", tags)
    group = iam.create_group(GroupName=f"{label}-group")["Group"]
    add(group["Arn"], "global", "iam:group", {})
    role_arn = iam.get_role(RoleName=f"{label}-role-owned")["Role"]["Arn"]

    for region in REGIONS:
        kw = client_kwargs(org.endpoint, region, creds)
        short = region.replace("-", "")
        for suffix, tags in (("owned", tagged), ("plain", untagged)):
            name = f"{label}-{short}-{suffix}"
            ec2 = boto3.client("ec2", **kw)
            spec = {"ResourceType": "instance", "Tags": _tag_list(dict(tags, Name=name))}
            inst = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                     TagSpecifications=[spec])["Instances"][0]
            add(f"arn:aws:ec2:{region}:{account_id}:instance/{inst['InstanceId']}", region, "ec2:instance",
                dict(tags, Name=name))

            s3 = boto3.client("s3", **kw)
            bucket = f"{name}-{account_id}"
            if region == "us-east-1":
                s3.create_bucket(Bucket=bucket)
            else:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
            if tags:
                s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tag_list(tags)})
            add(f"arn:aws:s3:::{bucket}", region, "s3:bucket", tags)

            db = boto3.client("rds", **kw).create_db_instance(
                DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
                MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20,
                Tags=_tag_list(tags))["DBInstance"]
            add(db["DBInstanceArn"], region, "rds:db", tags)

            cluster = boto3.client("eks", **kw).create_cluster(
                name=name, roleArn=role_arn, resourcesVpcConfig={"subnetIds": []}, tags=tags)["cluster"]
            add(cluster["arn"], region, "eks:cluster", tags)

            fn = boto3.client("lambda", **kw).create_function(
                FunctionName=name, Runtime="python3.11", Role=role_arn, Handler="handler.handler",
                Code={"ZipFile": _lambda_zip()}, Tags=tags)
            add(fn["FunctionArn"], region, "lambda:function", tags)

            table = boto3.client("dynamodb", **kw).create_table(
                TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST", Tags=_tag_list(tags))["TableDescription"]
            add(table["TableArn"], region, "dynamodb:table", tags)

            secret = boto3.client("secretsmanager", **kw).create_secret(
                Name=name, SecretString="s3cr3t", Tags=_tag_list(tags))
            add(secret["ARN"], region, "secretsmanager:secret", tags)


def seed_organization(endpoint: str) -> SeededOrg:
    """Root
         ├─ Prod ─ Payments        (accounts prod-a in Prod, payments-a in Payments)
         ├─ Sandbox ─ Experiments  (sandbox-a; excluded in tests as a subtree)
         └─ (root)                 (management, shared-a, excluded-a)
    """
    orgs = boto3.client("organizations", **client_kwargs(endpoint))
    management_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    root = orgs.list_roots()["Roots"][0]["Id"]

    def ou(name: str, parent: str) -> str:
        return orgs.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]

    ou_ids = {"Prod": ou("Prod", root), "Sandbox": ou("Sandbox", root)}
    ou_ids["Prod/Payments"] = ou("Payments", ou_ids["Prod"])
    ou_ids["Sandbox/Experiments"] = ou("Experiments", ou_ids["Sandbox"])
    placement = {"prod-a": "Prod", "payments-a": "Prod/Payments", "sandbox-a": "Sandbox/Experiments",
                 "shared-a": None, "excluded-a": None}
    org = SeededOrg(endpoint=endpoint, management_id=management_id, ou_ids=ou_ids,
                    account_ids={"management": management_id})
    for name, path in placement.items():
        account_id = orgs.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
        org.account_ids[name] = account_id
        if path:
            orgs.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ou_ids[path])
    owners = {"management": "platform-admins", "prod-a": "alice", "payments-a": "payments-team",
              "sandbox-a": "bob", "shared-a": "alice", "excluded-a": "carol"}
    for name, account_id in org.account_ids.items():
        seed_account_resources(org, account_id, name, owners[name])
    return org


def iter_arns(org: SeededOrg, *, account: str, resource_type: str) -> Iterator[str]:
    for arn, (acct, _, rtype, _) in org.resources.items():
        if acct == org.account_ids[account] and rtype == resource_type:
            yield arn
