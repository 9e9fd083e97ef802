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
from aiobotocore.client import AioClientCreator
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession
from botocore.httpsession import create_urllib3_context, get_cert_path

from sync.aws.calls import MAX_ATTEMPTS, ApiCaller
from sync.aws.client_setup import share_client_setup
from sync.aws.limits import Limiters, pool_size
from sync.aws.s3_endpoints import resolve_s3_endpoints_once
from sync.aws.user_agent import cache_user_agent_strings
from sync.explorer.raw import RawJsonClient

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


async def _resolve_endpoint(client: Any, operation: str) -> str:
    """The endpoint botocore would use: its rule set (and AWS_ENDPOINT_URL*) for this region."""
    resolver = getattr(client, "_ruleset_resolver", None)
    if resolver is None:
        return str(client.meta.endpoint_url)
    info = await resolver.construct_endpoint(
        operation_model=client.meta.service_model.operation_model(operation), call_args={}, request_context={}
    )
    return str(info.url)


def _share_client_classes() -> None:
    """Build each service's client class once per process instead of once per client.

    botocore builds a new Python class with one method per API operation for every client (700
    for EC2): measured on this machine, ~7 ms of CPU and ~1 MB of memory per client, which made
    memory grow with the number of accounts. The class depends only on the service model (our
    sessions register no class-altering handlers), so one per service and API version is shared.
    """
    original = AioClientCreator._create_client_class
    if getattr(original, "_orgsync_shared", False):
        return
    classes: dict[tuple[str, str], type] = {}

    async def shared(self: AioClientCreator, service_name: str, service_model: Any) -> type:
        key = (service_name, service_model.api_version)
        found = classes.get(key)
        if found is None:
            found = classes[key] = await original(self, service_name, service_model)
        return found

    shared._orgsync_shared = True  # type: ignore[attr-defined]
    AioClientCreator._create_client_class = shared  # type: ignore[method-assign]


_share_client_classes()
share_client_setup()
cache_user_agent_strings()


# Retries happen in ApiCaller (counted, limited); botocore must not retry behind our back.
CLIENT_CONFIG = AioConfig(
    retries={"mode": "standard", "total_max_attempts": 1},
    max_pool_connections=16,
    connect_timeout=10,
    read_timeout=60,
    tcp_keepalive=True,
    http_session_cls=_SharedTLSSession,
)


# Services answered by RawJsonClient instead of a botocore client (see sync/explorer/raw.py).
RAW_JSON_SERVICES = frozenset({"resource-explorer-2"})


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
        self._clients: dict[str, list[Any]] = {}  # account -> its botocore clients' contexts
        self._http: aiohttp.ClientSession | None = None
        self._endpoints: dict[tuple[str, str, str], str] = {}
        self._configs: dict[str, AioConfig] = {}

    async def __aenter__(self) -> "ClientPool":
        await self._stack.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            for account_id in list(self._clients):
                await self.release_account(account_id)
        finally:
            await self._stack.__aexit__(exc_type, exc, tb)

    def _config(self, service: str) -> AioConfig:
        """CLIENT_CONFIG with the connection pool `service` needs, one object per service.

        Config.merge rebuilds a config from the options botocore's Config takes, and aiobotocore's
        http_session_cls is not one of them: merged, every client got aiobotocore's own HTTP
        session, each with an SSL context of its own, instead of _SharedTLSSession. On org-500
        that was 0.7-0.85 GB of peak RSS (2.5-2.7 GB against 1.85 GB) and a third more CPU.
        """
        found = self._configs.get(service)
        if found is None:
            pool = AioConfig(max_pool_connections=pool_size(service, CLIENT_CONFIG.max_pool_connections))
            found = self._configs[service] = CLIENT_CONFIG.merge(pool)
            found.http_session_cls = CLIENT_CONFIG.http_session_cls
        return found

    async def _botocore_client(self, account_id: str, region: str, service: str) -> Any:
        session = self._sessions[account_id]
        context = session.create_client(service, region_name=region, config=self._config(service))
        client = await context.__aenter__()
        self._clients.setdefault(account_id, []).append(context)
        if service == "s3":
            resolve_s3_endpoints_once(client)
        return client

    async def release_account(self, account_id: str) -> None:
        """Close the botocore clients of an account whose work is done.

        Each client holds a connection pool and ~0.3 MB; on a large organization keeping every
        account's clients until the end made memory grow with the number of accounts. A caller
        asked for again later simply gets a new client.
        """
        contexts = self._clients.pop(account_id, [])
        for key in [k for k in self._callers if k[0] == account_id]:
            del self._callers[key]
        for context in contexts:
            await context.__aexit__(None, None, None)

    async def _raw_client(self, account_id: str, region: str, service: str) -> RawJsonClient:
        if self._http is None:
            self._http = await self._stack.enter_async_context(
                aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=64, ssl=_verified_context(True)),
                    timeout=aiohttp.ClientTimeout(total=120, connect=10),
                )
            )
        # One botocore client per region (any account's) resolves endpoints for all accounts:
        # the endpoint of a regional service does not depend on the account.
        template = await self.caller(next(iter(self._sessions)), region, f"{service}#endpoints")

        async def endpoint_for(operation: str) -> str:
            key = (region, service, operation)
            found = self._endpoints.get(key)
            if found is None:
                found = self._endpoints[key] = await _resolve_endpoint(template.client, operation)
            return found

        return RawJsonClient(
            http=self._http,
            session=self._sessions[account_id],
            service_model=template.client.meta.service_model,
            region=region,
            endpoint_for=endpoint_for,
        )

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
                if service in RAW_JSON_SERVICES:
                    client: Any = await self._raw_client(account_id, region, service)
                else:
                    client = await self._botocore_client(account_id, region, service.split("#")[0])
                found = ApiCaller(
                    client,
                    account_id=account_id,
                    region=region,
                    service=service.split("#")[0],
                    limiters=self._limiters,
                    on_event=self._on_event,
                    max_attempts=self._max_attempts,
                    max_backoff=self._max_backoff,
                )
                self._callers[key] = found
        return found
