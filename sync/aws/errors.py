"""Sort AWS errors into what a scope does with them: retry, skip, or fail.

The three classes come from the design notes: *skipped* scopes (region not enabled, service not
offered, access denied by policy or SCP) and *failed* ones keep their catalog rows; only
*retryable* errors are retried, and only for a bounded budget.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

import aiohttp
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError as BotoConnectionError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
        "RequestThrottledException",
        "EC2ThrottledException",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
    }
)

# Not an error of the scope: the account or region simply does not offer this to us.
SKIP_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "AuthorizationError",
        "OptInRequired",
        "SubscriptionRequiredException",
        "InvalidClientTokenId",  # answered by regions that are not enabled for the account
        "UnrecognizedClientException",
        "AuthFailure",
    }
)

TRANSIENT_CODES = frozenset(
    {"InternalError", "InternalFailure", "InternalServerError", "ServiceUnavailable",
     "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException",
     "IDPCommunicationError"}
)


class ErrorClass(enum.Enum):
    THROTTLED = "throttled"
    TRANSIENT = "transient"
    SKIP = "skip"
    FAIL = "fail"

    @property
    def retryable(self) -> bool:
        return self in (ErrorClass.THROTTLED, ErrorClass.TRANSIENT)


@dataclass(frozen=True)
class ClassifiedError:
    kind: ErrorClass
    code: str
    message: str


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message") or exc)
    return str(exc) or type(exc).__name__


def http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def classify(exc: BaseException) -> ClassifiedError:
    code, message = error_code(exc), error_message(exc)
    if isinstance(exc, ClientError):
        if code in THROTTLING_CODES or http_status(exc) == 429:
            kind = ErrorClass.THROTTLED
        elif code in SKIP_CODES:
            kind = ErrorClass.SKIP
        elif code in TRANSIENT_CODES or http_status(exc) >= 500:
            kind = ErrorClass.TRANSIENT
        else:
            kind = ErrorClass.FAIL
    elif isinstance(exc, (NoCredentialsError, ProfileNotFound)):
        kind = ErrorClass.FAIL
    elif isinstance(
        exc,
        (EndpointConnectionError, BotoConnectionError, ReadTimeoutError, aiohttp.ClientError,
         asyncio.TimeoutError, ConnectionError),
    ):
        kind = ErrorClass.TRANSIENT
    elif isinstance(exc, BotoCoreError):
        kind = ErrorClass.FAIL
    else:
        kind = ErrorClass.FAIL
    return ClassifiedError(kind=kind, code=code, message=message)
