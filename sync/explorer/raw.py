"""A rest-json client that signs requests with botocore and parses responses with orjson.

Resource Explorer is the hottest path of a sync: a 1,000-resource page costs botocore 150-220 ms
of CPU to parse (mostly timestamps) against ~3 ms for orjson, and a botocore client costs
~15 ms of CPU to create, which matters when the probe touches every account x region. This
client keeps what botocore does well — SigV4 signing, endpoint resolution (the endpoint rule set
and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>), credentials and their refresh — and leaves
parsing to orjson. It answers like a botocore client: the same method names, ClientError with
AWS's code and message, so ApiCaller's limits, retries and error classes apply unchanged.
Timestamps stay ISO strings.

A caller that knows an operation's answer can ask, for the calls of its task inside
`decoding_with(decoder)`, that successful bodies go to its decoder instead of parse_body: the
explorer source parses and normalizes a page in one synchronous step that way (see
sync.explorer.source.decode_page), which a parsed page crossing the await chain of ApiCaller
cannot give.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiohttp
import orjson
from aiobotocore.session import AioSession
from botocore import xform_name
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError
from botocore.model import ServiceModel


def _error_code(response: aiohttp.ClientResponse, body: dict[str, Any]) -> str:
    # rest-json: x-amzn-ErrorType header ("Code:namespace..."), else __type / code in the body.
    raw = response.headers.get("x-amzn-ErrorType") or body.get("__type") or body.get("code") or ""
    code = str(raw).split(":", 1)[0].rsplit("#", 1)[-1]
    return code or str(response.status)


def _error_body(payload: bytes) -> dict[str, Any]:
    """An error body as a dict; proxies and emulators sometimes answer errors in plain text."""
    try:
        parsed = orjson.loads(payload) if payload else {}
    except orjson.JSONDecodeError:
        return {"message": payload[:300].decode(errors="replace")}
    return parsed if isinstance(parsed, dict) else {"message": str(parsed)[:300]}


def parse_body(payload: bytes) -> dict[str, Any]:
    """A successful response's body; an empty body is an empty result."""
    return orjson.loads(payload) if payload else {}  # type: ignore[no-any-return]


Decoder = Callable[[bytes], dict[str, Any]]
# Per task (a ContextVar): concurrent calls of other tasks keep parse_body.
_decoder: ContextVar[Decoder | None] = ContextVar("raw_json_decoder", default=None)


@contextmanager
def decoding_with(decoder: Decoder) -> Iterator[None]:
    """Successful bodies of this task's calls inside the block are decoded by `decoder`.

    The decoder gets the body as received (possibly empty) and runs inside the call, so what it
    raises is the call's error, as a body orjson cannot parse is.
    """
    token = _decoder.set(decoder)
    try:
        yield
    finally:
        _decoder.reset(token)


class RawJsonClient:
    def __init__(
        self,
        *,
        http: aiohttp.ClientSession,
        session: AioSession,
        service_model: ServiceModel,
        region: str,
        endpoint_for: Callable[[str], Awaitable[str]],
    ) -> None:
        self._http = http
        self._session = session
        self._model = service_model
        self._region = region
        self._endpoint_for = endpoint_for
        self._operations = {xform_name(op): op for op in service_model.operation_names}

    def __getattr__(self, name: str) -> Callable[..., Awaitable[dict[str, Any]]]:
        operation = self.__dict__.get("_operations", {}).get(name)
        if operation is None:
            raise AttributeError(name)

        async def call(**params: Any) -> dict[str, Any]:
            return await self.call(operation, params)

        return call

    async def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        op = self._model.operation_model(operation)
        url = (await self._endpoint_for(operation)).rstrip("/") + op.http["requestUri"]
        body = orjson.dumps(params)
        request = AWSRequest(method=op.http["method"], url=url, data=body,
                             headers={"Content-Type": "application/json"})
        credentials = await self._session.get_credentials()
        frozen = await credentials.get_frozen_credentials()
        SigV4Auth(frozen, self._model.signing_name, self._region).add_auth(request)
        async with self._http.request(op.http["method"], url, data=body,
                                      headers=dict(request.headers.items())) as response:
            payload = await response.read()
            if response.status >= 300:
                parsed = _error_body(payload)
                error = {
                    "Error": {"Code": _error_code(response, parsed),
                              "Message": str(parsed.get("message") or parsed.get("Message") or "")},
                    "ResponseMetadata": {"HTTPStatusCode": response.status,
                                         "HTTPHeaders": dict(response.headers.items())},
                }
                raise ClientError(error, operation)  # type: ignore[arg-type]
            return (_decoder.get() or parse_body)(payload)
