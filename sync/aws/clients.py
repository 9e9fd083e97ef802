"""One client per (account, region, service), reused for the whole sync and closed at its end.

Creating a client costs tens of ms of CPU, so clients are never created per call. Measured on
this machine, a quarter of that was aiobotocore loading the CA bundle into a new SSL context for
every client; _SharedTLSSession loads it once per process.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from contextlib import AsyncExitStack
from functools import cache
from types import TracebackType
from typing import Any

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession
from botocore.httpsession import create_urllib3_context, get_cert_path

from sync.aws.calls import MAX_ATTEMPTS, ApiCaller
from sync.aws.limits import Limiters

@cache
def _verified_context(verify: str | bool) -> ssl.SSLContext:
    context = create_urllib3_context()
    ca_certs = get_cert_path(verify)
    if ca_certs:
        context.load_verify_locations(ca_certs, None, None)
    return context


class _SharedTLSSession(AIOHTTPSession):
    """aiobotocore's HTTP session with one SSL context per CA bundle instead of one per client."""

    def _create_connector(self, proxy_url: str | None) -> Any:
        if proxy_url or self._cert_file or not self._verify:
            return super()._create_connector(proxy_url)
        return aiohttp.TCPConnector(
            limit=self._max_pool_connections, ssl=_verified_context(self._verify), **self._connector_args
        )


# Retries happen in ApiCaller (counted, limited); botocore must not retry behind our back.
CLIENT_CONFIG = AioConfig(
    retries={"mode": "standard", "total_max_attempts": 1},
    max_pool_connections=16,
    connect_timeout=10,
    read_timeout=60,
    tcp_keepalive=True,
    http_session_cls=_SharedTLSSession,
)


class ClientPool:
    def __init__(
        self,
        limiters: Limiters,
        on_event: Callable[[str], None] | None = None,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        max_backoff: float = 20.0,
    ) -> None:
        self._limiters = limiters
        self._on_event = on_event
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff
        self._stack = AsyncExitStack()
        self._sessions: dict[str, AioSession] = {}
        self._callers: dict[tuple[str, str, str], ApiCaller] = {}
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}

    async def __aenter__(self) -> "ClientPool":
        await self._stack.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)

    def register_account(self, account_id: str, session: AioSession) -> None:
        self._sessions[account_id] = session

    def session(self, account_id: str) -> AioSession:
        return self._sessions[account_id]

    async def caller(self, account_id: str, region: str, service: str) -> ApiCaller:
        key = (account_id, region, service)
        found = self._callers.get(key)
        if found is not None:
            return found
        async with self._locks.setdefault(key, asyncio.Lock()):
            found = self._callers.get(key)
            if found is None:
                session = self._sessions[account_id]
                client = await self._stack.enter_async_context(
                    session.create_client(service, region_name=region, config=CLIENT_CONFIG)
                )
                found = ApiCaller(
                    client,
                    account_id=account_id,
                    region=region,
                    service=service,
                    limiters=self._limiters,
                    on_event=self._on_event,
                    max_attempts=self._max_attempts,
                    max_backoff=self._max_backoff,
                )
                self._callers[key] = found
        return found
