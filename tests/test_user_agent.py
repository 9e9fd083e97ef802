"""The User-Agent header is botocore's own, built once per client and feature set."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.context import start_as_current_context
from botocore.useragent import register_feature_id

import sync.aws.clients  # noqa: F401  (installs the cache, as the engine does)
from sync.aws.user_agent import _BUILT


class FakeRaw:
    def stream(self, **kwargs: Any) -> Any:
        yield b""


def sent_user_agents(client: Any, calls: int, feature: str | None = None) -> list[str]:
    seen: list[str] = []

    def capture(request: Any, **kwargs: Any) -> AWSResponse:
        seen.append(request.headers["User-Agent"].decode() if isinstance(request.headers["User-Agent"], bytes)
                    else request.headers["User-Agent"])
        return AWSResponse(request.url, 200, {}, FakeRaw())

    client.meta.events.register("before-send", capture)
    for _ in range(calls):
        with start_as_current_context():
            if feature:
                register_feature_id(feature)
            client.list_buckets()
    return seen


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return botocore.session.get_session().create_client("s3", region_name="us-east-1",
                                                        endpoint_url="http://127.0.0.1:9")


def test_each_request_carries_botocore_s_user_agent(client: Any) -> None:
    expected = client._user_agent_creator.to_string()
    assert sent_user_agents(client, 3) == [expected] * 3
    assert len(_BUILT[client._user_agent_creator]) == 1  # built once, answered twice


def test_a_feature_in_play_changes_the_string(client: Any) -> None:
    plain = sent_user_agents(client, 1)
    with_feature = sent_user_agents(client, 2, feature="PAGINATOR")
    with start_as_current_context():
        register_feature_id("PAGINATOR")
        expected = client._user_agent_creator.to_string()  # botocore's own, uncached
    assert with_feature == [expected, expected] and expected != plain[0]
    assert len(_BUILT[client._user_agent_creator]) == 2
