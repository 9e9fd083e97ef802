"""What the doctor reports: each check's status, where it applies, its evidence and the fix.

Evidence is plain data gathered by the I/O side (gather*.py); the checks are pure functions from
evidence to CheckResults, so each one is unit-testable without AWS.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_SCP = re.compile(r"service control polic(y|ies)", re.IGNORECASE)
# Resource Explorer's UnauthorizedException means "no default view", not a policy: left out on purpose.
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
                     "Client.UnauthorizedOperation"})


class Status(enum.IntEnum):
    """Ordered so the worst status of a run is its max; the value is the exit code."""

    OK = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class CallError:
    """One failed AWS call: the evidence behind most findings."""

    call: str  # "resource-explorer-2:GetIndex"
    account_id: str
    region: str
    code: str
    message: str

    @property
    def scp_denied(self) -> bool:
        """AWS says an SCP denied it ("... with an explicit deny in a service control policy")."""
        return bool(_SCP.search(self.message))

    @property
    def access_denied(self) -> bool:
        return self.code in _DENIED or self.scp_denied

    def describe(self) -> str:
        where = ":".join(p for p in (self.account_id, self.region) if p)
        return f"{self.call} in {where or 'the integration'} -> {self.code}: {self.message}"


@dataclass(frozen=True)
class CheckResult:
    id: str  # "explorer.local-indexes"
    title: str
    status: Status
    summary: str
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()  # the AWS calls and what they answered
    remediation: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)  # groupings for --format json

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "status": self.status.label, "summary": self.summary,
            "accounts": list(self.accounts), "regions": list(self.regions), "evidence": list(self.evidence),
            "remediation": self.remediation, "details": dict(self.details),
        }


def ok(id: str, title: str, summary: str, evidence: Iterable[str] = ()) -> CheckResult:
    return CheckResult(id, title, Status.OK, summary, evidence=tuple(evidence))


def exit_code(results: Iterable[CheckResult]) -> int:
    return int(max((r.status for r in results), default=Status.OK))


def group_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, list[str]]]:
    """(account, region) pairs grouped both ways, for reports that list many of them."""
    by_account: dict[str, set[str]] = {}
    by_region: dict[str, set[str]] = {}
    for account, region in pairs:
        by_account.setdefault(account, set()).add(region)
        by_region.setdefault(region, set()).add(account)
    return {
        "by_account": {a: sorted(r) for a, r in sorted(by_account.items())},
        "by_region": {r: sorted(a) for r, a in sorted(by_region.items())},
    }


def plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1]}ices" if word.endswith("ex") else f"{n} {word}s"


def short_list(items: Iterable[str], limit: int = 5) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")
