"""The HTTP front: one aiohttp app answering every service on one endpoint.

A request is routed by the service in its SigV4 credential scope, then goes through the checks
AWS applies in about the same order: credentials, enabled region, rate quota, SCP, the
operation itself. Admin endpoints live under ``/_orgsim/``.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import traceback
from typing import Any

import orjson
from aiohttp import web

from orgsim import protocols
from orgsim.auth import parse_authorization
from orgsim.call import Call
from orgsim.errors import (
    AwsError,
    access_denied,
    missing_auth,
    region_not_enabled,
    throttled,
    unknown_operation,
)
from orgsim.faults import Faults
from orgsim.inventory import MutationError
from orgsim.quotas import Quotas
from orgsim.registry import ServiceSpec, handler, services
from orgsim.stats import Stats
from orgsim.world import World

log = logging.getLogger("orgsim")

# When the request names no service we know, answer in the most common dialect.
_FALLBACK = ServiceSpec("unknown", "json", throttle=("ThrottlingException", 400))


class SimServer:
    def __init__(self, world: World) -> None:
        self.world = world
        self.stats = Stats()
        self.quotas = Quotas(world.scenario.quotas)
        self.faults = Faults(world.scenario)
        self.creds = world.creds
        self.services = services()
        self._ids = itertools.count(1)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/_orgsim/stats", self._admin_stats)
        app.router.add_post("/_orgsim/stats/reset", self._admin_reset)
        app.router.add_post("/_orgsim/mutate", self._admin_mutate)
        app.router.add_get("/_orgsim/truth", self._admin_truth)
        app.router.add_get("/_orgsim/summary", self._admin_summary)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    def _request_id(self) -> str:
        n = next(self._ids)
        return f"{n:08x}-0rg5-51m0-0000-{n * 2654435761 % (1 << 48):012x}"

    async def handle(self, request: web.Request) -> web.Response:
        rid = self._request_id()
        scope = parse_authorization(request.headers.get("Authorization"))
        if scope is None:
            spec = self._guess_spec(request)
            return protocols.render_error(spec, missing_auth(spec), rid)
        spec = self.services.get(scope.service)
        if spec is None:
            err = AwsError("UnknownService", f"orgsim does not simulate {scope.service!r}", 400)
            return protocols.render_error(_FALLBACK, err, rid)
        op = ""
        try:
            op, params = await protocols.parse(request, spec)
            self.stats.calls[f"{spec.signing_name}:{op}"] += 1
            caller = self.creds.resolve(
                scope.access_key, request.headers.get("X-Amz-Security-Token"), spec
            )
            await self.faults.before(spec, self.stats)
            account = self.world.org.accounts[caller.account]
            region = scope.region
            if spec.regional and region not in account.regions:
                raise region_not_enabled(spec, region)
            if not self.quotas.take(caller.account, region, spec, op):
                self.stats.throttled[f"{spec.signing_name}:{op}"] += 1
                raise throttled(spec)
            if spec.regional and region in account.scp_denied and op not in spec.scp_exempt:
                raise access_denied(spec, caller.arn, f"{spec.signing_name}:{op}", scp=True)
            fn = handler(spec.signing_name, op)
            if fn is None:
                raise unknown_operation(spec, op)
            call = Call(self.world, spec, op, caller, region, params, rid, self.stats)
            result = fn(call)
            return protocols.render(spec, op, result, rid)
        except AwsError as err:
            self.stats.errors[f"{spec.signing_name}:{op}:{err.code}"] += 1
            return protocols.render_error(spec, err, rid)
        except Exception:  # noqa: BLE001 - a simulator bug: logged, counted, answered as a 500
            self.stats.internal_errors += 1
            log.error("orgsim internal error in %s:%s\n%s", spec.signing_name, op,
                      traceback.format_exc())
            code, status = spec.server_error
            err = AwsError(code, "orgsim internal error (see server log)", status, False)
            return protocols.render_error(spec, err, rid)

    def _guess_spec(self, request: web.Request) -> ServiceSpec:
        if "X-Amz-Target" in request.headers:
            return _FALLBACK
        return ServiceSpec("unknown", "query")

    # ----- admin ---------------------------------------------------------------------------
    async def _admin_stats(self, request: web.Request) -> web.Response:
        return _json(self.stats.snapshot() | {"generation": self.world.generation})

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.stats.reset()
        return _json({"ok": True})

    async def _admin_summary(self, request: web.Request) -> web.Response:
        return _json(self.world.summary())

    async def _admin_mutate(self, request: web.Request) -> web.Response:
        body = await request.read()
        args: dict[str, Any] = orjson.loads(body) if body else {}
        args.update({k: v for k, v in request.query.items()})
        try:
            share = float(args["share"]) if "share" in args else None
            seed = int(args["seed"]) if "seed" in args else None
            gen = self.world.mutate(share, seed)
        except (MutationError, ValueError) as exc:
            return _json({"error": str(exc)}, status=400)
        return _json(dataclasses.asdict(gen))

    async def _admin_truth(self, request: web.Request) -> web.StreamResponse:
        raw = request.query.get("generation")
        gen = int(raw) if raw is not None else None
        if gen is not None and gen > self.world.generation:
            return _json({"error": f"generation {gen} not reached"}, status=400)
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        buf: list[bytes] = []
        for row in self.world.truth(gen):
            buf.append(orjson.dumps(row))
            if len(buf) >= 2000:
                await resp.write(b"\n".join(buf) + b"\n")
                buf.clear()
        if buf:
            await resp.write(b"\n".join(buf) + b"\n")
        await resp.write_eof()
        return resp


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")
