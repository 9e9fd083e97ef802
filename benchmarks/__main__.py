"""``python -m benchmarks``: measure orgsync against the simulator (see benchmarks/README.md).

    python -m benchmarks run small                   # orgsync and the boto3 baseline, alternating
    python -m benchmarks run org-500 --timeout 3600  # orgsync alone; efficiency against the bound
    python -m benchmarks run org-500 --source auto --source explorer --source services  # side by side
    python -m benchmarks run small --quick --out /tmp/b   # CI: one run of each, no RESULTS.md entry
    python -m benchmarks bound org-2000              # the quota bound and its slowest buckets
    python -m benchmarks profile org-500             # orgsync under cProfile, grouped summary
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks import profiling, report, tree
from benchmarks.bound import MODELS, compute_bound, truth_by_type
from benchmarks.harness import RunOptions, run
from orgsim.scenario import builtin_names
from orgsim.world import World


def _finish(data: dict[str, Any], args: argparse.Namespace, started: Any, md_extra: str = "") -> Path:
    data["machine"]["load_avg_end"] = round(os.getloadavg()[0], 2)
    path = report.write_json(data, Path(args.out), args.scenario, started)
    if not args.quick and not args.no_results:
        report.append_results(data, Path(args.results))
        if md_extra:
            with open(args.results, "a") as fh:
                fh.write(md_extra + "\n")
    return path


def _header(args: argparse.Namespace, started: Any) -> dict[str, Any]:
    return {"started_at": started.isoformat(), "commit": tree.describe(args.rev), "rev": args.rev,
            "command": report.command_line(args.argv), "machine": report.machine()}


def cmd_run(args: argparse.Namespace) -> int:
    started = report.now_utc()
    header = _header(args, started)
    with tree.code_tree(args.rev) as code:
        opts = RunOptions(scenario=args.scenario, sources=tuple(args.source or ()), quick=args.quick,
                          rounds=args.rounds,
                          baseline=args.baseline, threads=not args.no_threads, timeout=args.timeout,
                          max_rss_mb=args.max_rss_mb,
                          tree=code, notes=list(args.note or []))
        data = header | run(opts, log=lambda s: print(s, file=sys.stderr, flush=True))
    path = _finish(data, args, started)
    print(report.markdown(data))
    print(f"bound formula: {data['bound']['formula']}")
    print(f"JSON: {path}")
    ok = all(t["count_matches_truth"] for t in data["tools"].values())
    stopped = any(r.get("stopped") for rs in data["runs"].values() for r in rs)
    return 0 if ok or stopped else 1


def cmd_bound(args: argparse.Namespace) -> int:
    print(json.dumps(compute_bound(args.scenario, args.model).to_dict(), indent=2))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    """Re-render RESULTS.md entries from saved JSON (e.g. after changing the table's format)."""
    for path in args.json:
        data = json.loads(Path(path).read_text())
        sys.stdout.write(report.markdown(data))
        if "profile" in data:
            sys.stdout.write("#### Profile\n\n" + profiling.markdown(data["profile"]) + "\n")
    return 0


def cmd_facts(args: argparse.Namespace) -> int:
    """Machine-readable bounds and truth; the harness runs it under the measured revision."""
    world = World(args.scenario)
    print(json.dumps({"bounds": {m: compute_bound(world, m).to_dict() for m in MODELS},
                      "truth_by_type": truth_by_type(world)}))
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    started = report.now_utc()
    header = _header(args, started)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    prof = out_dir / f"{started.strftime('%Y%m%dT%H%M%SZ')}-{args.scenario}.prof"
    with tree.code_tree(args.rev) as code:
        opts = RunOptions(scenario=args.scenario, sources=tuple(args.source or ())[:1], quick=True, baseline=False,
                          timeout=args.timeout, max_rss_mb=args.max_rss_mb, profile_path=prof, tree=code,
                          notes=["orgsync ran under cProfile: wall and CPU include its overhead"]
                          + list(args.note or []))
        data = header | run(opts, log=lambda s: print(s, file=sys.stderr, flush=True))
    summary = profiling.summarize(prof, args.top)
    data["profile"] = summary
    path = _finish(data, args, started, "#### Profile\n\n" + profiling.markdown(summary))
    print(report.markdown(data))
    print(profiling.markdown(summary))
    print(f"JSON: {path}\nprofile: {prof} (open with python -m pstats)")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    scenarios = builtin_names()

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("scenario", help=f"orgsim scenario: {', '.join(scenarios)} or a TOML path")
        sp.add_argument("--source", action="append",
                        help="passed to `orgsync sync --source` (explorer|services|auto); repeat it to measure "
                             "several sources alternating in one run, compared by their median wall times")
        sp.add_argument("--out", default=str(report.DEFAULT_OUT), help="directory for the JSON (default: %(default)s)")
        sp.add_argument("--results", default=str(report.RESULTS_MD), help="markdown file to append to")
        sp.add_argument("--no-results", action="store_true", help="do not append to the results file")
        sp.add_argument("--timeout", type=float, help="seconds per orgsync run; then interrupt and report progress")
        sp.add_argument("--max-rss-mb", type=float, default=12_000,
                        help="interrupt a run whose RSS passes this; the machine is shared (default: %(default)s)")
        sp.add_argument("--note", action="append", help="a line added to the RESULTS.md entry (repeatable)")
        sp.add_argument("--rev", default="HEAD", help="git revision of the engine and simulator to measure, "
                                                      f"or '{tree.WORKTREE}' for the files as they are (default: %(default)s)")

    r = sub.add_parser("run", help="measure orgsync (and the baseline) on a scenario")
    common(r)
    r.add_argument("--quick", action="store_true", help="one run of each tool, no threads baseline, "
                                                        "no RESULTS.md entry (CI)")
    r.add_argument("--rounds", type=int, help="alternating rounds (default: 2 with a baseline, else 1)")
    r.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=None,
                   help="run the boto3 baseline (default: only on small scenarios)")
    r.add_argument("--no-threads", action="store_true", help="skip the ThreadPoolExecutor baseline")
    r.set_defaults(fn=cmd_run)
    b = sub.add_parser("bound", help="print the quota/latency bound of a scenario")
    b.add_argument("scenario")
    b.add_argument("--model", choices=MODELS, default="services")
    b.set_defaults(fn=cmd_bound)
    f = sub.add_parser("facts", help="bounds of every model and the ground truth per type, as JSON")
    f.add_argument("scenario")
    f.set_defaults(fn=cmd_facts)
    rd = sub.add_parser("render", help="print the RESULTS.md entry of saved JSON results")
    rd.add_argument("json", nargs="+")
    rd.set_defaults(fn=cmd_render)
    pr = sub.add_parser("profile", help="run orgsync once under cProfile and summarize")
    common(pr)
    pr.add_argument("--top", type=int, default=10)
    pr.set_defaults(fn=cmd_profile, quick=False)
    args = p.parse_args(argv)
    args.argv = argv
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
