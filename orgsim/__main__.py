"""Command line: ``python -m orgsim serve|mutate|truth|stats|scenarios``.

    python -m orgsim serve --scenario demo --port 0          # prints the endpoint it bound
    python -m orgsim mutate --port 8123 --share 0.01 --seed 7
    python -m orgsim truth --scenario small --generation 1 --mutation 0.01:7 > truth.jsonl
    python -m orgsim truth --port 8123 > truth.jsonl          # from a running simulator
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import urllib.error
import urllib.request
from typing import Any

import orjson

from orgsim.inventory import MutationError
from orgsim.runner import serve
from orgsim.scenario import ScenarioError, builtin_names
from orgsim.world import World


def _overrides(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ScenarioError("--override must be a JSON object")
    return data


async def _serve(args: argparse.Namespace) -> None:
    world = World(args.scenario, _overrides(args.override))
    async with serve(world, port=args.port, host=args.host) as sim:
        summary = world.summary()
        print(f"orgsim serving {summary['scenario']} on {sim.endpoint_url}", flush=True)
        print(json.dumps(summary), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> bytes:
    data = orjson.dumps(body) if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"orgsim: {exc.code} {exc.read().decode(errors='replace')}") from None


def _mutate(args: argparse.Namespace) -> None:
    body: dict[str, Any] = {}
    if args.share is not None:
        body["share"] = args.share
    if args.seed is not None:
        body["seed"] = args.seed
    print(_http("POST", f"http://{args.host}:{args.port}/_orgsim/mutate", body).decode())


def _truth(args: argparse.Namespace) -> None:
    out = sys.stdout.buffer
    if args.port:
        query = f"?generation={args.generation}" if args.generation is not None else ""
        out.write(_http("GET", f"http://{args.host}:{args.port}/_orgsim/truth{query}"))
        return
    if not args.scenario:
        raise SystemExit("orgsim truth: give --scenario (or --port of a running simulator)")
    world = World(args.scenario, _overrides(args.override))
    for spec in args.mutation or []:
        share, _, seed = spec.partition(":")
        world.mutate(float(share), int(seed or 0))
    target = args.generation if args.generation is not None else world.generation
    while world.generation < target:
        world.mutate()  # the scenario's planned mutations
    for row in world.truth(target):
        out.write(orjson.dumps(row) + b"\n")


def _stats(args: argparse.Namespace) -> None:
    print(_http("GET", f"http://{args.host}:{args.port}/_orgsim/stats").decode())


def _scenarios(args: argparse.Namespace) -> None:
    for name in builtin_names():
        w = World(name)
        s = w.summary()
        print(f"{name:14} accounts={s['accounts']:<5} regions={len(s['regions'])} "
              f"resources={s['base_resources']:<8} {w.scenario.description}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m orgsim", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve a scenario over HTTP")
    s.add_argument("--scenario", default="demo", help="built-in name or TOML path")
    s.add_argument("--port", type=int, default=0, help="0 picks a free port and prints it")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--override", help="JSON object merged into the scenario")
    s.set_defaults(fn=lambda a: asyncio.run(_serve(a)))
    m = sub.add_parser("mutate", help="apply a mutation generation to a running simulator")
    m.add_argument("--port", type=int, required=True)
    m.add_argument("--host", default="127.0.0.1")
    m.add_argument("--share", type=float)
    m.add_argument("--seed", type=int)
    m.set_defaults(fn=_mutate)
    t = sub.add_parser("truth", help="write the ground truth as JSON lines")
    t.add_argument("--scenario")
    t.add_argument("--override", help="JSON object merged into the scenario")
    t.add_argument("--generation", type=int)
    t.add_argument("--mutation", action="append", help="SHARE:SEED, applied in order")
    t.add_argument("--port", type=int, help="read from a running simulator instead")
    t.add_argument("--host", default="127.0.0.1")
    t.set_defaults(fn=_truth)
    st = sub.add_parser("stats", help="call counters of a running simulator")
    st.add_argument("--port", type=int, required=True)
    st.add_argument("--host", default="127.0.0.1")
    st.set_defaults(fn=_stats)
    sc = sub.add_parser("scenarios", help="list the built-in scenarios")
    sc.set_defaults(fn=_scenarios)
    args = p.parse_args(argv)
    try:
        args.fn(args)
    except (ScenarioError, MutationError) as exc:
        raise SystemExit(f"orgsim: {exc}") from None


if __name__ == "__main__":
    main()
