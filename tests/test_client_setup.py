"""Client setup shared across clients: one endpoint rule tree per service, botocore's checks kept."""

from __future__ import annotations

from typing import Any

import botocore.hooks
import pytest

import sync.aws.clients  # noqa: F401  (installs the shared setup, as the engine does)
from sync.aws.sessions import new_session


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


async def test_clients_of_every_account_share_one_rule_tree_per_service() -> None:
    providers: dict[str, set[int]] = {"s3": set(), "iam": set()}
    urls: list[str] = []
    for _ in range(3):  # one session per account, as the engine has
        session = new_session()
        for service in providers:
            for region in ("us-east-1", "eu-west-1"):
                async with session.create_client(service, region_name=region) as client:
                    providers[service].add(id(client._ruleset_resolver._provider))
                    urls.append(client.meta.endpoint_url)
    assert all(len(ids) == 1 for ids in providers.values())
    assert providers["s3"] != providers["iam"]
    # Each client still resolves for its own region.
    assert "https://s3.eu-west-1.amazonaws.com" in urls and "https://s3.amazonaws.com" in urls


def test_a_handler_without_kwargs_is_still_refused() -> None:
    emitter = botocore.hooks.HierarchicalEmitter()

    def no_kwargs(event_name: str) -> None:
        pass

    def with_kwargs(**kwargs: Any) -> None:
        pass

    for _ in range(2):  # the second time answers from the cache
        with pytest.raises(ValueError, match="must accept keyword arguments"):
            emitter.register("before-call", no_kwargs)
        emitter.register("before-call", with_kwargs)
