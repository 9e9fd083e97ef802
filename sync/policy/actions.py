"""From a botocore (service, operation) to the IAM action that authorizes it."""

from __future__ import annotations

from sync.sources.spec import iam_action

# botocore service name -> IAM action prefix, where the two differ.
IAM_PREFIXES = {"sso-admin": "sso", "resourcegroupstaggingapi": "tag", "elbv2": "elasticloadbalancing"}


def policy_action(service: str, operation: str) -> str:
    """`sso-admin` ListInstances is `sso:ListInstances`; operation-name exceptions come from iam_action."""
    action = iam_action(service, operation)
    prefix = IAM_PREFIXES.get(service)
    return f"{prefix}:{action.split(':', 1)[1]}" if prefix else action
