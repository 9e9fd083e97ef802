"""moto in server mode on 127.0.0.1, on a free port, stopped when the context ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import logging
import urllib.request

from moto.server import ThreadedMotoServer


@contextmanager
def moto_server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        # moto's backends are process-global: without a reset, state from an earlier server leaks in.
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30).read()
        yield url
    finally:
        server.stop()
