"""Recorded service responses, as botocore hands them back after parsing.

Shapes follow the botocore service models (1.40): timestamps are tz-aware datetimes (botocore's
default parser gives dateutil's tzutc()), Lambda's LastModified stays a string (the model types it
as a string), optional members are simply absent. ResponseMetadata is kept where it helps show that
normalizers ignore it. Account 111111111111 is the member account of every page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dateutil.tz import tzutc

ACCOUNT = "111111111111"
UTC = tzutc()

_META = {"RequestId": "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE", "HTTPStatusCode": 200, "RetryAttempts": 0}


def ts(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- EC2 DescribeInstances (eu-west-1) -------------------------------------------------------------

EC2_DESCRIBE_INSTANCES: dict[str, Any] = {
    "Reservations": [
        {
            "ReservationId": "r-0b8f6c3e2a1d4e5f6",
            "OwnerId": ACCOUNT,
            "Groups": [],
            "Instances": [
                {
                    "AmiLaunchIndex": 0,
                    "ImageId": "ami-0c1c30571d2dae5c9",
                    "InstanceId": "i-0a1b2c3d4e5f60001",
                    "InstanceType": "t3.micro",
                    "LaunchTime": ts(2024, 3, 4, 10, 15, 2),
                    "Monitoring": {"State": "disabled"},
                    "Placement": {"AvailabilityZone": "eu-west-1a", "GroupName": "", "Tenancy": "default"},
                    "PrivateDnsName": "ip-10-0-1-12.eu-west-1.compute.internal",
                    "PrivateIpAddress": "10.0.1.12",
                    "State": {"Code": 16, "Name": "running"},
                    "SubnetId": "subnet-0aa11bb22cc33dd44",
                    "VpcId": "vpc-0123456789abcdef0",
                    "Architecture": "x86_64",
                    "IamInstanceProfile": {
                        "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/web",
                        "Id": "AIPAEXAMPLEPROFILE01",
                    },
                    "Tags": [
                        {"Key": "Name", "Value": "web-1"},
                        {"Key": "owner", "Value": "alice"},
                        {"Key": "env", "Value": "prod"},
                    ],
                    "PlatformDetails": "Linux/UNIX",
                },
                {
                    "AmiLaunchIndex": 1,
                    "ImageId": "ami-0c1c30571d2dae5c9",
                    "InstanceId": "i-0a1b2c3d4e5f60002",
                    "InstanceType": "t3.micro",
                    "LaunchTime": ts(2024, 3, 4, 10, 15, 2),
                    "Placement": {"AvailabilityZone": "eu-west-1b", "GroupName": "", "Tenancy": "default"},
                    "State": {"Code": 48, "Name": "terminated"},
                    "StateTransitionReason": "User initiated (2024-05-01 08:00:00 GMT)",
                    "Tags": [{"Key": "Name", "Value": "web-2"}],
                    "PlatformDetails": "Linux/UNIX",
                },
            ],
        },
        {
            "ReservationId": "r-0c9d8e7f6a5b4c3d2",
            "OwnerId": ACCOUNT,
            "Groups": [],
            "Instances": [
                {
                    "ImageId": "ami-0fedcba9876543210",
                    "InstanceId": "i-0a1b2c3d4e5f60003",
                    "InstanceType": "m7g.large",
                    "LaunchTime": ts(2024, 6, 1, 0, 0, 0),
                    "Placement": {"AvailabilityZone": "eu-west-1c", "GroupName": "", "Tenancy": "default"},
                    "PrivateIpAddress": "10.0.3.40",
                    "State": {"Code": 80, "Name": "stopped"},
                    "SubnetId": "subnet-0ee55ff66aa77bb88",
                    "VpcId": "vpc-0123456789abcdef0",
                    "PlatformDetails": "Linux/UNIX",
                    # no Tags member at all: an untagged instance
                },
            ],
        },
    ],
    "ResponseMetadata": _META,
}


# --- RDS DescribeDBInstances (eu-west-1) -----------------------------------------------------------

RDS_DESCRIBE_DB_INSTANCES: dict[str, Any] = {
    "DBInstances": [
        {
            "DBInstanceIdentifier": "orders-db",
            "DBInstanceClass": "db.t3.medium",
            "Engine": "postgres",
            "DBInstanceStatus": "available",
            "MasterUsername": "postgres",
            "Endpoint": {"Address": "orders-db.abcdefghij.eu-west-1.rds.amazonaws.com", "Port": 5432},
            "AllocatedStorage": 20,
            "InstanceCreateTime": ts(2023, 11, 20, 9, 30, 0),
            "MultiAZ": False,
            "EngineVersion": "16.3",
            "DbiResourceId": "db-ABCDEFGHIJKLMNOPQRSTUVWXY1",
            "DBInstanceArn": f"arn:aws:rds:eu-west-1:{ACCOUNT}:db:orders-db",
            "TagList": [{"Key": "owner", "Value": "bob"}, {"Key": "team", "Value": "payments"}],
        },
        {
            "DBInstanceIdentifier": "legacy-mysql",
            "DBInstanceClass": "db.m5.large",
            "Engine": "mysql",
            "DBInstanceStatus": "stopped",
            "MultiAZ": True,
            "EngineVersion": "8.0.35",
            "TagList": [],
            # an old emulator page without DBInstanceArn: the ARN is built from the scope
        },
    ],
    "ResponseMetadata": _META,
}


# --- S3 ListBuckets (sent with MaxBuckets, so BucketRegion is present when the endpoint knows it) ---

S3_LIST_BUCKETS: dict[str, Any] = {
    "Buckets": [
        {
            "Name": "acme-logs",
            "CreationDate": ts(2022, 1, 10, 12, 0, 0),
            "BucketRegion": "eu-west-1",
            "BucketArn": "arn:aws:s3:::acme-logs",
        },
        {"Name": "acme-legacy", "CreationDate": ts(2015, 6, 1, 8, 0, 0)},  # no BucketRegion
    ],
    "Owner": {"DisplayName": "acme", "ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
    "Prefix": None,
    "ResponseMetadata": _META,
}


# --- IAM (global) ----------------------------------------------------------------------------------

# GetAccountAuthorizationDetails, Filter=["Role"] / ["User"]: tags inline, the other lists empty.
IAM_AUTH_DETAILS_ROLES: dict[str, Any] = {
    "UserDetailList": [],
    "GroupDetailList": [],
    "RoleDetailList": [
        {
            "Path": "/",
            "RoleName": "deployer",
            "RoleId": "AROAEXAMPLEDEPLOYER1",
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/deployer",
            "CreateDate": ts(2021, 4, 2, 15, 3, 0),
            "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%7D",
            "InstanceProfileList": [],
            "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": "%7B%7D"}],
            "AttachedManagedPolicies": [
                {"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
            ],
            "Tags": [{"Key": "owner", "Value": "platform"}, {"Key": "cost-center", "Value": "42"}],
            "RoleLastUsed": {"LastUsedDate": ts(2024, 7, 1, 9, 0, 0), "Region": "us-east-1"},
        },
        {
            "Path": "/service-role/",
            "RoleName": "lambda-exec",
            "RoleId": "AROAEXAMPLELAMBDAEX1",
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/service-role/lambda-exec",
            "CreateDate": ts(2022, 8, 9, 7, 0, 0),
            "InstanceProfileList": [],
            "RolePolicyList": [],
            "AttachedManagedPolicies": [],
            "Tags": [],
            "RoleLastUsed": {},
        },
    ],
    "Policies": [],
    "IsTruncated": False,
    "ResponseMetadata": _META,
}

IAM_AUTH_DETAILS_USERS: dict[str, Any] = {
    "UserDetailList": [
        {
            "Path": "/",
            "UserName": "alice",
            "UserId": "AIDAEXAMPLEALICE0001",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
            "CreateDate": ts(2020, 2, 2, 2, 2, 2),
            "UserPolicyList": [],
            "GroupList": ["admins"],
            "AttachedManagedPolicies": [],
            "Tags": [{"Key": "owner", "Value": "alice@example.com"}],
        },
    ],
    "GroupDetailList": [],
    "RoleDetailList": [],
    "Policies": [],
    "IsTruncated": False,
    "ResponseMetadata": _META,
}

IAM_LIST_GROUPS: dict[str, Any] = {
    "Groups": [
        {
            "Path": "/",
            "GroupName": "admins",
            "GroupId": "AGPAEXAMPLEADMINS001",
            "Arn": f"arn:aws:iam::{ACCOUNT}:group/admins",
            "CreateDate": ts(2020, 1, 1, 0, 0, 0),
        },
    ],
    "IsTruncated": False,
    "ResponseMetadata": _META,
}

IAM_LIST_POLICIES: dict[str, Any] = {
    "Policies": [
        {
            "PolicyName": "read-logs",
            "PolicyId": "ANPAEXAMPLEREADLOGS1",
            "Arn": f"arn:aws:iam::{ACCOUNT}:policy/read-logs",
            "Path": "/",
            "DefaultVersionId": "v3",
            "AttachmentCount": 2,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": ts(2021, 1, 1, 0, 0, 0),
            "UpdateDate": ts(2023, 1, 1, 0, 0, 0),
        },
    ],
    "IsTruncated": False,
    "ResponseMetadata": _META,
}

IAM_LIST_POLICY_TAGS: dict[str, Any] = {
    "Tags": [{"Key": "owner", "Value": "platform"}, {"Key": "cost-center", "Value": "42"}],
    "IsTruncated": False,
    "ResponseMetadata": _META,
}


# --- EKS (eu-west-1): ListClusters gives names, DescribeCluster the rest ---------------------------

EKS_LIST_CLUSTERS: dict[str, Any] = {"clusters": ["prod", "staging"], "ResponseMetadata": _META}

EKS_DESCRIBE_CLUSTER_PROD: dict[str, Any] = {
    "cluster": {
        "name": "prod",
        "arn": f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/prod",
        "createdAt": ts(2024, 1, 15, 11, 22, 33),
        "version": "1.30",
        "endpoint": "https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/eks-cluster",
        "status": "ACTIVE",
        "platformVersion": "eks.8",
        "tags": {"owner": "carol", "env": "prod"},
    },
    "ResponseMetadata": _META,
}

EKS_DESCRIBE_CLUSTER_STAGING: dict[str, Any] = {
    "cluster": {
        "name": "staging",
        "arn": f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/staging",
        "createdAt": ts(2024, 2, 1, 0, 0, 0),
        "version": "1.31",
        "status": "CREATING",
        # a cluster being created has no endpoint yet and no tags member
    },
    "ResponseMetadata": _META,
}


# --- Lambda ListFunctions (eu-west-1) --------------------------------------------------------------

LAMBDA_LIST_FUNCTIONS: dict[str, Any] = {
    "Functions": [
        {
            "FunctionName": "resize-images",
            "FunctionArn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:resize-images",
            "Runtime": "python3.12",
            "Role": f"arn:aws:iam::{ACCOUNT}:role/service-role/lambda-exec",
            "Handler": "app.handler",
            "CodeSize": 10240,
            "Description": "",
            "Timeout": 30,
            "MemorySize": 256,
            "LastModified": "2024-05-01T10:00:00.000+0000",
            "CodeSha256": "aGVsbG8gd29ybGQ=",
            "Version": "$LATEST",
            "PackageType": "Zip",
            "Architectures": ["arm64"],
        },
        {
            "FunctionName": "from-image",
            "FunctionArn": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:from-image",
            "Role": f"arn:aws:iam::{ACCOUNT}:role/service-role/lambda-exec",
            "MemorySize": 1024,
            "LastModified": "2024-06-01T00:00:00.000+0000",
            "PackageType": "Image",
            # container-image functions have no Runtime or Handler
        },
    ],
    "ResponseMetadata": _META,
}

LAMBDA_LIST_TAGS: dict[str, Any] = {"Tags": {"owner": "dave", "app": "media"}, "ResponseMetadata": _META}


# --- DynamoDB DescribeTable (eu-west-1) ------------------------------------------------------------

DYNAMODB_DESCRIBE_TABLE: dict[str, Any] = {
    "Table": {
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "TableName": "orders",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "TableStatus": "ACTIVE",
        "CreationDateTime": ts(2023, 3, 3, 3, 3, 3),
        "ProvisionedThroughput": {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
        "TableSizeBytes": 1048576,
        "ItemCount": 4200,
        "TableArn": f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders",
        "TableId": "0c5b8f1e-1111-2222-3333-444455556666",
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "DeletionProtectionEnabled": False,
    },
    "ResponseMetadata": _META,
}

DYNAMODB_LIST_TAGS_OF_RESOURCE: dict[str, Any] = {
    "Tags": [{"Key": "owner", "Value": "erin"}],
    "ResponseMetadata": _META,
}


# --- Secrets Manager ListSecrets (eu-west-1) -------------------------------------------------------

SECRETS_LIST_SECRETS: dict[str, Any] = {
    "SecretList": [
        {
            "ARN": f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:db/password-AbCdEf",
            "Name": "db/password",
            "Description": "orders-db master password",
            "RotationEnabled": True,
            "LastRotatedDate": ts(2024, 7, 1, 0, 0, 0),
            "LastChangedDate": ts(2024, 7, 1, 0, 0, 1),
            "LastAccessedDate": ts(2024, 7, 2, 0, 0, 0),
            "Tags": [{"Key": "owner", "Value": "bob"}, {"Key": "Name", "Value": "not-the-name"}],
            "SecretVersionsToStages": {"a1b2c3": ["AWSCURRENT"]},
            "CreatedDate": ts(2023, 11, 20, 9, 31, 0),
            "PrimaryRegion": "eu-west-1",
        },
        {
            "ARN": f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:api-key-ZyXwVu",
            "Name": "api-key",
            "CreatedDate": ts(2024, 1, 1, 0, 0, 0),
            # RotationEnabled is absent for secrets that never had rotation configured
        },
    ],
    "ResponseMetadata": _META,
}
