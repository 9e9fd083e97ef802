"""Client setup shared across clients: one endpoint rule tree per service, botocore's checks kept."""

from __future__ import annotations

from typing import Any

import botocore.hooks
import botocore.model
import pytest

import sync.aws.clients  # noqa: F401  (installs the shared setup, as the engine does)
from sync.aws.clients import CLIENT_CONFIG, ClientPool, _SharedTLSSession
from sync.aws.limits import Limiters, limit_for
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


async def test_clients_of_every_account_share_one_service_model_per_service(monkeypatch: pytest.MonkeyPatch) -> None:
    models: dict[str, set[int]] = {"ec2": set(), "iam": set()}
    built: list[str] = []
    original = botocore.model.OperationModel.__init__

    def counting_init(self: Any, model: Any, service_model: Any, name: str | None = None) -> None:
        built.append(service_model.service_name)
        original(self, model, service_model, name)

    for account in range(3):  # one session per account, as the engine has
        if account == 1:  # the first account's clients built what they need; count from here
            monkeypatch.setattr(botocore.model.OperationModel, "__init__", counting_init)
        session = new_session()
        for service in models:
            async with session.create_client(service, region_name="us-east-1") as client:
                models[service].add(id(client.meta.service_model))
    assert all(len(ids) == 1 for ids in models.values())
    assert models["ec2"] != models["iam"]
    # Unshared, each new client rebuilt an OperationModel per operation (705 for EC2) just to
    # check for endpoint discovery: long-lived objects the garbage collector walks again and again.
    assert built == []


async def test_a_client_pools_as_many_connections_as_its_service_has_calls_in_flight() -> None:
    iam_in_flight = limit_for("iam", "ListPolicyTags").in_flight
    assert iam_in_flight > CLIENT_CONFIG.max_pool_connections  # the case this covers
    async with ClientPool(Limiters()) as pool:
        pool.register_account("111111111111", new_session())
        iam = await pool.caller("111111111111", "us-east-1", "iam")
        ec2 = await pool.caller("111111111111", "us-east-1", "ec2")
        assert iam.client.meta.config.max_pool_connections == iam_in_flight
        assert ec2.client.meta.config.max_pool_connections == CLIENT_CONFIG.max_pool_connections
        assert iam.client.meta.config.retries == CLIENT_CONFIG.retries  # the rest of the config kept
        # aiobotocore's own option too (Config.merge drops it): one SSL context for all clients
        for caller in (iam, ec2):
            assert type(caller.client._endpoint.http_session) is _SharedTLSSession


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
