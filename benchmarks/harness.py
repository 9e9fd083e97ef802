"""One benchmark run: a fresh simulator per measured run, orgsync and the baseline side by side.

Each measured run gets its own simulator process, so every run starts with full token buckets
and cold simulator caches. With a baseline, runs alternate (baseline, orgsync, baseline,
orgsync, ...) so that whatever else loads the machine falls on both alike; tools are compared
by the ratio of their median wall times.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson

from benchmarks.procs import ChildResult, SimProcess, child_cwd, clean_env, run_measured

ORG_CONFIG = """[[integration]]
name = "bench-org"
type = "aws-organization"
region = "us-east-1"
sso_region = "us-east-1"
sso_portal = "https://bench.awsapps.com/start"
"""
BASELINE_SCENARIOS = frozenset({"small"})  # the hand-written baseline takes minutes beyond these
ORGSYNC = "orgsync"


@dataclass
class RunOptions:
    scenario: str
    # `orgsync sync --source` values, measured alternating in one run; () = the engine's default.
    sources: tuple[str, ...] = ()
    quick: bool = False
    rounds: int | None = None  # None: 2 with a baseline (alternating), else 1
    baseline: bool | None = None  # None: on for the scenarios in BASELINE_SCENARIOS
    threads: bool = True  # also the ThreadPoolExecutor baseline (not in --quick)
    timeout: float | None = None  # per orgsync run; interrupted runs report how far they got
    max_rss_mb: float | None = None  # stop a run whose RSS grows past this (shared machine)
    profile_path: Path | None = None  # run orgsync under cProfile, dumping here
    tree: Path | None = None  # the packages measured (benchmarks.tree); None: the working tree
    notes: list[str] = field(default_factory=list)

    @property
    def with_baseline(self) -> bool:
        return self.baseline if self.baseline is not None else self.scenario in BASELINE_SCENARIOS


def engine_supports_source(tree: Path | None) -> bool:
    help_text = subprocess.run([sys.executable, "-m", "sync", "sync", "--help"], capture_output=True,
                               text=True, env=clean_env(tree=tree), cwd=child_cwd(tree), check=False).stdout
    return "--source" in help_text


def scenario_facts(scenario: str, tree: Path | None) -> dict[str, Any]:
    """Bounds and ground truth, computed by the measured revision's own simulator code."""
    out = subprocess.run([sys.executable, "-m", "benchmarks", "facts", scenario], capture_output=True,
                         text=True, env=clean_env(tree=tree), cwd=child_cwd(tree), check=True).stdout
    return dict(orjson.loads(out))


def _catalog_by_type(catalog: Path) -> dict[str, int]:
    if not catalog.exists():
        return {}
    with duckdb.connect(str(catalog), read_only=True) as con:
        rows = con.execute("SELECT resource_type, count(*) FROM current_resources GROUP BY 1 ORDER BY 1").fetchall()
        return {str(t): int(n) for t, n in rows}


def _slowest_scopes(catalog: Path) -> list[dict[str, Any]]:
    if not catalog.exists():
        return []
    with duckdb.connect(str(catalog), read_only=True) as con:
        rows = con.execute("""SELECT account_id, region, resource_type, duration_ms, api_calls, throttles
                              FROM sync_scopes ORDER BY duration_ms DESC LIMIT 3""").fetchall()
    keys = ("account_id", "region", "resource_type", "duration_ms", "api_calls", "throttles")
    return [dict(zip(keys, r)) for r in rows]


LAST_ACCOUNTS_SQL = """
WITH run AS (SELECT started_at AS t0 FROM sync_runs ORDER BY sync_id DESC LIMIT 1)
SELECT account_id, round(epoch(min(s.started_at) - run.t0), 2) AS first_scope_s,
       round(max(epoch(s.started_at - run.t0) + duration_ms / 1000.0), 2) AS last_done_s,
       sum(api_calls)::BIGINT AS api_calls, sum(resources)::BIGINT AS resources
FROM sync_scopes s, run GROUP BY account_id, run.t0 ORDER BY last_done_s DESC LIMIT 3"""


def _last_accounts(catalog: Path) -> list[dict[str, Any]]:
    """The accounts that finished last: when their first scope started (how late the walk found
    them) and when their last one ended, in seconds from the start of the sync."""
    if not catalog.exists():
        return []
    with duckdb.connect(str(catalog), read_only=True) as con:
        rows = con.execute(LAST_ACCOUNTS_SQL).fetchall()
    keys = ("account_id", "first_scope_s", "last_done_s", "api_calls", "resources")
    return [dict(zip(keys, (r[0], float(r[1]), float(r[2]), int(r[3]), int(r[4])))) for r in rows]


CRITICAL_SCOPES_SQL = """
WITH run AS (SELECT started_at AS t0 FROM sync_runs ORDER BY sync_id DESC LIMIT 1)
SELECT region, resource_type, round(epoch(s.started_at - run.t0), 2) AS start_s,
       round(duration_ms / 1000.0, 2) AS seconds, api_calls, throttles, resources
FROM sync_scopes s, run WHERE account_id = $account ORDER BY start_s"""


def _account_scopes(catalog: Path, account_id: str) -> list[dict[str, Any]]:
    """Every scope of one account on the run's clock: when each could start (a free worker)."""
    with duckdb.connect(str(catalog), read_only=True) as con:
        rows = con.execute(CRITICAL_SCOPES_SQL, {"account": account_id}).fetchall()
    keys = ("region", "resource_type", "start_s", "seconds", "api_calls", "throttles", "resources")
    return [dict(zip(keys, (r[0], r[1], float(r[2]), float(r[3]), int(r[4]), int(r[5]), int(r[6])))) for r in rows]


def _measured(child: ChildResult, sim: SimProcess, stats: dict[str, Any]) -> dict[str, Any]:
    served = sum(n for op, n in stats.get("items", {}).items())
    return child.to_dict() | {
        "sim_calls": stats.get("total_calls", 0), "sim_throttled": stats.get("throttled_total", 0),
        "sim_calls_by_op": stats.get("calls", {}), "sim_throttled_by_op": stats.get("throttled", {}),
        "sim_errors": stats.get("errors", {}), "sim_resources_served": served,
        "sim_cpu_s": round(sim.cpu_s, 2), "sim_peak_rss_mb": round(sim.peak_rss_kb / 1024, 1),
        "stderr_tail": child.stderr_tail[-1500:] if child.exit_code not in (0, 1) else "",
    }


def run_orgsync(opts: RunOptions, workdir: Path, index: int, source: str | None) -> dict[str, Any]:
    config = workdir / "orgsync.toml"
    config.write_text(ORG_CONFIG)
    catalog = workdir / f"catalog-{index}.duckdb"
    argv = [sys.executable, "-m", "sync", "sync", str(config), "--catalog", str(catalog), "--json", "--quiet"]
    if source:
        argv += ["--source", source]
    if opts.profile_path is not None:
        argv = [sys.executable, "-m", "cProfile", "-o", str(opts.profile_path)] + argv[1:]
    with SimProcess(opts.scenario, workdir / "orgsim.log", opts.tree) as sim:
        child = run_measured(argv, clean_env(sim.endpoint, opts.tree), workdir, f"orgsync-{index}", opts.timeout,
                             opts.max_rss_mb)
        stats = sim.stats()
    out = _measured(child, sim, stats) | {"argv_source": source}
    try:
        summary = orjson.loads(child.stdout)[0]
    except (orjson.JSONDecodeError, IndexError, KeyError):
        summary = None
    if summary is not None:
        out |= {"resources": summary["resources"]["seen"], "engine_sync_s": summary["seconds"],
                "commit_and_startup_s": round(child.wall_s - summary["seconds"], 3),
                "engine_api_calls": summary["api_calls"], "engine_throttles": summary["throttles"],
                "retries": summary["retries"], "status": summary["status"], "accounts": summary["accounts"],
                "scopes": summary["scopes"],
                "failed_scope_codes": sorted({s["error_code"] for s in summary["failed_scopes"]}),
                "by_type": _catalog_by_type(catalog), "slowest_scopes": _slowest_scopes(catalog),
                "last_accounts": _last_accounts(catalog)}
        if out["last_accounts"]:
            out["last_account_scopes"] = _account_scopes(catalog, out["last_accounts"][0]["account_id"])
    else:
        # Interrupted or crashed: how far it got is what the simulator served.
        out |= {"resources": None, "status": f"stopped ({child.stopped})" if child.stopped else "crashed",
                "retries": None}
    catalog.unlink(missing_ok=True)
    return out


def run_baseline(opts: RunOptions, workdir: Path, mode: str, index: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "benchmarks.baseline", "--mode", mode]
    with SimProcess(opts.scenario, workdir / "orgsim.log", opts.tree) as sim:
        child = run_measured(argv, clean_env(sim.endpoint, opts.tree), workdir, f"baseline-{mode}-{index}",
                             opts.timeout, opts.max_rss_mb)
        stats = sim.stats()
    out = _measured(child, sim, stats)
    try:
        result = orjson.loads(child.stdout)
    except orjson.JSONDecodeError:
        return out | {"resources": None, "status": "failed", "retries": None}
    return out | {"resources": result["resources"], "by_type": result["by_type"],
                  "failed_accounts": result["failed_accounts"], "status": "complete", "retries": None}


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarize_tool(runs: list[dict[str, Any]], truth: int, truth_by_type: dict[str, int],
                   bound_s: float | None) -> dict[str, Any]:
    wall = _median(runs, "wall_s") or 0.0
    resources = runs[-1].get("resources")
    served = runs[-1]["sim_resources_served"]
    by_type = runs[-1].get("by_type") or {}
    return {
        "runs": len(runs), "wall_s": round(wall, 3), "wall_s_each": [r["wall_s"] for r in runs],
        "resources": resources,
        "count_matches_truth": all(r.get("resources") == truth for r in runs),
        "type_mismatches": {t: {"got": by_type.get(t, 0), "truth": n} for t, n in truth_by_type.items()
                            if by_type and by_type.get(t, 0) != n},
        # An interrupted run has no count of its own: the simulator's is how far it got.
        "resources_per_s": round((resources if resources is not None else served) / wall, 1) if wall else None,
        "api_calls": _median(runs, "sim_calls"), "throttled": _median(runs, "sim_throttled"),
        "retries": _median(runs, "retries"), "peak_rss_mb": _median(runs, "peak_rss_mb"),
        "cpu_s": _median(runs, "cpu_s"),
        "cpu_per_wall": round((_median(runs, "cpu_s") or 0.0) / wall, 3) if wall else None,
        # Unfinished runs have no efficiency: the wall time is where they were stopped.
        "efficiency": round(bound_s / wall, 4) if bound_s and wall and resources is not None else None,
        "progress": None if resources is not None else round(served / truth, 4) if truth else None,
    }


def tool_name(source: str | None, sources: tuple[str, ...]) -> str:
    return f"{ORGSYNC}[{source}]" if len(sources) > 1 else ORGSYNC


def _interrupted_notes(name: str, tool: dict[str, Any], last: dict[str, Any], opts: RunOptions,
                       needed: dict[str, int]) -> list[str]:
    why = {"timeout": f"was interrupted at its {opts.timeout or 0:.0f} s time limit",
           "memory": f"was interrupted when its RSS passed {opts.max_rss_mb or 0:,.0f} MB "
                     f"(after {last['wall_s']:.0f} s)"}.get(last.get("stopped", ""), f"failed (exit {last['exit_code']})")
    notes = [f"{name} {why}: its list calls had returned {tool['progress']:.1%} of the reachable resources by then"]
    # IAM is the usual critical path: how far its unavoidable calls got.
    iam_ops = [op for op in needed if op.startswith("iam:") and op != "iam:ListGroups"]
    done = sum(last["sim_calls_by_op"].get(op, 0) - last["sim_throttled_by_op"].get(op, 0) for op in iam_ops)
    total = sum(needed[op] for op in iam_ops)
    if total:
        notes.append(f"IAM calls (the critical path) done: {done:,} of {total:,} ({done / total:.0%})")
    if last.get("stopped") and last["exit_code"] == -9:
        notes.append(f"{name} did not exit within 60 s of SIGINT and was killed")
    return notes


def run(opts: RunOptions, log: Callable[[str], None] = print) -> dict[str, Any]:
    supports_source = engine_supports_source(opts.tree)
    if opts.sources and not supports_source:
        raise SystemExit(f"--source {opts.sources[0]}: this engine's `orgsync sync` has no --source option yet")
    facts = scenario_facts(opts.scenario, opts.tree)
    bounds = facts["bounds"]

    # An engine without Resource Explorer (or forced to services) is held to the services bound,
    # forced explorer to the aggregator view's own, auto only to the bound that holds for every source.
    def model_of(source: str | None) -> str:
        if not supports_source:
            return "services"
        return source if source in ("services", "explorer") else "any"

    sources: list[str | None] = list(opts.sources) or [None]
    by_type: dict[str, int] = facts["truth_by_type"]
    truth = sum(by_type.values())
    schedule: list[tuple[str, str | None, str | None]] = []  # (tool, baseline mode, orgsync source)
    rounds = 1 if opts.quick else opts.rounds or (2 if opts.with_baseline else 1)
    for _ in range(rounds):
        if opts.with_baseline:
            schedule.append(("baseline-sequential", "sequential", None))
        schedule += [(tool_name(src, opts.sources), None, src) for src in sources]
        if opts.with_baseline and opts.threads and not opts.quick:
            schedule.append(("baseline-threads", "threads", None))
    runs: dict[str, list[dict[str, Any]]] = {}
    orgsync_tools = {tool_name(src, opts.sources): src for src in sources}
    with tempfile.TemporaryDirectory(prefix="orgsync-bench-") as tmp:
        workdir = Path(tmp)
        for i, (tool, mode, src) in enumerate(schedule):
            log(f"[{i + 1}/{len(schedule)}] {tool} on {opts.scenario} ...")
            result = run_orgsync(opts, workdir, i, src) if mode is None else run_baseline(opts, workdir, mode, i)
            log(f"    wall {result['wall_s']:.1f}s, resources {result.get('resources')}, "
                f"calls {result['sim_calls']}, throttled {result['sim_throttled']}, exit {result['exit_code']}")
            runs.setdefault(tool, []).append(result)
    # The bound is for the catalog's work, OU walk included (OU paths, subtree exclusion); the
    # baseline skips the walk (ListAccounts), so efficiency means nothing for it.
    tools = {t: summarize_tool(r, truth, by_type, float(bounds[model_of(orgsync_tools[t])]["seconds"])
                               if t in orgsync_tools else None) for t, r in runs.items()}
    for t, src in orgsync_tools.items():
        tools[t]["bound_model"] = model_of(src)
    first = next(iter(orgsync_tools))
    data: dict[str, Any] = {
        "scenario": opts.scenario, "source": ",".join(opts.sources) or ("default" if supports_source else "services"),
        "engine_has_source_option": supports_source, "quick": opts.quick,
        "truth_resources": truth, "truth_by_type": by_type,
        "bound": bounds[model_of(sources[0])], "bounds": bounds,
        "tools": tools, "runs": runs, "notes": list(opts.notes),
    }
    for other in dict.fromkeys(model_of(s) for s in sources if model_of(s) != model_of(sources[0])):
        data["notes"].append(f"efficiency of the {other}-model tools is against the {other} bound: "
                             f"**{bounds[other]['seconds']:,.1f} s**")
    head = tools[first]
    for name, t in tools.items():
        if name != first and head["wall_s"]:
            ratio = round(t["wall_s"] / head["wall_s"], 3)
            data.setdefault("baseline_ratio", {})[name] = ratio
            verdict = ("the same within 5%" if abs(ratio - 1) < 0.05
                       else f"{first} faster" if ratio > 1 else f"{first} slower")
            data["notes"].append(f"{name} / {first} wall (medians, alternating runs): **{ratio:.2f}x** ({verdict})")
    if any(name not in orgsync_tools for name in tools):
        data["notes"].append("the baseline finds accounts with ListAccounts and records no OU paths; orgsync "
                             f"walks the OU tree ({data['bound']['org_walk_calls']} Organizations calls = "
                             f"{data['bound']['org_walk_seconds']:.1f} s at the quota), so the bound and "
                             "efficiency apply to orgsync only")
    for name, src in orgsync_tools.items():
        if tools[name].get("progress") is not None:
            data["notes"] += _interrupted_notes(name, tools[name], runs[name][-1], opts,
                                                bounds[model_of(src)].get("calls_by_op", {}))
    return data
