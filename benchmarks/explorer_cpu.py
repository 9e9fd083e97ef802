"""CPU per 1,000 resources on the Resource Explorer path: parse + normalize + write, side by side.

    python -m benchmarks.explorer_cpu [--resources 200000]

Builds realistic ListResources pages (500 resources, tags in Properties, ISO timestamps), then
measures in one process, alternating, best of several rounds:
  botocore: botocore's rest-json parser on the page (what a plain aiobotocore client pays),
  fast:     orjson.loads + normalize_explorer + BatchBuilder (what the engine does),
  commit:   commit_run of the resulting Arrow batches into a fresh DuckDB catalog.
The target from our issue: parse + normalize + write at most 15 ms per 1,000 resources.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import datetime, timezone

import orjson
from botocore.parsers import create_parser
from botocore.session import get_session

from catalog.records import RunRecord, ScopeRecord
from catalog.writer import commit_run
from sync.batches import BatchBuilder
from sync.explorer.source import add_page

PAGE = 500
ACCOUNTS = tuple(f"{100000000000 + 7919 * i}" for i in range(10))
TYPES = ("ec2:instance", "lambda:function", "rds:db", "dynamodb:table", "secretsmanager:secret")


def make_page(seed: int) -> bytes:
    rng = random.Random(seed)
    items = []
    for i in range(PAGE):
        account = ACCOUNTS[rng.randrange(len(ACCOUNTS))]  # an aggregator page mixes a batch of accounts
        rtype = rng.choice(TYPES)
        service, name = rtype.split(":")
        tags = [{"Key": "owner", "Value": f"user{rng.randrange(500)}"}, {"Key": "env", "Value": "prod"},
                {"Key": "team", "Value": f"team-{rng.randrange(40)}"}]
        items.append({
            "Arn": f"arn:aws:{service}:eu-west-1:{account}:{name}/{seed}-{i:06d}",
            "OwningAccountId": account, "Region": "eu-west-1", "ResourceType": rtype, "Service": service,
            "LastReportedAt": "2026-11-20T10:11:12.000Z",
            "Properties": [{"Name": "tags", "LastReportedAt": "2026-11-20T10:11:12.000Z", "Data": tags}],
        })
    return orjson.dumps({"Resources": items, "NextToken": "t", "ViewArn": "arn:aws:resource-explorer-2:v"})


def botocore_parse(pages: list[bytes]) -> float:
    model = get_session().get_service_model("resource-explorer-2").operation_model("ListResources")
    parser = create_parser("rest-json")
    start = time.process_time()
    for body in pages:
        parser.parse({"status_code": 200, "headers": {}, "body": body}, model.output_shape)
    return time.process_time() - start


def fast_path(pages: list[bytes]) -> tuple[float, list]:  # type: ignore[type-arg]
    """The engine's own code: orjson, then sync.explorer.source.add_page into the query's builder."""
    wanted = {(a, "eu-west-1", t) for a in ACCOUNTS for t in TYPES}
    builder = BatchBuilder(source="explorer-aggregator", scope_region=None, owner_tag_key="owner")
    counts: dict[tuple[str, str, str], int] = {}
    start = time.process_time()
    for body in pages:
        add_page(orjson.loads(body)["Resources"], wanted, builder, counts, frozenset())
    batches = builder.batches()
    return time.process_time() - start, batches


def commit(batches: list) -> float:  # type: ignore[type-arg]
    now = datetime.now(timezone.utc)
    scope = ScopeRecord("1", "eu-west-1", "ec2:instance", "explorer-aggregator", "bench", "complete", None, None,
                        0, 0, 0, 0, 0, now, 0)
    run = RunRecord(integration="bench", kind="aws-organization", settings={}, mode="full", started_at=now,
                    finished_at=now, error=None, accounts=[], scopes=[scope], rows=batches)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.process_time()
        commit_run(os.path.join(tmp, "c.duckdb"), run)
        return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pages = [make_page(seed) for seed in range(args.resources // PAGE)]
    n = len(pages) * PAGE
    sample = pages[: max(1, len(pages) // 20)]  # botocore is slow: a 5% sample, scaled per 1,000
    best = {"botocore": float("inf"), "fast": float("inf"), "commit": float("inf")}
    for _ in range(args.rounds):
        best["botocore"] = min(best["botocore"], botocore_parse(sample) / (len(sample) * PAGE) * 1000)
        seconds, batches = fast_path(pages)
        best["fast"] = min(best["fast"], seconds / n * 1000)
        best["commit"] = min(best["commit"], commit(batches) / n * 1000)
    total = best["fast"] + best["commit"]
    print(f"resources: {n:,} in pages of {PAGE}; CPU ms per 1,000 resources (best of {args.rounds}):")
    print(f"  botocore rest-json parse only:           {best['botocore'] * 1000:8.1f} ms")
    print(f"  orjson + normalize + Arrow (engine):     {best['fast'] * 1000:8.1f} ms")
    print(f"  DuckDB commit (first sync, all new):     {best['commit'] * 1000:8.1f} ms")
    print(f"  engine total, parse + normalize + write: {total * 1000:8.1f} ms  (target <= 15 ms)")
    print(f"  botocore parse alone / engine parse+normalize: {best['botocore'] / best['fast']:.1f}x")


if __name__ == "__main__":
    main()
