"""The five AWS wire protocols: read the operation and parameters, write results and errors.

Handlers return the protocol's natural payload: an XML fragment (query, ec2), a whole XML
document (rest-xml), a dict or pre-serialized JSON bytes (json, rest-json). Error bodies follow
what botocore's parsers read: query ``ErrorResponse/Error``, EC2 ``Response/Errors/Error``,
JSON ``__type``, rest-json ``x-amzn-ErrorType``, S3 ``Error``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from aiohttp import web

from orgsim.errors import AwsError, unknown_operation
from orgsim.registry import ServiceSpec, match_route
from orgsim.wire import esc

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


async def parse(request: web.Request, spec: ServiceSpec) -> tuple[str, dict[str, Any]]:
    """(operation, parameters); rest protocols merge path, query string and body."""
    proto = spec.protocol
    if proto in ("query", "ec2"):
        body = await request.read()
        params: dict[str, Any] = dict(request.query)
        if body:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        return str(params.pop("Action", "")), params
    if proto == "json":
        target = request.headers.get("X-Amz-Target", "")
        op = target.rsplit(".", 1)[-1] if "." in target else ""
        body = await request.read()
        params = orjson.loads(body) if body else {}
        if not isinstance(params, dict):
            raise AwsError("SerializationException", "Request body is not a JSON object")
        return op, params
    segments = [unquote(p) for p in request.raw_path.split("?", 1)[0].split("/") if p]
    query = request.query
    found = match_route(spec.signing_name, request.method, segments, set(query.keys()))
    if found is None:
        raise unknown_operation(spec, f"{request.method} {request.path}")
    op, path_params = found
    params = dict(query)
    if proto == "rest-json" and request.can_read_body:
        body = await request.read()
        if body:
            data = orjson.loads(body)
            if isinstance(data, dict):
                params.update(data)
    params.update(path_params)
    return op, params


def render(spec: ServiceSpec, op: str, result: Any, request_id: str) -> web.Response:
    proto = spec.protocol
    if proto == "query":
        body = (
            f'{_XML_DECL}<{op}Response xmlns="{spec.xmlns}"><{op}Result>{result}</{op}Result>'
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            f"</{op}Response>"
        )
        return _xml(body, 200, request_id)
    if proto == "ec2":
        body = (
            f'{_XML_DECL}<{op}Response xmlns="{EC2_NS}"><requestId>{request_id}</requestId>'
            f"{result}</{op}Response>"
        )
        return _xml(body, 200, request_id)
    if proto == "rest-xml":
        return _xml(_XML_DECL + result, 200, request_id)
    payload = result if isinstance(result, (bytes, bytearray)) else orjson.dumps(result)
    ctype = f"application/x-amz-json-{spec.json_version}" if proto == "json" else "application/json"
    return web.Response(
        body=payload,
        status=200,
        headers={"Content-Type": ctype, "x-amzn-RequestId": request_id},
    )


def render_error(spec: ServiceSpec, err: AwsError, request_id: str) -> web.Response:
    proto = spec.protocol
    code, msg = esc(err.code), esc(err.message)
    if proto == "query":
        kind = "Sender" if err.sender else "Receiver"
        body = (
            f'{_XML_DECL}<ErrorResponse xmlns="{spec.xmlns}"><Error><Type>{kind}</Type>'
            f"<Code>{code}</Code><Message>{msg}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return _xml(body, err.status, request_id)
    if proto == "ec2":
        body = (
            f"{_XML_DECL}<Response><Errors><Error><Code>{code}</Code><Message>{msg}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return _xml(body, err.status, request_id)
    if proto == "rest-xml":
        body = (
            f"{_XML_DECL}<Error><Code>{code}</Code><Message>{msg}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>orgsim</HostId></Error>"
        )
        return _xml(body, err.status, request_id)
    if proto == "json":
        payload = orjson.dumps(
            {"__type": f"com.amazonaws.{spec.signing_name}#{err.code}", "message": err.message}
        )
        ctype = f"application/x-amz-json-{spec.json_version}"
    else:
        payload = orjson.dumps({"message": err.message, "Message": err.message})
        ctype = "application/json"
    return web.Response(
        body=payload,
        status=err.status,
        headers={
            "Content-Type": ctype,
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": err.code,
        },
    )


def _xml(body: str, status: int, request_id: str) -> web.Response:
    return web.Response(
        body=body.encode(),
        status=status,
        headers={
            "Content-Type": "text/xml",
            "x-amzn-RequestId": request_id,
            "x-amz-request-id": request_id,
        },
    )
