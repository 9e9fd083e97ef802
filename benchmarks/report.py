"""Where results go: a JSON file per run and a table appended to benchmarks/RESULTS.md.

Every entry carries what is needed to judge and reproduce it: the commit, the exact command,
the machine (cores, memory) and its load average before and after, since the machine is
shared and absolute times move with what else runs; ratios measured side by side do not.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_MD = BENCH_DIR / "RESULTS.md"
DEFAULT_OUT = BENCH_DIR / "out"
BUSY_LOAD = 0.5  # a 1-minute load average above this before we start means someone else is running


def mem_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(), "memory_gib": mem_total_gib(), "platform": platform.platform(),
        "python": platform.python_version(), "load_avg_start": round(os.getloadavg()[0], 2),
    }


def command_line(argv: list[str] | None = None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return "python -m benchmarks " + shlex.join(args)


def now_utc() -> datetime:
    return datetime.now(UTC)


def write_json(data: dict[str, Any], out_dir: Path, scenario: str, started: datetime) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{started.strftime('%Y%m%dT%H%M%SZ')}-{scenario}.json"
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return path


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if digits == 0:  # counts: medians of two runs may be x.5
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(data: dict[str, Any]) -> str:
    """The RESULTS.md entry of one run: header, the command, one row per tool, notes."""
    m = data["machine"]
    shared = m["load_avg_start"] > BUSY_LOAD or m.get("load_avg_end", 0) > BUSY_LOAD + 1
    bound = data["bound"]
    lines = [
        f"### {data['started_at'][:16].replace('T', ' ')} UTC · `{data['scenario']}` · commit `{data['commit']}`",
        "",
        f"`{data['command']}`  ",
        f"machine: {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}; load average "
        f"{m['load_avg_start']} before, {m.get('load_avg_end', '-')} after"
        + (" — **shared machine: other work was running, absolute times are noisy**" if shared else ""),
        "",
        ("| tool | runs | wall s (median) | resources (truth) | res/s | API calls | throttled | retries "
         "| peak RSS MB | CPU s | CPU/wall | efficiency |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in data["tools"].items():
        res = f"{_fmt(t['resources'])} ({_fmt(data['truth_resources'])})"
        if not t.get("count_matches_truth", False):
            res += " **≠**"
        lines.append(
            f"| {name} | {t['runs']} | {_fmt(t['wall_s'])} | {res} | {_fmt(t['resources_per_s'])} "
            f"| {_fmt(t['api_calls'], 0)} | {_fmt(t['throttled'], 0)} | {_fmt(t.get('retries'), 0)} "
            f"| {_fmt(t['peak_rss_mb'])} | {_fmt(t['cpu_s'])} | {_fmt(t['cpu_per_wall'], 2)} "
            f"| {_fmt(t['efficiency'], 3)} |"
        )
    slowest = bound["limiting"][0]["seconds"] if bound["limiting"] else 0.0
    setter = "the org walk" if bound["org_walk_seconds"] >= slowest else "the slowest bucket"
    lines += ["", f"bound ({bound['model']} model): **{bound['seconds']:,.1f} s**, set by {setter} — org walk "
              f"{bound['org_walk_calls']} calls = {bound['org_walk_seconds']:.1f} s; slowest bucket: "
              + (", ".join(f"{b['account']}/{b['region']} {b['bucket']} {b['calls']:,} calls at "
                           f"{b['rate_per_s']:g}/s = {b['seconds']:.1f} s" for b in bound["limiting"][:1]) or "none")]
    if "walk_critical_path_s" in bound and bound["walk_critical_path_s"] > bound["seconds"] * 1.02:
        lines.append(f"- an engine that starts each account when its account listing finds it cannot "
                     f"beat **{bound['walk_critical_path_s']:,.1f} s** here (account {bound['walk_critical_account']})")
    for note in data.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n\n"


def append_results(data: dict[str, Any], path: Path = RESULTS_MD) -> None:
    if not path.exists():
        path.write_text("# Benchmark results\n\nAppended by `python -m benchmarks run`; see README.md.\n\n")
    with open(path, "a") as fh:
        fh.write(markdown(data))
