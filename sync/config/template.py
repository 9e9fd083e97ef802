"""Commented starting-point config files, one per integration kind.

Required keys are written with placeholder values; optional keys are written
commented out (`# key = value`) so the file works as soon as the placeholders
are edited, and uncommenting any optional line still gives a valid file.
The tests hold both of those true.
"""

from __future__ import annotations

from typing import Literal

_HEADER = """\
# orgsync configuration. Each [[integration]] table is one AWS account or one
# AWS Organization to discover into the catalog. Add more [[integration]]
# tables to sync several; `name` must be unique in this file.
# Lines starting with "# key =" are optional settings: remove the "# " to use them.

[[integration]]
"""

_ACCOUNT = """\
# Required. Your label for this integration: 1-64 letters, digits, - or _.
name = "my-account"
# Required. "aws-account" syncs the single account your credentials reach.
type = "aws-account"
# Required. Region used for global API calls (IAM, STS, S3 bucket listing).
region = "us-east-1"

# Optional. AWS CLI profile (~/.aws/config) to take credentials from.
# Unset: the standard SDK credential chain (env vars, SSO, instance role...).
# aws_profile = "apono"
"""

_ORGANIZATION = """\
# Required. Your label for this integration: 1-64 letters, digits, - or _.
name = "my-org"
# Required. "aws-organization" syncs every account of the Organization.
type = "aws-organization"
# Required. Region used for global API calls (Organizations, IAM, STS).
region = "us-east-1"
# Required. Region of your IAM Identity Center (SSO) instance.
sso_region = "us-east-1"
# Required. Your IAM Identity Center AWS access portal URL.
sso_portal = "https://my-org.awsapps.com/start"

# Optional. Role in the management account to assume first.
# Unset: use your current credentials directly (they must be management-account ones).
# management_account_role_arn = "arn:aws:iam::111111111111:role/orgsync-management"
# Optional. Role assumed in each member account. Default: OrganizationAccountAccessRole.
# member_role_name = "OrganizationAccountAccessRole"
# Optional. External ID passed when assuming roles, if their trust policy requires one.
# external_id = "orgsync-7f3a9c"
# Optional. Organizational units to skip, with every account below them.
# exclude_organization_unit_ids = ["ou-ab12-11111111"]
# Optional. Accounts to skip. Quote the 12-digit IDs (TOML numbers drop leading zeros).
# exclude_account_ids = ["012345678901"]
"""

_COMMON_OPTIONAL = """\
# Optional. Regions to sync. Unset: every region enabled in each account.
# regions = ["us-east-1", "eu-west-1"]
# Optional. Resource types to sync. Unset: every type orgsync supports.
# resource_types = ["ec2:instance", "s3:bucket", "iam:role"]
# Optional. Minutes between refreshes, per resource type (must be synced types).
# refresh_minutes = { "iam:role" = 60 }
# Optional. Rotate credentials created through this integration every N days (1-3650).
# credential_rotation_days = 90
# Optional. Delete users created for access N days after that access is revoked (1-3650).
# user_cleanup_days = 30
# Optional. Instructions telling users how to reach this integration's resources
# (at most 400 characters).
# custom_access_details = "Connect through the SSO portal."
# Optional. Who approves access when no resource owner is found:
# attribute is "user" or "group"; values are user emails or group names.
# integration_owner = { attribute = "group", values = ["platform-admins"] }
# Optional, needs integration_owner. Tag naming each resource's owner, and
# whether its value is a "user" or a "group".
# resource_owner = { tag_key = "owner", attribute = "group" }
"""


def render_template(kind: Literal["account", "organization"]) -> str:
    """Return a commented config file for one integration of `kind`."""
    if kind == "account":
        body = _ACCOUNT
    elif kind == "organization":
        body = _ORGANIZATION
    else:
        raise ValueError(f"unknown template kind {kind!r}; expected 'account' or 'organization'")
    return f"{_HEADER}{body}\n{_COMMON_OPTIONAL}"
