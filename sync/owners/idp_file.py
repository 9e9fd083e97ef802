"""An identity directory exported from any IdP, as a JSON or CSV file (format: docs/owners.md).

Both formats carry the same records:

- user:  id (default: name), name (the user name, required), display_name, emails (primary
  first), groups (references to groups)
- group: id (default: name), name (the group's display name, required), description, members
  (references to users)

A user's group reference is a group id or name; a group it names that is not listed is created
(id = name), so a flat "user, groups" export is enough. A group's member reference is a user id,
user name or email and must name a listed user. Every problem is reported with its location, and
a file with any problem is refused whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from sync.owners.directory import (
    SOURCE_FILE,
    Directory,
    DirectoryError,
    IdpGroup,
    IdpUser,
    Membership,
    check_directory,
)

LIST_SEPARATOR = ";"  # inside one CSV cell: emails, groups, members
USER_KEYS = frozenset({"id", "name", "display_name", "emails", "groups"})
GROUP_KEYS = frozenset({"id", "name", "description", "members"})
CSV_COLUMNS = ("type", "id", "name", "display_name", "emails", "groups", "description", "members")


@dataclass
class _Record:
    where: str
    kind: str  # user | group
    id: str
    name: str
    display_name: str | None = None
    description: str | None = None
    emails: tuple[str, ...] = ()
    refs: tuple[str, ...] = field(default=())  # groups of a user, members of a group


def _split(cell: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (cell or "").split(LIST_SEPARATOR) if p.strip())


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# --- JSON ----------------------------------------------------------------------------------------


def _json_list(value: Any, where: str, key: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: '{key}' must be a list of strings")
        return ()
    return tuple(v.strip() for v in value if v.strip())


def _json_records(data: Any, problems: list[str]) -> list[_Record]:
    if not isinstance(data, dict):
        problems.append("the top level must be an object with 'users' and 'groups' lists")
        return []
    unknown = sorted(set(data) - {"users", "groups"})
    if unknown:
        problems.append(f"unknown top-level key(s) {', '.join(map(repr, unknown))}; expected 'users', 'groups'")
    records: list[_Record] = []
    for kind, allowed in (("user", USER_KEYS), ("group", GROUP_KEYS)):
        items = data.get(f"{kind}s") or []
        if not isinstance(items, list):
            problems.append(f"'{kind}s' must be a list")
            continue
        for index, item in enumerate(items):
            where = f"{kind}s[{index}]"
            if not isinstance(item, dict):
                problems.append(f"{where}: must be an object")
                continue
            bad = sorted(set(item) - allowed)
            if bad:
                problems.append(f"{where}: unknown key(s) {', '.join(map(repr, bad))}; "
                                f"allowed: {', '.join(sorted(allowed))}")
            record = _record(where, kind, item, problems)
            if record is not None:
                records.append(record)
    return records


def _record(where: str, kind: str, item: Mapping[str, Any], problems: list[str]) -> _Record | None:
    name = _text(item.get("name"))
    if name is None:
        problems.append(f"{where}: 'name' is required")
        return None
    refs_key = "groups" if kind == "user" else "members"
    return _Record(
        where=where, kind=kind, id=_text(item.get("id")) or name, name=name,
        display_name=_text(item.get("display_name")), description=_text(item.get("description")),
        emails=_json_list(item.get("emails"), where, "emails", problems),
        refs=_json_list(item.get(refs_key), where, refs_key, problems),
    )


# --- CSV -----------------------------------------------------------------------------------------

_USER_ONLY = ("display_name", "emails", "groups")
_GROUP_ONLY = ("description", "members")


def _csv_records(text: str, problems: list[str]) -> list[_Record]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or ()]
    reader.fieldnames = header
    missing = [c for c in ("type", "name") if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if missing or unknown:
        if missing:
            problems.append(f"line 1: the header lacks column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"line 1: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(CSV_COLUMNS)}")
        return []
    records: list[_Record] = []
    for row in reader:
        where = f"line {reader.line_num}"
        cells = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            problems.append(f"{where}: more cells than header columns")
        kind = cells.get("type", "").lower()
        if kind not in ("user", "group"):
            problems.append(f"{where}: type must be 'user' or 'group', not {cells.get('type')!r}")
            continue
        foreign = [c for c in (_GROUP_ONLY if kind == "user" else _USER_ONLY) if cells.get(c)]
        if foreign:
            problems.append(f"{where}: column(s) {', '.join(foreign)} do not apply to a {kind} row")
        item: dict[str, Any] = {"id": cells.get("id"), "name": cells.get("name")}
        if kind == "user":
            item.update(display_name=cells.get("display_name"), emails=list(_split(cells.get("emails"))),
                        groups=list(_split(cells.get("groups"))))
        else:
            item.update(description=cells.get("description"), members=list(_split(cells.get("members"))))
        record = _record(where, kind, item, problems)
        if record is not None:
            records.append(record)
    return records


# --- records -> directory ------------------------------------------------------------------------


def _index(records: Iterable[_Record], key: str) -> dict[str, list[_Record]]:
    found: dict[str, list[_Record]] = {}
    for r in records:
        value = r.id if key == "id" else r.name.lower()
        found.setdefault(value, []).append(r)
    return found


def _build(records: list[_Record], source_ref: str, problems: list[str]) -> Directory:
    users = [r for r in records if r.kind == "user"]
    groups = [r for r in records if r.kind == "group"]
    groups_by_id, groups_by_name = _index(groups, "id"), _index(groups, "name")
    users_by_id, users_by_name = _index(users, "id"), _index(users, "name")
    users_by_email: dict[str, list[_Record]] = {}
    for u in users:
        for email in u.emails:
            users_by_email.setdefault(email.lower(), []).append(u)
    implicit: dict[str, IdpGroup] = {}
    memberships: list[Membership] = []
    for u in users:
        for ref in u.refs:
            match = groups_by_id.get(ref) or groups_by_name.get(ref.lower())
            if match is None:
                # Spelled differently by different users, still one group: names match case-insensitively.
                group = implicit.setdefault(ref.lower(), IdpGroup(group_id=ref, display_name=ref))
                memberships.append(Membership(group_id=group.group_id, user_id=u.id))
            elif len(match) > 1:
                problems.append(f"{u.where}: group {ref!r} is ambiguous ({len(match)} groups have that name); use its id")
            else:
                memberships.append(Membership(group_id=match[0].id, user_id=u.id))
    for g in groups:
        for ref in g.refs:
            match = users_by_id.get(ref) or users_by_name.get(ref.lower()) or users_by_email.get(ref.lower())
            if match is None:
                problems.append(f"{g.where}: member {ref!r} is not a listed user (by id, name or email)")
            elif len({m.id for m in match}) > 1:
                problems.append(f"{g.where}: member {ref!r} matches several users; use the user id")
            else:
                memberships.append(Membership(group_id=g.id, user_id=match[0].id))
    return Directory(
        source=SOURCE_FILE,
        source_ref=source_ref,
        users=tuple(IdpUser(user_id=u.id, user_name=u.name, display_name=u.display_name, emails=u.emails) for u in users),
        groups=tuple(IdpGroup(group_id=g.id, display_name=g.name, description=g.description) for g in groups)
        + tuple(implicit.values()),
        memberships=tuple(memberships),
    )


def parse_directory(text: str, *, fmt: str, source_ref: str) -> Directory:
    """Parse a directory export; `fmt` is 'json' or 'csv'. Raises DirectoryError listing every problem."""
    problems: list[str] = []
    if fmt == "json":
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise DirectoryError(source_ref, [f"not valid JSON: {exc}"]) from exc
        records = _json_records(data, problems)
    elif fmt == "csv":
        records = _csv_records(text, problems)
    else:
        raise ValueError(f"unknown directory file format {fmt!r}")
    directory = _build(records, source_ref, problems)
    problems.extend(check_directory(directory))
    if problems:
        raise DirectoryError(source_ref, problems)
    return directory


def file_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".json", ".csv"):
        return suffix[1:]
    return "json" if text.lstrip().startswith("{") else "csv"


def load_directory_file(path: str | Path) -> Directory:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")  # spreadsheet exports often start with a BOM
    except OSError as exc:
        raise DirectoryError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from exc
    return parse_directory(text, fmt=file_format(file, text), source_ref=str(path))
