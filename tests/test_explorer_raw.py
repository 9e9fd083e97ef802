"""The orjson Resource Explorer client: signed requests, botocore-shaped errors, any error body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from botocore.exceptions import ClientError

from sync.aws.clients import ClientPool
from sync.aws.errors import ErrorClass, classify
from sync.aws.limits import Limiters
from sync.aws.sessions import new_session
from sync.aws.stats import CallStats
from sync.explorer.raw import decoding_with

SEEN: list[web.Request] = []


async def handler(request: web.Request) -> web.Response:
    SEEN.append(request)
    op = request.path.strip("/")
    if op == "GetIndex":
        return web.json_response({"Arn": "arn:x", "Type": "LOCAL", "State": "ACTIVE"})
    if op == "ListViews":
        return web.Response(status=404, text="Unable to find appropriate backend")
    return web.json_response({"message": "slow down"}, status=429,
                             headers={"x-amzn-ErrorType": "ThrottlingException:http://internal"})


@pytest.fixture
async def endpoint(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("POST", "/{op}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    for key, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    yield url
    await runner.cleanup()


async def test_calls_are_signed_and_errors_carry_aws_codes(endpoint: str) -> None:
    SEEN.clear()
    async with ClientPool(Limiters(), max_attempts=1) as pool:
        pool.register_account("111111111111", new_session())
        caller = await pool.caller("111111111111", "eu-west-1", "resource-explorer-2")
        stats = CallStats()
        assert (await caller.call("GetIndex", {}, stats))["State"] == "ACTIVE"
        auth = SEEN[-1].headers["Authorization"]
        assert auth.startswith("AWS4-HMAC-SHA256 Credential=testing/") and "/eu-west-1/resource-explorer-2/" in auth
        with pytest.raises(ClientError) as throttled:
            await caller.call("ListResources", {"MaxResults": 500}, stats)
        assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
        assert classify(throttled.value).kind is ErrorClass.THROTTLED
        with pytest.raises(ClientError) as plain:
            await caller.call("ListViews", {}, stats)
        assert plain.value.response["Error"]["Code"] == "404"
        assert "backend" in plain.value.response["Error"]["Message"]
        assert stats.api_calls == 3


async def test_a_task_can_decode_its_successful_bodies_itself(endpoint: str) -> None:
    bodies: list[bytes] = []

    def decoder(payload: bytes) -> dict[str, Any]:
        bodies.append(payload)
        return {"decoded": len(payload)}

    async with ClientPool(Limiters(), max_attempts=1) as pool:
        pool.register_account("111111111111", new_session())
        caller = await pool.caller("111111111111", "eu-west-1", "resource-explorer-2")
        stats = CallStats()
        with decoding_with(decoder):
            answer = await caller.call("GetIndex", {}, stats)
            with pytest.raises(ClientError):  # errors are not the decoder's: they raise as before
                await caller.call("ListResources", {"MaxResults": 500}, stats)
        assert answer == {"decoded": len(bodies[0])} and len(bodies) == 1
        assert orjson.loads(bodies[0])["State"] == "ACTIVE"
        assert (await caller.call("GetIndex", {}, stats))["State"] == "ACTIVE"  # outside the block
        assert len(bodies) == 1

