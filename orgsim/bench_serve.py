"""How fast the simulator serves: pages/s and resources/s for the two hottest pages.

    python -m orgsim.bench_serve [--scenario hot-account] [--seconds 5] [--concurrency 4]

The server runs in its own process (``python -m orgsim serve``) with quotas off; the client is
a bare aiohttp loop that signs nothing (the simulator never checks signatures) and only counts
items, so what is measured is the server. It mints member credentials itself: credentials are
derived from the scenario seed, so the server accepts them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from orgsim.world import World

_NEXT = re.compile(rb"<nextToken>([^<]+)</nextToken>")


@dataclass
class Result:
    name: str
    pages: int = 0
    items: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        lat = sorted(self.latencies) or [0.0]
        return {
            "name": self.name,
            "pages": self.pages,
            "resources": self.items,
            "pages_per_s": round(self.pages / self.seconds, 1),
            "resources_per_s": round(self.items / self.seconds),
            "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
            "p95_ms": round(lat[int(len(lat) * 0.95)] * 1000, 1),
        }


def _headers(creds: dict[str, Any] | None, region: str, service: str) -> dict[str, str]:
    akid = creds["AccessKeyId"] if creds else "AKIABENCHMARK0000000"
    h = {"Authorization": f"AWS4-HMAC-SHA256 Credential={akid}/20240101/{region}/{service}/"
                          "aws4_request, SignedHeaders=host, Signature=0"}
    if creds:
        h["X-Amz-Security-Token"] = str(creds["SessionToken"])
    return h


async def _list_resources(http: aiohttp.ClientSession, url: str, filt: str, res: Result,
                          deadline: float) -> None:
    headers = _headers(None, "us-east-1", "resource-explorer-2")
    headers["Content-Type"] = "application/json"
    token = None
    while time.perf_counter() < deadline:
        body: dict[str, Any] = {"MaxResults": 999, "Filters": {"FilterString": filt}}
        if token:
            body["NextToken"] = token
        t = time.perf_counter()
        async with http.post(f"{url}/ListResources", data=orjson.dumps(body),
                             headers=headers) as resp:
            data = orjson.loads(await resp.read())
        res.latencies.append(time.perf_counter() - t)
        if resp.status != 200:
            raise RuntimeError(f"ListResources {resp.status}: {data}")
        res.pages += 1
        res.items += len(data["Resources"])
        token = data.get("NextToken")


async def _describe_instances(http: aiohttp.ClientSession, url: str, creds: dict[str, Any],
                              region: str, res: Result, deadline: float) -> None:
    headers = _headers(creds, region, "ec2")
    headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    token = None
    while time.perf_counter() < deadline:
        form = {"Action": "DescribeInstances", "Version": "2016-11-15", "MaxResults": "1000"}
        if token:
            form["NextToken"] = token
        t = time.perf_counter()
        async with http.post(url + "/", data=form, headers=headers) as resp:
            raw = await resp.read()
        res.latencies.append(time.perf_counter() - t)
        if resp.status != 200:
            raise RuntimeError(f"DescribeInstances {resp.status}: {raw[:300]!r}")
        res.pages += 1
        res.items += raw.count(b"<instanceId>")
        m = _NEXT.search(raw)
        token = m.group(1).decode() if m else None


async def _small_calls(http: aiohttp.ClientSession, url: str, res: Result,
                       deadline: float) -> None:
    headers = _headers(None, "us-east-1", "sts")
    headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    form = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        async with http.post(url + "/", data=form, headers=headers) as resp:
            await resp.read()
        res.latencies.append(time.perf_counter() - t)
        if resp.status != 200:
            raise RuntimeError(f"GetCallerIdentity {resp.status}")
        res.pages += 1
        res.items += 1


async def _run(url: str, world: World, seconds: float, concurrency: int) -> list[Result]:
    org = world.org
    inv = world.inventory
    results = []
    conn = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=conn) as http:
        # ListResources through the org view, one cursor per worker (split by region/service).
        filters = [f"region:{r}" for r in org.regions] + ["service:iam", "service:s3"]
        res = Result("ListResources (org view, 999/page, JSON)")
        deadline = time.perf_counter() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(*(
            _list_resources(http, url, filters[i % len(filters)], res, deadline)
            for i in range(concurrency)))
        res.seconds = time.perf_counter() - t0
        results.append(res)
        # DescribeInstances in the accounts x regions with the most instances.
        t = inv.type_index["ec2:instance"]
        scopes = sorted(
            ((inv.counts[inv.scope_index(a, ri, t)], a, r)
             for a, acct in enumerate(org.accounts) if acct.state == "ACTIVE"
             for ri, r in enumerate(org.regions) if r in acct.regions),
            reverse=True)[:concurrency]
        res = Result("DescribeInstances (1000/page, EC2 XML)")
        deadline = time.perf_counter() + seconds
        t0 = time.perf_counter()
        jobs = []
        for _, a, region in scopes:
            creds = world.creds.issue(org.accounts[a].account_id, "OrganizationAccountAccessRole",
                                      "bench", 3600)
            jobs.append(_describe_instances(http, url, creds, region, res, deadline))
        await asyncio.gather(*jobs)
        res.seconds = time.perf_counter() - t0
        results.append(res)
        # Per-call overhead: the smallest call there is.
        res = Result("GetCallerIdentity (per-call overhead)")
        deadline = time.perf_counter() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(*(_small_calls(http, url, res, deadline) for _ in range(concurrency)))
        res.seconds = time.perf_counter() - t0
        results.append(res)
    return results


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="hot-account")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=4)
    args = p.parse_args(argv)
    override = json.dumps({"quotas": {"enabled": False}})
    proc = subprocess.Popen(
        [sys.executable, "-m", "orgsim", "serve", "--scenario", args.scenario, "--port", "0",
         "--override", override],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        world = World(args.scenario, {"quotas": {"enabled": False}})
        results = asyncio.run(_run(url, world, args.seconds, args.concurrency))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"orgsim serve speed: scenario={args.scenario} seconds={args.seconds} "
          f"concurrency={args.concurrency} (server in its own process, quotas off)")
    for r in results:
        row = r.row()
        print(f"  {row['name']:44} {row['pages_per_s']:8.1f} pages/s {row['resources_per_s']:9d} "
              f"resources/s  p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms")
    print(json.dumps([r.row() for r in results]))


if __name__ == "__main__":
    main()
