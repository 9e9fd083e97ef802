"""Doctor results as a table for people or JSON for machines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from sync.cli.output import render
from sync.doctor.model import CheckResult, Status, exit_code, short_list

COLUMNS = ("integration", "status", "check", "finding", "where", "evidence", "fix")
MAX_EVIDENCE_LINES = 3


def _where(result: CheckResult) -> str:
    parts = []
    if result.accounts:
        parts.append("accounts: " + short_list(result.accounts))
    if result.regions:
        parts.append("regions: " + short_list(result.regions))
    return "\n".join(parts)


def _evidence(result: CheckResult) -> str:
    lines = list(result.evidence[:MAX_EVIDENCE_LINES])
    if len(result.evidence) > MAX_EVIDENCE_LINES:
        lines.append(f"(+{len(result.evidence) - MAX_EVIDENCE_LINES} more; --format json shows all)")
    return "\n".join(lines)


def as_table(runs: Sequence[tuple[str, Sequence[CheckResult]]]) -> str:
    rows: list[list[Any]] = []
    for name, results in runs:
        for r in results:
            problem = r.status is not Status.OK  # the table shows evidence and fixes of problems only
            rows.append([name, r.status.label, r.id, r.summary, _where(r), _evidence(r) if problem else "",
                         r.remediation if problem else ""])
    columns: Sequence[str] = COLUMNS
    if len(runs) == 1:  # one integration: its name goes in the title, not on every row
        columns, rows = COLUMNS[1:], [row[1:] for row in rows]
    worst = Status(max((exit_code(results) for _, results in runs), default=0))
    names = ", ".join(name for name, _ in runs)
    return render(columns, rows, "table", title=f"orgsync doctor {names}: {worst.label}")


def as_json(runs: Sequence[tuple[str, Sequence[CheckResult]]]) -> str:
    payload = [{"integration": name, "status": Status(exit_code(results)).label,
                "checks": [r.as_dict() for r in results]} for name, results in runs]
    return orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode()
