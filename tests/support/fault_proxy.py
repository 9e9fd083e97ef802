"""A reverse proxy in front of an AWS emulator that injects faults into matching requests.

Faults travel over real HTTP in the real wire format, so the engine handles them exactly as it
would handle AWS's. The proxy learns which account an access key belongs to by watching
AssumeRole responses, so rules can target one account.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_SCOPE = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes
    access_key: str
    region: str
    service: str
    account: str | None  # known for assumed-role keys

    @property
    def action(self) -> str | None:
        """The query-protocol Action, or the JSON protocols' X-Amz-Target operation."""
        form = parse_qs(self.body.decode(errors="replace")) if self.body else {}
        if "Action" in form:
            return form["Action"][0]
        query = parse_qs(urlsplit(self.path).query)
        return query.get("Action", [None])[0]


@dataclass
class Fault:
    match: Callable[[Request], bool]
    status: int
    body: bytes
    content_type: str = "text/xml"
    times: int | None = None  # None: every matching request
    hits: int = 0


@dataclass
class FaultProxy:
    target: str
    faults: list[Fault] = field(default_factory=list)
    # Always applied, after `faults`; not removed by clear() (e.g. a service the emulator lacks).
    baseline: list[Fault] = field(default_factory=list)
    key_accounts: dict[str, str] = field(default_factory=dict)
    url: str = ""

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def _fault_for(self, request: Request) -> Fault | None:
        for fault in [*self.faults, *self.baseline]:
            if (fault.times is None or fault.hits < fault.times) and fault.match(request):
                fault.hits += 1
                return fault
        return None


def explorer_not_enabled() -> Fault:
    """What an account without Resource Explorer answers: moto has no Resource Explorer at all."""
    body = (b'{"__type": "AccessDeniedException", "message": "Resource Explorer is not turned on in this '
            b'account and Region."}')
    return Fault(lambda r: r.service == "resource-explorer-2", 403, body, content_type="application/json")


def query_error(code: str, message: str, status: int = 400) -> tuple[int, bytes]:
    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>fault</RequestId></ErrorResponse>").encode()
    return status, body


def ec2_error(code: str, message: str, status: int = 400) -> tuple[int, bytes]:
    body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>fault</RequestID></Response>").encode()
    return status, body


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(proxy.target)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet test output
            return

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            scope = _SCOPE.search(self.headers.get("Authorization", ""))
            key, region, service = scope.groups() if scope else ("", "", "")
            request = Request(self.command, self.path, body, key, region, service, proxy.key_accounts.get(key))
            fault = proxy._fault_for(request)
            if fault is not None:
                self._reply(fault.status, {"Content-Type": fault.content_type}, fault.body)
                return
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            headers["Host"] = target.netloc
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if request.action == "AssumeRole" and response.status == 200:
                self._learn(request, data)
            out = {k: v for k, v in response.getheaders()
                   if k.lower() not in ("transfer-encoding", "connection", "content-length")}
            conn.close()
            self._reply(response.status, out, data)

        def _learn(self, request: Request, data: bytes) -> None:
            role = parse_qs(request.body.decode()).get("RoleArn", [""])[0]
            account = role.split(":")[4] if role.count(":") >= 5 else None
            found = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", data)
            if account and found:
                proxy.key_accounts[found.group(1).decode()] = account

        def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    return Handler


@contextmanager
def fault_proxy(target: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(target=target, baseline=[explorer_not_enabled()])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
