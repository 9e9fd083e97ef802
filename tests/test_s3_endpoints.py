"""S3 endpoints resolved once per client: the same URL, headers and properties as botocore's rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.config
import botocore.exceptions
import botocore.session
import pytest

from sync.aws.s3_endpoints import STAND_IN, StandInProvider, plain_bucket

NAMES = ["logs", "my-bucket-1", "a" * 63, "abc", "payments-prod-eu-west-1",
         # not plain: left to the rules, which treat them differently
         "my.dotted.bucket", "express--use1-az4--x-s3", "ap--op-s3", "UPPER", "ab", "xn--bucket",
         "arn:aws:s3:us-east-1:123456789012:accesspoint/ap", "192.168.1.1"]
SETTINGS = [
    {"region": "us-east-1"},
    {"region": "eu-west-1"},
    {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:5000"},
    {"region": "us-west-2", "endpoint_url": "https://s3.example.internal"},
    {"region": "us-east-1", "path_style": True},
]


class Counting:
    def __init__(self, provider: Any) -> None:
        self.provider, self.calls = provider, 0

    def resolve_endpoint(self, **params: Any) -> Any:
        self.calls += 1
        return self.provider.resolve_endpoint(**params)


@pytest.fixture(params=SETTINGS, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    settings = request.param
    config = botocore.config.Config(s3={"addressing_style": "path"}) if settings.get("path_style") else None
    made = botocore.session.get_session().create_client(
        "s3", region_name=settings["region"], endpoint_url=settings.get("endpoint_url"), config=config)
    yield made
    made.close()


def resolve(client: Any, operation: str, bucket: str) -> Any:
    """The endpoint, or the error the rules raise (e.g. an ARN some operations refuse)."""
    model = client.meta.service_model.operation_model(operation)
    try:
        return client._resolve_endpoint_ruleset(model, {"Bucket": bucket}, {})
    except botocore.exceptions.BotoCoreError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("operation", ["GetBucketTagging", "GetBucketLocation"])
def test_every_name_gets_the_endpoint_the_rules_give(client: Any, operation: str) -> None:
    expected = {name: resolve(client, operation, name) for name in NAMES}
    resolver = client._ruleset_resolver
    counting = Counting(resolver._provider)
    resolver._provider = StandInProvider(counting)
    got = {name: resolve(client, operation, name) for name in NAMES}
    assert got == expected
    assert all(STAND_IN not in str(endpoint) for endpoint in got.values())
    plain = [n for n in NAMES if plain_bucket(n)]
    assert len(plain) == 5
    # One resolution serves every plain name; the others each walk the rules.
    assert counting.calls == 1 + len(NAMES) - len(plain)


def test_plain_names() -> None:
    assert plain_bucket("my-bucket") and plain_bucket("abc")
    for name in ("ab", "My-Bucket", "a.b.c", "x--x-s3", "-lead", "trail-", "a" * 64, None, 3):
        assert not plain_bucket(name), name
