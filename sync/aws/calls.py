"""One AWS API call: rate limited, retried when the error is retryable, counted.

botocore's own retries are switched off on our clients (see clients.py) so that every attempt
passes through the limiter and is counted here; tenacity owns the backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore import xform_name
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from sync.aws.errors import ErrorClass, classify
from sync.aws.limits import Limiters
from sync.aws.stats import CallStats

MAX_ATTEMPTS = 8


def _is_retryable(exc: BaseException) -> bool:
    return classify(exc).kind.retryable


class ApiCaller:
    """Calls operations of one client (one account x region x service) within the shared limits."""

    def __init__(
        self,
        client: Any,
        *,
        account_id: str,
        region: str,
        service: str,
        limiters: Limiters,
        on_event: Callable[[str], None] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        max_backoff: float = 20.0,
    ) -> None:
        self.client = client
        self.account_id = account_id
        self.region = region
        self.service = service
        self._limiters = limiters
        self._on_event = on_event
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff

    async def call(self, operation: str, params: dict[str, Any], stats: CallStats) -> dict[str, Any]:
        """`operation` is the API name as AWS spells it (DescribeInstances)."""
        method = getattr(self.client, xform_name(operation))
        bucket = self._limiters.bucket(self.account_id, self.region, self.service, operation)

        sent_at = 0.0

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            stats.retries += 1
            if exc is not None and classify(exc).kind is ErrorClass.THROTTLED:
                stats.throttles += 1
                bucket.throttled(sent_at)
                self._emit("throttle")
            else:
                self._emit("retry")

        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_retryable),
            wait=wait_random_exponential(multiplier=0.2, max=self._max_backoff),
            stop=stop_after_attempt(self._max_attempts),
            before_sleep=before_sleep,
            reraise=True,
        )

        async def attempt() -> dict[str, Any]:
            nonlocal sent_at
            async with bucket as sent_at:
                stats.api_calls += 1
                self._emit("call")
                response: dict[str, Any] = await method(**params)
            bucket.succeeded()
            return response

        try:
            return await retrying(attempt)  # type: ignore[no-any-return]
        finally:
            # The retrying object's pending actions are its own bound methods: a reference cycle
            # per call, left to the garbage collector (org-500 makes 77,000 calls). Called, not
            # iterated (`async for`), it keeps no reference to the call's state either.
            retrying.iter_state.reset()

    def _emit(self, event: str) -> None:
        if self._on_event is not None:
            self._on_event(event)
