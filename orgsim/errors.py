"""AWS errors raised by handlers and rendered by the protocol of the called service."""

from __future__ import annotations

from dataclasses import dataclass

from orgsim.registry import ServiceSpec


class AwsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, sender: bool = True) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender


@dataclass(frozen=True)
class _Kind:
    query: tuple[str, int]
    ec2: tuple[str, int]
    json: tuple[str, int]
    rest_json: tuple[str, int]
    rest_xml: tuple[str, int]

    def pick(self, protocol: str) -> tuple[str, int]:
        return {
            "query": self.query,
            "ec2": self.ec2,
            "json": self.json,
            "rest-json": self.rest_json,
            "rest-xml": self.rest_xml,
        }[protocol]


# Authentication failures look different in each protocol; these are the codes AWS sends.
_INVALID_TOKEN = _Kind(
    query=("InvalidClientTokenId", 403),
    ec2=("AuthFailure", 401),
    json=("UnrecognizedClientException", 400),
    rest_json=("UnrecognizedClientException", 403),
    rest_xml=("InvalidAccessKeyId", 403),
)
_EXPIRED = _Kind(
    query=("ExpiredToken", 403),
    ec2=("RequestExpired", 400),
    json=("ExpiredTokenException", 400),
    rest_json=("ExpiredTokenException", 403),
    rest_xml=("ExpiredToken", 400),
)
_MISSING_AUTH = _Kind(
    query=("MissingAuthenticationToken", 403),
    ec2=("AuthFailure", 401),
    json=("MissingAuthenticationTokenException", 400),
    rest_json=("MissingAuthenticationTokenException", 403),
    rest_xml=("AccessDenied", 403),
)
_UNKNOWN_OP = _Kind(
    query=("InvalidAction", 400),
    ec2=("InvalidAction", 400),
    json=("UnknownOperationException", 400),
    rest_json=("UnknownOperationException", 404),
    rest_xml=("NotImplemented", 501),
)


def invalid_token(spec: ServiceSpec) -> AwsError:
    code, status = _INVALID_TOKEN.pick(spec.protocol)
    return AwsError(code, "The security token included in the request is invalid.", status)


def region_not_enabled(spec: ServiceSpec, region: str) -> AwsError:
    """An opt-in region the account has not enabled rejects the credentials outright."""
    code, status = _INVALID_TOKEN.pick(spec.protocol)
    if spec.protocol == "ec2":
        msg = "AWS was not able to validate the provided access credentials"
    else:
        msg = "The security token included in the request is invalid."
    return AwsError(code, msg, status)


def expired(spec: ServiceSpec) -> AwsError:
    code, status = _EXPIRED.pick(spec.protocol)
    return AwsError(code, "The security token included in the request is expired", status)


def missing_auth(spec: ServiceSpec) -> AwsError:
    code, status = _MISSING_AUTH.pick(spec.protocol)
    return AwsError(code, "Request is missing Authentication Token", status)


def unknown_operation(spec: ServiceSpec, op: str) -> AwsError:
    code, status = _UNKNOWN_OP.pick(spec.protocol)
    return AwsError(code, f"The operation {op or '(none)'} is not supported by orgsim.", status)


def access_denied(spec: ServiceSpec, caller_arn: str, action: str, scp: bool = False) -> AwsError:
    code, status = spec.access_denied
    reason = "with an explicit deny in a service control policy" if scp else (
        "because no identity-based policy allows the action"
    )
    return AwsError(
        code, f"User: {caller_arn} is not authorized to perform: {action} {reason}", status
    )


def throttled(spec: ServiceSpec) -> AwsError:
    code, status = spec.throttle
    msg = "Please reduce your request rate." if code == "SlowDown" else "Rate exceeded"
    return AwsError(code, msg, status)


def server_error(spec: ServiceSpec) -> AwsError:
    code, status = spec.server_error
    return AwsError(code, "We encountered an internal error. Please try again.", status, False)


def invalid(spec: ServiceSpec, message: str) -> AwsError:
    code, status = spec.validation
    return AwsError(code, message, status)
