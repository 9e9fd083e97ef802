"""Running the simulator: ``serve`` (async, in the caller's loop) and ``run_in_thread``.

Both yield a ``Simulator`` handle with the endpoint URL and the admin helpers. The threaded
form owns its event loop in a daemon thread, so synchronous code (boto3, the demo, tests) can
talk to it while it serves.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from aiohttp import web

from orgsim.server import SimServer
from orgsim.world import ScenarioLike, World

T = TypeVar("T")


class Simulator:
    """A running simulator."""

    def __init__(self, server: SimServer, host: str, port: int, loop: asyncio.AbstractEventLoop) -> None:
        self.server = server
        self.world: World = server.world
        self.host = host
        self.port = port
        self._loop = loop

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment for an unmodified AWS SDK client to talk to the simulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.world.org.regions[0],
            "AWS_REGION": self.world.org.regions[0],
        }

    def _on_loop(self, fn: Callable[[], T]) -> T:
        """Run fn on the server's loop thread, so mutations never race a page being built."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop or not self._loop.is_running():
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result()

    def mutate(self, share: float | None = None, seed: int | None = None) -> dict[str, Any]:
        """Apply a generation (see World.mutate); returns what it changed."""
        gen = self._on_loop(lambda: self.world.mutate(share, seed))
        return dataclasses.asdict(gen)

    def add(self, account: str, region: str, rtype: str, n: int = 1) -> dict[str, Any]:
        """Add n resources to one account x region x type (see World.add); returns the generation."""
        gen = self._on_loop(lambda: self.world.add(account, region, rtype, n))
        return dataclasses.asdict(gen)

    def stats(self) -> dict[str, Any]:
        return self._on_loop(lambda: self.server.stats.snapshot())

    def reset_stats(self) -> None:
        self._on_loop(self.server.stats.reset)

    def truth(self, generation: int | None = None) -> Iterator[dict[str, Any]]:
        return self.world.truth(generation)


async def _start(world: World, host: str, port: int) -> tuple[web.AppRunner, Simulator]:
    server = SimServer(world)
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, Simulator(server, host, bound, asyncio.get_running_loop())


@asynccontextmanager
async def serve(
    scenario: ScenarioLike | World,
    port: int = 0,
    host: str = "127.0.0.1",
    overrides: dict[str, Any] | None = None,
) -> AsyncIterator[Simulator]:
    """``async with orgsim.serve("small") as sim:`` serves in the current event loop."""
    world = scenario if isinstance(scenario, World) else World(scenario, overrides)
    runner, sim = await _start(world, host, port)
    try:
        yield sim
    finally:
        await runner.cleanup()


@contextmanager
def run_in_thread(
    scenario: ScenarioLike | World,
    port: int = 0,
    host: str = "127.0.0.1",
    overrides: dict[str, Any] | None = None,
) -> Iterator[Simulator]:
    """``with orgsim.run_in_thread("demo") as sim:`` serves from a daemon thread."""
    world = scenario if isinstance(scenario, World) else World(scenario, overrides)
    ready = threading.Event()
    box: dict[str, Any] = {}

    def main() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        stop = asyncio.Event()
        box["loop"], box["stop"] = loop, stop

        async def run() -> None:
            try:
                runner, sim = await _start(world, host, port)
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread, re-raised there
                box["error"] = exc
                ready.set()
                return
            box["sim"] = sim
            ready.set()
            try:
                await stop.wait()
            finally:
                await runner.cleanup()

        try:
            loop.run_until_complete(run())
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="orgsim", daemon=True)
    thread.start()
    ready.wait()
    if "error" in box:
        thread.join()
        raise box["error"]
    try:
        yield box["sim"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(timeout=10)
