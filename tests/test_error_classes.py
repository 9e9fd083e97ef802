"""sync.aws.errors.classify: which AWS errors are throttling, skipped, transient or failures."""

from __future__ import annotations

import aiohttp
import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError, ReadTimeoutError

from sync.aws.errors import SKIP_CODES, THROTTLING_CODES, ErrorClass, classify, error_code
from tests.test_fetch import client_error

DESIGN_THROTTLING_CODES = ("Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
                           "RequestLimitExceeded", "SlowDown", "RequestThrottled", "EC2ThrottledException")


@pytest.mark.parametrize("code", DESIGN_THROTTLING_CODES)
def test_throttling_codes_are_throttled(code: str) -> None:
    assert code in THROTTLING_CODES
    got = classify(client_error(code, "Rate exceeded", 400))
    assert got.kind is ErrorClass.THROTTLED and got.kind.retryable
    assert (got.code, got.message) == (code, "Rate exceeded")


def test_http_429_is_throttled_whatever_the_code() -> None:
    assert classify(client_error("SomethingNew", status=429)).kind is ErrorClass.THROTTLED
    assert classify(client_error("AccessDenied", status=429)).kind is ErrorClass.THROTTLED


def test_a_throttling_code_with_a_5xx_status_is_still_throttled() -> None:
    assert classify(client_error("SlowDown", status=503)).kind is ErrorClass.THROTTLED


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "OptInRequired",
                                  "AuthFailure", "InvalidClientTokenId"])
def test_skip_codes_are_skipped_not_retried(code: str) -> None:
    assert code in SKIP_CODES
    got = classify(client_error(code, status=403))
    assert got.kind is ErrorClass.SKIP and not got.kind.retryable


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_transient(status: int) -> None:
    got = classify(client_error("WeirdServerThing", status=status))
    assert got.kind is ErrorClass.TRANSIENT and got.kind.retryable


@pytest.mark.parametrize("code", ["InternalError", "ServiceUnavailable", "RequestTimeout"])
def test_transient_codes_are_transient_even_without_5xx(code: str) -> None:
    assert classify(client_error(code, status=400)).kind is ErrorClass.TRANSIENT


@pytest.mark.parametrize("code", ["ValidationException", "InvalidParameterValue", "NoSuchEntity", "MalformedPolicy"])
def test_other_client_errors_fail(code: str) -> None:
    got = classify(client_error(code, status=400))
    assert got.kind is ErrorClass.FAIL and not got.kind.retryable


def test_non_client_errors() -> None:
    assert classify(EndpointConnectionError(endpoint_url="https://x")).kind is ErrorClass.TRANSIENT
    assert classify(ReadTimeoutError(endpoint_url="https://x")).kind is ErrorClass.TRANSIENT
    assert classify(TimeoutError()).kind is ErrorClass.TRANSIENT
    assert classify(aiohttp.ClientConnectionError("reset")).kind is ErrorClass.TRANSIENT
    assert classify(ConnectionResetError()).kind is ErrorClass.TRANSIENT
    assert classify(NoCredentialsError()).kind is ErrorClass.FAIL
    got = classify(ValueError("bad"))
    assert (got.kind, got.code, got.message) == (ErrorClass.FAIL, "ValueError", "bad")


def test_error_code_and_message_of_a_client_error() -> None:
    exc = client_error("NoSuchTagSet", "The TagSet does not exist", 404, "GetBucketTagging")
    assert error_code(exc) == "NoSuchTagSet"
    assert classify(exc).message == "The TagSet does not exist"
