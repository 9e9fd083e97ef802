"""Where an engine run spends its time, from a cProfile dump of the whole CLI process.

cProfile sees one thread: the event loop. Time the loop spends blocked in epoll is "waiting"
(for the simulator, for rate-limit sleeps); everything else is CPU on that thread. A coroutine
is only timed while it runs, so the cumulative time of an async entry point is CPU, not the
time its awaits took. Groups are built from the cumulative time of a few entry points, chosen
so they do not nest in one another, plus exclusive time by package for the rest. The groups
are an approximation (a function reached both inside and outside an entry point is charged
once per way); "other" is what is left of the total.
"""

from __future__ import annotations

import pstats
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FuncKey = tuple[str, int, str]


@dataclass(frozen=True)
class EntryPoint:
    group: str
    path_part: str  # substring of the file path
    func: str


# Inclusive (cumulative) groups: each entry point's callees are charged to it.
ENTRY_POINTS = (
    EntryPoint("client creation (aiobotocore create_client)", "aiobotocore/session.py", "_create_client"),
    EntryPoint("DuckDB commit (catalog.writer.commit_run)", "catalog/writer.py", "commit_run"),
    EntryPoint("botocore response parsing", "botocore/parsers.py", "parse"),
    EntryPoint("API call machinery (serialize, sign, send; excl. parsing)", "aiobotocore/client.py", "_make_api_call"),
)
PARSING = ENTRY_POINTS[2].group
CALLS = ENTRY_POINTS[3].group
# Exclusive (tottime) groups by where the function lives, for what the entry points miss.
BY_PATH = (
    ("our code (sync/, catalog/; exclusive)", ("/sync/", "/catalog/")),
    # aiohttp is left out: its request side runs inside _make_api_call and is charged there.
    ("asyncio event loop (exclusive)", ("/asyncio/",)),
    ("tenacity retries (exclusive)", ("/tenacity/",)),
)
WAIT_FUNCS = ("<method 'poll' of 'select.epoll' objects>", "<method 'select' of 'select.epoll' objects>",
              "<built-in method select.select>")


def _label(key: FuncKey) -> str:
    path, line, func = key
    if path == "~":
        return func
    parts = Path(path).parts
    for anchor in ("site-packages", "python3.11"):
        if anchor in parts:
            parts = parts[parts.index(anchor) + 1:]
            break
    else:
        parts = parts[-2:]
    return f"{'/'.join(parts)}:{line}({func})"


def summarize(prof_path: Path, top: int = 10) -> dict[str, Any]:
    st = pstats.Stats(str(prof_path))
    raw: dict[FuncKey, tuple[int, int, float, float, Any]] = st.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())

    def cum(ep: EntryPoint) -> float:
        # The outermost matching frame: nested matches (a parse inside a parse) are already in it.
        return max((v[3] for k, v in raw.items() if ep.path_part in k[0] and k[2] == ep.func), default=0.0)

    groups: dict[str, float] = {ep.group: cum(ep) for ep in ENTRY_POINTS}
    groups[CALLS] = max(0.0, groups[CALLS] - groups[PARSING])  # parsing happens inside the call
    charged_paths = ("aiobotocore/", "botocore/", "catalog/writer.py")
    waiting = sum(v[2] for k, v in raw.items() if k[0] == "~" and k[2] in WAIT_FUNCS)
    for group, parts in BY_PATH:
        groups[group] = sum(v[2] for k, v in raw.items()
                            if any(p in k[0] for p in parts) and not any(c in k[0] for c in charged_paths))
    groups["waiting (event loop blocked in epoll)"] = waiting
    groups["other"] = max(0.0, total - sum(groups.values()))
    rows = sorted(raw.items(), key=lambda kv: -kv[1][2])[:top]
    return {
        "profile": str(prof_path),
        "total_s": round(total, 2),
        "groups": {g: {"seconds": round(s, 2), "share": round(s / total, 3) if total else 0.0}
                   for g, s in sorted(groups.items(), key=lambda gs: -gs[1])},
        "top_tottime": [{"function": _label(k), "calls": v[1], "tottime_s": round(v[2], 2),
                         "cumtime_s": round(v[3], 2)} for k, v in rows],
    }


def markdown(summary: dict[str, Any]) -> str:
    lines = [f"Profiled main-thread time {summary['total_s']:,.1f} s.", "",
             "| group | seconds | share |", "|---|---|---|"]
    for group, g in summary["groups"].items():
        lines.append(f"| {group} | {g['seconds']:,.1f} | {g['share']:.0%} |")
    lines += ["", f"Top {len(summary['top_tottime'])} functions by tottime:", "",
              "| function | calls | tottime s | cumtime s |", "|---|---|---|---|"]
    for r in summary["top_tottime"]:
        lines.append(f"| `{r['function']}` | {r['calls']:,} | {r['tottime_s']:,.1f} | {r['cumtime_s']:,.1f} |")
    return "\n".join(lines) + "\n"
