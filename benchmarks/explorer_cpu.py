"""CPU per 1,000 resources on the Resource Explorer path: parse + normalize + write, stage by stage.

    python -m benchmarks.explorer_cpu [--resources 200000] [--runs 7]
    python -m benchmarks.explorer_cpu --against REV [--rev worktree] [--rounds 3] [--runs 3]

Builds realistic ListResources pages (500 resources from 10 accounts and 5 types, three tags in
Properties, ISO timestamps) and measures the engine's own code on them, CPU time of the whole
process (DuckDB's threads included), per 1,000 resources, median of the runs:
  parse:     the raw client's body parser (sync.explorer.raw.parse_body; orjson.loads before it),
  normalize: the rest of sync.explorer.source.decode_page + add_answer, as list_query runs them
             (add_page before them), into the query's BatchBuilder, then its Arrow batches,
  write:     commit_run of those batches into a fresh catalog (the first sync: every row new),
  total:     parse + normalize + write of the same run: the figure the issue holds to <= 15 ms.
Also shown: the commit of the same rows again (an unchanged re-sync, which writes nothing) and
botocore's rest-json parser on a 5% sample (what a plain aiobotocore client would pay).

`--against REV` compares two revisions side by side: child processes alternate between the
packages of `--rev` (default: the working tree) and of REV (`git archive`, as the benchmark
harness does), each running this same harness, so background load falls on both alike.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from benchmarks.tree import REPO, WORKTREE, code_tree, describe
from catalog.records import RunRecord, ScopeRecord
from catalog.writer import commit_run
from sync.batches import BatchBuilder
from sync.explorer import source

try:
    from sync.explorer.raw import parse_body
except ImportError:  # revisions before parse_body: the raw client called orjson.loads itself
    def parse_body(payload: bytes) -> dict[str, Any]:
        return orjson.loads(payload) if payload else {}  # type: ignore[no-any-return]

PAGE = 500
ACCOUNTS = tuple(f"{100000000000 + 7919 * i}" for i in range(10))
TYPES = ("ec2:instance", "lambda:function", "rds:db", "dynamodb:table", "secretsmanager:secret")
STAGES = ("parse", "normalize", "write", "total", "resync_write")
LABELS = {
    "parse": "parse (raw client's orjson)",
    "normalize": "normalize + Arrow batches",
    "write": "write: commit_run, first sync",
    "total": "engine total, parse + normalize + write",
    "resync_write": "(write: unchanged re-sync, nothing written)",
    "botocore": "(botocore rest-json parse only, 5% sample)",
}


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
    from botocore.parsers import create_parser
    from botocore.session import get_session

    model = get_session().get_service_model("resource-explorer-2").operation_model("ListResources")
    parser = create_parser("rest-json")
    start = time.process_time()
    for body in pages:
        parser.parse({"status_code": 200, "headers": {}, "body": body}, model.output_shape)
    return time.process_time() - start


def engine_pass(pages: list[bytes]) -> tuple[float, float, list[pa.RecordBatch]]:
    """Parse and normalize seconds of the engine's code over all pages, and the batches it built.

    The engine decodes a page in one step (source.decode_page: parse and normalize, the collector
    paused); that pass is timed whole, and a second pass of parse_body alone, with the
    collector paused too, splits it. Older revisions parsed in the client and normalized in
    list_query: those two steps are timed as they ran.
    """
    wanted = {(a, "eu-west-1", t) for a in ACCOUNTS for t in TYPES}
    builder = BatchBuilder(source="explorer-aggregator", scope_region=None, owner_tag_key="owner")
    counts: dict[tuple[str, str, str], int] = {}
    clock = time.process_time
    decode = getattr(source, "decode_page", None)
    parse = normalize = 0.0
    if decode is not None:
        t0 = clock()
        for body in pages:
            source.add_answer(decode(body, wanted, frozenset(), "owner"), wanted, builder, counts, frozenset())
        decoded = clock() - t0
        gc_was = gc.isenabled()
        gc.disable()
        t0 = clock()
        for body in pages:
            parse_body(body)
        parse = clock() - t0
        if gc_was:
            gc.enable()
        normalize = decoded - parse
    else:
        for body in pages:
            t0 = clock()
            page = parse_body(body)
            t1 = clock()
            source.add_page(page["Resources"], wanted, builder, counts, frozenset())
            del page  # as in list_query: the next page replaces it
            parse += t1 - t0
            normalize += clock() - t1
    t0 = clock()
    batches = builder.batches()
    return parse, normalize + clock() - t0, batches


def _run_record(batches: list[pa.RecordBatch]) -> RunRecord:
    now = datetime.now(UTC)
    scope = ScopeRecord("1", "eu-west-1", "ec2:instance", "explorer-aggregator", "bench", "complete", None, None,
                        0, 0, 0, 0, 0, now, 0)
    return RunRecord(integration="bench", kind="aws-organization", settings={}, mode="full", started_at=now,
                     finished_at=now, error=None, accounts=[], scopes=[scope], rows=batches)


def commit_twice(batches: list[pa.RecordBatch]) -> tuple[float, float]:
    """CPU seconds of the first commit into a fresh catalog, then of the same rows again."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "c.duckdb")
        start = time.process_time()
        commit_run(path, _run_record(batches))
        first = time.process_time() - start
        start = time.process_time()
        counts = commit_run(path, _run_record(batches))
        again = time.process_time() - start
    if counts.added or counts.modified or counts.restored or counts.deleted:
        raise AssertionError(f"an unchanged re-sync wrote rows: {counts}")
    return first, again


def measure(pages: list[bytes], runs: int) -> dict[str, list[float]]:
    """ms per 1,000 resources of each stage, one value per run."""
    per_k = 1e6 / (len(pages) * PAGE)  # seconds -> ms per 1,000 resources
    out: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for _ in range(runs):
        parse, normalize, batches = engine_pass(pages)
        write, resync = commit_twice(batches)
        del batches
        for stage, seconds in zip(STAGES, (parse, normalize, write, parse + normalize + write, resync)):
            out[stage].append(seconds * per_k)
    return out


def _child(rev: str, tree: Path | None, resources: int, runs: int) -> dict[str, list[float]]:
    # Packages of `tree` ahead of the repository (which supplies this harness); a neutral cwd,
    # since `python -m` puts the cwd first on sys.path.
    path = os.pathsep.join(p for p in (str(tree) if tree else "", str(REPO)) if p)
    env = {**os.environ, "PYTHONPATH": path}
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run([sys.executable, "-m", "benchmarks.explorer_cpu", "--child", "--resources",
                               str(resources), "--runs", str(runs)],
                              cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"the benchmark at {rev} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def compare(revs: tuple[str, str], resources: int, rounds: int, runs: int, log: Callable[[str], None]) -> None:
    names = tuple(describe(rev) for rev in revs)
    samples: dict[str, dict[str, list[float]]] = {name: {stage: [] for stage in STAGES} for name in names}
    with code_tree(revs[0]) as tree_a, code_tree(revs[1]) as tree_b:
        for i in range(rounds):
            for rev, name, tree in ((revs[0], names[0], tree_a), (revs[1], names[1], tree_b)):
                for stage, values in _child(rev, tree, resources, runs).items():
                    samples[name][stage].extend(values)
            log(f"round {i + 1}/{rounds}: " + ", ".join(
                f"{n} {statistics.median(samples[n]['total']):.1f} ms" for n in names))
    count = len(samples[names[0]]["total"])
    log(f"resources: {resources // PAGE * PAGE:,} in pages of {PAGE}; CPU ms per 1,000 resources, median of "
        f"{count} runs each ({rounds} alternating rounds x {runs} runs per process):")
    log(f"  {'stage':46s} {names[1]:>14s} {names[0]:>14s}  ratio")
    for stage in STAGES:
        before, after = (statistics.median(samples[n][stage]) for n in (names[1], names[0]))
        log(f"  {LABELS[stage]:46s} {before:14.2f} {after:14.2f}  {after / before:5.2f}x")


def report(samples: dict[str, list[float]], resources: int, log: Callable[[str], None]) -> None:
    runs = len(samples["total"])
    log(f"resources: {resources:,} in pages of {PAGE}; CPU ms per 1,000 resources, median of {runs} runs "
        f"(min-max):")
    for stage, values in samples.items():
        target = "  (target <= 15 ms)" if stage == "total" else ""
        log(f"  {LABELS[stage]:46s} {statistics.median(values):7.2f}  ({min(values):.2f}-{max(values):.2f}){target}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--resources", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7, help="measured runs (per child process with --against)")
    parser.add_argument("--against", metavar="REV", help="compare with the packages at this git revision")
    parser.add_argument("--rev", default=WORKTREE, help="with --against: the other side (default: worktree)")
    parser.add_argument("--rounds", type=int, default=3, help="with --against: alternating child processes")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.against:
        compare((args.rev, args.against), args.resources, args.rounds, args.runs, print)
        return
    pages = [make_page(seed) for seed in range(max(1, args.resources // PAGE))]
    samples = measure(pages, args.runs)
    if args.child:
        print(json.dumps(samples))
        return
    sample = pages[: max(1, len(pages) // 20)]  # botocore is slow: a 5% sample, scaled per 1,000
    samples["botocore"] = [botocore_parse(sample) / (len(sample) * PAGE) * 1e6 for _ in range(3)]
    report(samples, len(pages) * PAGE, print)


if __name__ == "__main__":
    main()
