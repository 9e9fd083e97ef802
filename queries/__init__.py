"""Named SQL queries over the catalog: one `.sql` file each, its header comment says what it answers.

Header format (leading `--` lines):

    -- Resources without an owner tag, by account and type.
    -- param integration: only this integration (default: NULL)

A parameter with a default is optional; the SQL refers to it as `$name`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_PARAM = re.compile(r"^--\s*param\s+(\w+)\s*:\s*(.*?)\s*(?:\(default:\s*(.*?)\))?\s*$")


@dataclass(frozen=True)
class QueryParam:
    name: str
    description: str
    default: str | None  # None: required; "NULL" is a valid default meaning "no filter"


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: tuple[QueryParam, ...]
    sql: str

    def bind(self, given: dict[str, str]) -> dict[str, object]:
        unknown = sorted(set(given) - {p.name for p in self.params})
        if unknown:
            raise ValueError(f"query {self.name!r} has no parameter {', '.join(unknown)}; "
                             f"its parameters: {', '.join(p.name for p in self.params) or 'none'}")
        values: dict[str, object] = {}
        for p in self.params:
            if p.name in given:
                values[p.name] = given[p.name]
            elif p.default is None:
                raise ValueError(f"query {self.name!r} needs --param {p.name}=VALUE ({p.description})")
            else:
                values[p.name] = None if p.default.upper() == "NULL" else p.default
        return values


def parse_query(name: str, text: str) -> NamedQuery:
    description: list[str] = []
    params: list[QueryParam] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        match = _PARAM.match(line)
        if match:
            params.append(QueryParam(match.group(1), match.group(2), match.group(3)))
        else:
            description.append(line.lstrip("-").strip())
    return NamedQuery(name, " ".join(d for d in description if d), tuple(params), text)


def named_queries() -> dict[str, NamedQuery]:
    found = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            name = entry.name[: -len(".sql")]
            found[name] = parse_query(name, entry.read_text())
    return found
