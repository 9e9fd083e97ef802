"""Read-only AWS calls for the doctor: a failed call is evidence (a CallError value), not an exception.

Every call goes through the engine's ApiCaller (rate limits, bounded retries); every failure is
also kept in `errors`, which is where the SCP and permission checks look.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from sync.aws.clients import ClientPool
from sync.aws.errors import error_code, error_message
from sync.aws.stats import CallStats
from sync.doctor.model import CallError

# What an AWS call can raise once ApiCaller has given up retrying; anything else is a bug here.
AWS_ERRORS = (ClientError, BotoCoreError, aiohttp.ClientError, asyncio.TimeoutError, OSError)
Response = dict[str, Any]


class Prober:
    def __init__(self, pool: ClientPool, stats: CallStats) -> None:
        self.pool = pool
        self.stats = stats
        self.errors: list[CallError] = []

    async def call(self, label: str, region: str, service: str, operation: str,
                   params: dict[str, Any] | None = None, *, account_id: str | None = None) -> Response | CallError:
        """`label` is the pool's session label (an account id, or the management label)."""
        caller = await self.pool.caller(label, region, service)
        try:
            return await caller.call(operation, dict(params or {}), self.stats)
        except AWS_ERRORS as exc:
            failure = CallError(f"{service}:{operation}", account_id or label, region, error_code(exc),
                                error_message(exc))
            self.errors.append(failure)
            return failure

    async def pages(self, label: str, region: str, service: str, operation: str, params: dict[str, Any],
                    key: str, *, token: str = "NextToken", max_pages: int | None = None,
                    account_id: str | None = None) -> tuple[list[Any], bool] | CallError:
        """Items of every page (key `key`), and whether the listing reached its end."""
        items: list[Any] = []
        request = dict(params)
        pages = 0
        while True:
            page = await self.call(label, region, service, operation, request, account_id=account_id)
            if isinstance(page, CallError):
                return page
            items.extend(page.get(key) or ())
            pages += 1
            next_token = page.get(token)
            if not next_token:
                return items, True
            if max_pages is not None and pages >= max_pages:
                return items, False
            request[token] = next_token
