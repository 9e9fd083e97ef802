"""AWS STS (query): AssumeRole into member accounts and GetCallerIdentity."""

from __future__ import annotations

import re

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.registry import ServiceSpec, operation, register_service
from orgsim.wire import el, iso

SPEC = register_service(
    ServiceSpec(
        signing_name="sts",
        protocol="query",
        xmlns="https://sts.amazonaws.com/doc/2011-06-15/",
        regional=False,
        throttle=("Throttling", 400),
        server_error=("InternalFailure", 500),
        access_denied=("AccessDenied", 403),
        validation=("ValidationError", 400),
        # STS: 600 requests per second per account per region (AWS STS quotas page).
        quotas={"*": (600.0, 600.0)},
        quota_per_op=False,
    )
)

_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")
_SESSION = re.compile(r"^[\w+=,.@-]{2,64}$")
_CHAINED_MAX = 3600  # role chaining caps a session at one hour


def _deny(call: Call, role_arn: str) -> AwsError:
    return AwsError(
        "AccessDenied",
        f"User: {call.caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
        f"{role_arn}",
        403,
    )


@operation("sts", "AssumeRole")
def assume_role(call: Call) -> str:
    role_arn = call.str_param("RoleArn", required=True) or ""
    session = call.str_param("RoleSessionName", required=True) or ""
    m = _ROLE_ARN.match(role_arn)
    if not m:
        raise call.invalid(f"{role_arn} is invalid")
    if not _SESSION.match(session):
        raise call.invalid(
            "1 validation error detected: Value at 'roleSessionName' failed to satisfy "
            "constraint: Member must have length between 2 and 64 and match [\\w+=,.@-]*"
        )
    cfg = call.world.scenario.organization
    duration = call.int_param("DurationSeconds", 3600, 900, 43200)
    if call.caller.assumed and duration > _CHAINED_MAX:
        raise call.invalid(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
            "by role chaining."
        )
    if duration > cfg.role_max_session_seconds:
        raise call.invalid(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
    account_id, role_name = m.group(1), m.group(2)
    org = call.world.org
    target = org.by_id.get(account_id)
    if target is None or (not org.enabled and target.index != 0):
        raise _deny(call, role_arn)
    if "*" not in cfg.role_names and role_name not in cfg.role_names:
        raise _deny(call, role_arn)
    if target.index == 0 and not cfg.management_has_role:
        raise _deny(call, role_arn)
    if target.state != "ACTIVE" or not target.assumable:
        raise _deny(call, role_arn)
    creds = call.world.creds.issue(account_id, role_name, session, duration)
    role_id = f"AROA{account_id}ORGSIM"
    return (
        "<Credentials>"
        + el("AccessKeyId", creds["AccessKeyId"])
        + el("SecretAccessKey", creds["SecretAccessKey"])
        + el("SessionToken", creds["SessionToken"])
        + el("Expiration", iso(float(creds["Expiration"])))  # type: ignore[arg-type]
        + "</Credentials><AssumedRoleUser>"
        + el("AssumedRoleId", f"{role_id}:{session}")
        + el("Arn", f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session}")
        + "</AssumedRoleUser>"
    )


@operation("sts", "GetCallerIdentity")
def get_caller_identity(call: Call) -> str:
    c = call.caller
    return el("UserId", c.user_id) + el("Account", c.account_id) + el("Arn", c.arn)
