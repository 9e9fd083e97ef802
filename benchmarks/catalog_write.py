"""Catalog write cost: a full commit of N resources vs re-syncs that change 1% of them.

No AWS and no simulator: rows are generated with Arrow and handed to `catalog.writer.commit_run`
exactly as the engine hands them over. Three commits run on one catalog, side by side:

1. full:             an empty catalog receives N resources (the first sync)
2. full re-sync:     all N staged again, 1% of them changed (half retagged, a quarter deleted,
                     a quarter new): every scope completed, so the writer compares everything
3. incremental:      only the scopes of one resource type in five are due for refresh and
                     staged (a fifth of the rows); a fresh 1% of all resources changes, all
                     inside them; the other scopes are not touched

For each: wall time, CPU time of the process (steadier than wall time on a shared machine),
bytes the process wrote to disk (/proc/self/io write_bytes, which counts the WAL and the
checkpoint), the catalog file's growth, and history rows written.

    .venv/bin/python -m benchmarks.catalog_write                 # 1M resources
    .venv/bin/python -m benchmarks.catalog_write --rows 200000 --keep /tmp/bench.duckdb
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from catalog.records import RunRecord, ScopeRecord
from catalog.staging import STAGED_SCHEMA
from catalog.writer import commit_run

TYPES = ("ec2:instance", "lambda:function", "s3:bucket", "rds:db", "dynamodb:table")
REGIONS = ("us-east-1", "eu-west-1")
ACCOUNTS = 200
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
Key = tuple[int, int, int]


@dataclass
class Measure:
    label: str
    staged: int
    seconds: float
    cpu_seconds: float
    disk_write_mb: float
    file_growth_mb: float
    changes: int | None
    counts: str


def _write_bytes() -> int:
    # What reached the block layer for this process: the WAL, the checkpoint and the fsyncs that
    # DuckDB does at every commit and checkpoint.
    with open("/proc/self/io") as fh:
        for line in fh:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


def _mod(values: pa.Array, n: int) -> pa.Array:
    return pc.modulo(values, n)


def scope_of(ids: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Deterministic account / region / type indexes of resource numbers."""
    return (_mod(ids, ACCOUNTS), _mod(pc.divide(ids, ACCOUNTS), len(REGIONS)),
            _mod(pc.divide(ids, ACCOUNTS * len(REGIONS)), len(TYPES)))


def _strings(values: pa.Array, prefix: str, width: int = 0) -> pa.Array:
    text = pc.cast(values, pa.string())
    if width:
        text = pc.utf8_lpad(text, width=width, padding="0")
    return pc.binary_join_element_wise(prefix, text, "")


def make_rows(ids: pa.Array, tag_generation: pa.Array) -> pa.Table:
    """Staged rows for resource numbers `ids`; `tag_generation` changes a resource's owner tag."""
    acc, reg, typ = scope_of(ids)
    account = _strings(pc.add(acc, 100000000000), "")
    region = pc.take(pa.array(REGIONS), reg)
    rtype = pc.take(pa.array(TYPES), typ)
    service = pc.take(pa.array([t.split(":")[0] for t in TYPES]), typ)
    rid = _strings(ids, "r-", 10)
    arn = pc.binary_join_element_wise("arn:aws:", service, ":", region, ":", account, ":", rtype, "/", rid, "")
    owner = _strings(_mod(pc.add(pc.multiply(ids, 7), pc.multiply(tag_generation, 13)), 97), "team-")
    tags = pc.binary_join_element_wise('{"env":"prod","owner":"', owner, '","project":"p', rid, '"}', "")
    props = pc.binary_join_element_wise('{"InstanceType":"m5.large","State":"running","Id":"', rid, '"}', "")
    n = len(ids)
    return pa.table(
        {
            "arn": arn, "account_id": account, "region": region, "scope_region": region, "service": service,
            "resource_type": rtype, "resource_id": rid, "name": rid, "tags": tags, "owner_tag_value": owner,
            "source": pa.array(["services"] * n), "properties": props,
            "last_reported_at": pa.array([START] * n, pa.timestamp("us", tz="UTC")),
        },
        schema=STAGED_SCHEMA,
    )


def _run(ids: pa.Array, gen: pa.Array, scope_keys: set[Key], at: datetime, mode: str) -> RunRecord:
    acc, reg, typ = scope_of(ids)
    per_scope: dict[Key, int] = {}
    keys = pa.table({"a": acc, "r": reg, "t": typ}).group_by(["a", "r", "t"]).aggregate([([], "count_all")])
    for a, r, t, c in zip(*(keys[name].to_pylist() for name in ("a", "r", "t", "count_all"))):
        per_scope[(a, r, t)] = c
    scopes = [
        ScopeRecord(account_id=str(a + 100000000000), region=REGIONS[r], resource_type=TYPES[t], source="services",
                    reason="benchmark", status="complete", error_code=None, error_message=None,
                    resources=per_scope.get((a, r, t), 0), pages=1, api_calls=1, throttles=0, retries=0,
                    started_at=at, duration_ms=1)
        for a, r, t in sorted(scope_keys)
    ]
    return RunRecord(integration="bench", kind="aws-organization", settings={}, mode=mode, started_at=at,
                     finished_at=at, error=None, accounts=[], scopes=scopes,
                     rows=make_rows(ids, gen).to_batches(max_chunksize=50_000))


def _measure(label: str, path: str, run: RunRecord) -> Measure:
    size_before = os.path.getsize(path) if os.path.exists(path) else 0
    written = _write_bytes()
    started, cpu = time.perf_counter(), time.process_time()
    counts = commit_run(path, run)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    disk = (_write_bytes() - written) / 1e6
    with duckdb.connect(path, read_only=True) as con:
        has = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'resource_changes'").fetchone()
        row = (con.execute("SELECT count(*) FROM resource_changes WHERE sync_id = ?", [counts.sync_id]).fetchone()
               if has and has[0] else None)
    return Measure(label, sum(b.num_rows for b in run.rows), seconds, cpu, disk,
                   (os.path.getsize(path) - size_before) / 1e6, int(row[0]) if row else None,
                   f"+{counts.added} ~{counts.modified} -{counts.deleted} r{counts.restored}")


def mutate(live: pa.Array, gen: pa.Array, changes: int, new_ids: pa.Array, seed: int) -> tuple[pa.Array, pa.Array]:
    """`changes` resources of `live` change: half retagged, a quarter deleted, a quarter added."""
    picked = random.Random(seed).sample(range(len(live)), changes)
    retag, delete = picked[: changes // 2], picked[changes // 2: changes // 2 + changes // 4]
    bump = pa.array([False] * len(live)).to_pylist()
    for i in retag:
        bump[i] = True
    gen = pc.if_else(pa.array(bump), pc.add(gen, 1), gen)
    keep = [True] * len(live)
    for i in delete:
        keep[i] = False
    mask = pa.array(keep)
    added = new_ids[: changes // 4]
    return (pa.concat_arrays([pc.filter(live, mask), added]),
            pa.concat_arrays([pc.filter(gen, mask), pa.array([0] * len(added), pa.int64())]))


def fresh_ids(next_id: int, count: int, resource_type: int | None = None) -> pa.Array:
    """`count` unused resource numbers from next_id on, all of one type index if given."""
    candidates = pa.array(range(next_id, next_id + count * (len(TYPES) + 1) * 2), pa.int64())
    if resource_type is not None:
        candidates = pc.filter(candidates, pc.equal(scope_of(candidates)[2], resource_type))
    return candidates[:count]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--share", type=float, default=0.01, help="share of resources changed per re-sync")
    parser.add_argument("--keep", help="write the catalog here instead of a temporary directory")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or str(Path(tmp) / "bench.duckdb")
        Path(path).unlink(missing_ok=True)
        all_scopes = {(a, r, t) for a in range(ACCOUNTS) for r in range(len(REGIONS)) for t in range(len(TYPES))}
        live = pa.array(range(args.rows), pa.int64())
        gen = pa.array([0] * args.rows, pa.int64())
        results = [_measure("full (first sync)", path, _run(live, gen, all_scopes, START, "full"))]

        k = int(args.rows * args.share)
        new = fresh_ids(args.rows, k)
        next_id = new[-1].as_py() + 1
        live, gen = mutate(live, gen, k, new, seed=1)
        at = START + timedelta(hours=1)
        results.append(_measure(f"full re-sync, {args.share:.0%} changed", path, _run(live, gen, all_scopes, at, "full")))

        # The same number of changes, all inside the scopes of the one type due for refresh.
        due_type = 0
        in_due = pc.equal(scope_of(live)[2], due_type)
        sub_live, sub_gen = mutate(pc.filter(live, in_due), pc.filter(gen, in_due), k,
                                   fresh_ids(next_id, k, due_type), seed=2)
        due = {key for key in all_scopes if key[2] == due_type}
        at += timedelta(hours=1)
        results.append(_measure(f"incremental, {args.share:.0%} changed, {len(due)}/{len(all_scopes)} scopes",
                                path, _run(sub_live, sub_gen, due, at, "incremental")))

        print(f"{'commit':46} {'staged':>9} {'seconds':>8} {'CPU s':>7} {'disk MB':>8} {'file +MB':>8} {'history':>8}  merge")
        for m in results:
            history = "-" if m.changes is None else f"{m.changes:,}"
            print(f"{m.label:46} {m.staged:>9,} {m.seconds:>8.2f} {m.cpu_seconds:>7.2f} {m.disk_write_mb:>8.1f} {m.file_growth_mb:>8.1f} "
                  f"{history:>8}  {m.counts}")
        full = results[0]
        for m in results[1:]:
            print(f"{m.label}: {m.seconds / full.seconds:.2f}x the full commit's time, "
                  f"{m.cpu_seconds / full.cpu_seconds:.2f}x its CPU, "
                  f"{m.disk_write_mb / max(full.disk_write_mb, 1e-9):.2f}x its disk writes")


if __name__ == "__main__":
    main()
