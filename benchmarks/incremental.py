"""Incremental against full sync on one simulated organization after a change, side by side.

    python -m benchmarks.incremental org-500 [--share 0.01] [--source auto] [--timeout 3600]

One simulator for the whole measurement: a full sync builds the catalog, the catalog is copied,
the simulator mutates `share` of the resources (added, modified, deleted), then `sync
--incremental` runs on one copy and a full `sync` on the other, against the same simulated state.
Reported per run: wall time, the engine's own sync time and its commit, API calls the simulator
served, the rows the merge wrote (added / modified / deleted / restored), and the refresh tally
(which scopes were refreshed and why). Ratios are incremental / full from the same run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from benchmarks import report, tree
from benchmarks.harness import ORG_CONFIG
from benchmarks.procs import SimProcess, clean_env, run_measured


def _mutate(sim: SimProcess, share: float, seed: int) -> dict[str, Any]:
    req = urllib.request.Request(f"{sim.endpoint}/_orgsim/mutate", method="POST",
                                 data=orjson.dumps({"share": share, "seed": seed}))
    with urllib.request.urlopen(req, timeout=600) as resp:
        return dict(json.loads(resp.read()))


def _sync(sim: SimProcess, code: Path | None, workdir: Path, catalog: Path, name: str, extra: list[str],
          timeout: float | None) -> dict[str, Any]:
    config = workdir / "orgsync.toml"
    config.write_text(ORG_CONFIG)
    argv = [sys.executable, "-m", "sync", "sync", str(config), "--catalog", str(catalog), "--json", "--quiet", *extra]
    before = sim.stats()
    child = run_measured(argv, clean_env(sim.endpoint, code), workdir, name, timeout)
    after = sim.stats()
    out: dict[str, Any] = child.to_dict() | {"argv": argv[3:], "api_calls": after["total_calls"] - before["total_calls"]}
    try:
        summary = orjson.loads(child.stdout)[0]
    except (orjson.JSONDecodeError, IndexError, KeyError):
        return out | {"status": "stopped" if child.stopped else "crashed", "stderr_tail": child.stderr_tail[-1500:]}
    res = summary["resources"]
    return out | {
        "status": summary["status"], "engine_sync_s": summary["seconds"],
        "commit_and_startup_s": round(child.wall_s - summary["seconds"], 3), "seen": res["seen"],
        "written": {k: res[k] for k in ("added", "modified", "deleted", "restored") if k in res},
        "scopes": summary["scopes"], "refresh": summary.get("refresh", {}),
    }


def measure(scenario: str, share: float, seed: int, source: str | None, timeout: float | None,
            code: Path | None, log: Any) -> dict[str, Any]:
    extra = ["--source", source] if source else []
    with tempfile.TemporaryDirectory(prefix="orgsync-incr-") as tmp:
        workdir = Path(tmp)
        with SimProcess(scenario, workdir / "orgsim.log", code) as sim:
            first, inc_cat, full_cat = workdir / "first.duckdb", workdir / "inc.duckdb", workdir / "full.duckdb"
            log(f"full sync of {scenario} ...")
            initial = _sync(sim, code, workdir, first, "initial", extra, timeout)
            log(f"    {initial['wall_s']:.1f}s, {initial.get('seen')} resources")
            shutil.copy(first, inc_cat)
            shutil.copy(first, full_cat)
            generation = _mutate(sim, share, seed)
            log(f"mutated {share:.1%}: {generation}")
            log("incremental sync ...")
            incremental = _sync(sim, code, workdir, inc_cat, "incremental", extra + ["--incremental"], timeout)
            log(f"    {incremental['wall_s']:.1f}s, written {incremental.get('written')}")
            log("full sync ...")
            full = _sync(sim, code, workdir, full_cat, "full", extra, timeout)
            log(f"    {full['wall_s']:.1f}s, written {full.get('written')}")
    ratios = {k: round(incremental[k] / full[k], 3) for k in ("wall_s", "api_calls", "commit_and_startup_s")
              if incremental.get(k) and full.get(k)}
    return {"scenario": scenario, "share": share, "seed": seed, "source": source or "default",
            "mutation": generation, "initial": initial, "incremental": incremental, "full": full,
            "ratios": ratios}


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    lines = [
        f"### {data['started_at'][:16].replace('T', ' ')} UTC · `{data['scenario']}` incremental vs full · "
        f"commit `{data['commit']}`", "",
        f"`{data['command']}`  ",
        f"machine: {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}; load average "
        f"{m['load_avg_start']} before, {m.get('load_avg_end', '-')} after", "",
        "| run | wall s | engine sync s | commit + startup s | API calls | resources seen | rows written "
        "(added/modified/deleted/restored) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("initial", "incremental", "full"):
        r = data[name]
        w = r.get("written") or {}
        lines.append(f"| {name} | {r['wall_s']:,.1f} | {r.get('engine_sync_s', '-')} | {r.get('commit_and_startup_s', '-')} "
                     f"| {r['api_calls']:,} | {r.get('seen', '-')} | "
                     + "/".join(str(w.get(k, "-")) for k in ("added", "modified", "deleted", "restored")) + " |")
    lines += ["", f"- mutation of {data['share']:.1%} (seed {data['seed']}): {data['mutation']}",
              "- incremental / full, same simulated state, same run: "
              + ", ".join(f"{k} **{v:.2f}x**" for k, v in data["ratios"].items())]
    refresh = data["incremental"].get("refresh") or {}
    if refresh:
        lines.append("- incremental refresh tally: " + "; ".join(f"{k}: {v:,}" for k, v in refresh.items()))
    return "\n".join(lines) + "\n\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m benchmarks.incremental", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario")
    p.add_argument("--share", type=float, default=0.01, help="share of resources the simulator changes")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--source", help="passed to `orgsync sync --source`")
    p.add_argument("--timeout", type=float, help="seconds per sync run")
    p.add_argument("--rev", default="HEAD", help=f"git revision to measure, or '{tree.WORKTREE}'")
    p.add_argument("--results", default=str(report.RESULTS_MD))
    p.add_argument("--out", default=str(report.DEFAULT_OUT), help="directory for the JSON")
    p.add_argument("--no-results", action="store_true")
    args = p.parse_args(argv)
    started = report.now_utc()
    header = {"started_at": started.isoformat(), "commit": tree.describe(args.rev),
              "command": "python -m benchmarks.incremental " + " ".join(argv), "machine": report.machine()}
    with tree.code_tree(args.rev) as code:
        data = header | measure(args.scenario, args.share, args.seed, args.source, args.timeout, code,
                                lambda s: print(s, file=sys.stderr, flush=True))
    data["machine"]["load_avg_end"] = report.machine()["load_avg_start"]
    path = report.write_json(data, Path(args.out), f"{Path(args.scenario).stem}-incremental", started)
    text = markdown(data)
    if not args.no_results:
        with open(args.results, "a") as fh:
            fh.write(text)
    print(text + f"JSON: {path}")
    ok = all(data[r].get("status") in ("complete", "partial") for r in ("initial", "incremental", "full"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
