"""An identity directory as read from an IdP: users, groups, memberships. Pure data and checks.

Both sources (the Identity Store and a file) produce a `Directory`; `directory_tables` turns it into
the Arrow tables the catalog stores. Ids are unique per kind and memberships name known ids: a
directory that breaks this is refused whole rather than stored half right.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from catalog.identity import (
    GROUP_SCHEMA,
    MEMBERSHIP_SCHEMA,
    USER_SCHEMA,
    DirectoryTables,
)

SOURCE_IDENTITY_STORE = "identity-store"
SOURCE_FILE = "file"


class DirectoryError(Exception):
    """The directory cannot be stored; `problems` lists every reason found."""

    def __init__(self, where: str, problems: Iterable[str]) -> None:
        self.where = where
        self.problems = tuple(problems)
        super().__init__(f"{where}: " + "; ".join(self.problems))


@dataclass(frozen=True)
class IdpUser:
    user_id: str
    user_name: str | None
    display_name: str | None
    emails: tuple[str, ...] = ()  # the primary email first

    @property
    def primary_email(self) -> str | None:
        return self.emails[0] if self.emails else None


@dataclass(frozen=True)
class IdpGroup:
    group_id: str
    display_name: str | None
    description: str | None = None


@dataclass(frozen=True)
class Membership:
    group_id: str
    user_id: str


@dataclass(frozen=True)
class Directory:
    source: str  # SOURCE_IDENTITY_STORE | SOURCE_FILE
    source_ref: str | None  # the Identity Store id, or the file path
    users: tuple[IdpUser, ...]
    groups: tuple[IdpGroup, ...]
    memberships: tuple[Membership, ...]
    warnings: tuple[str, ...] = ()  # what the source had to leave out, said to the user


def _duplicates(ids: Iterable[str]) -> list[str]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def check_directory(directory: Directory) -> list[str]:
    """Every integrity problem of the directory, phrased for the person who exported it."""
    problems: list[str] = []
    user_ids = {u.user_id for u in directory.users}
    group_ids = {g.group_id for g in directory.groups}
    for dup in _duplicates(u.user_id for u in directory.users):
        problems.append(f"user id {dup!r} appears more than once")
    for dup in _duplicates(g.group_id for g in directory.groups):
        problems.append(f"group id {dup!r} appears more than once")
    for m in directory.memberships:
        if m.group_id not in group_ids:
            problems.append(f"membership names unknown group id {m.group_id!r}")
        if m.user_id not in user_ids:
            problems.append(f"membership of group {m.group_id!r} names unknown user id {m.user_id!r}")
    return problems


def _unique_memberships(memberships: Iterable[Membership]) -> list[Membership]:
    # A user listed twice in a group is one membership; order kept for stable output.
    return list(dict.fromkeys(memberships))


def directory_tables(directory: Directory) -> DirectoryTables:
    problems = check_directory(directory)
    if problems:
        raise DirectoryError(directory.source_ref or directory.source, problems)
    users = directory.users
    memberships = _unique_memberships(directory.memberships)
    return DirectoryTables(
        source=directory.source,
        source_ref=directory.source_ref,
        users=pa.table(
            {
                "user_id": [u.user_id for u in users],
                "user_name": [u.user_name for u in users],
                "display_name": [u.display_name for u in users],
                "primary_email": [u.primary_email for u in users],
                "emails": [list(u.emails) for u in users],
            },
            schema=USER_SCHEMA,
        ),
        groups=pa.table(
            {
                "group_id": [g.group_id for g in directory.groups],
                "display_name": [g.display_name for g in directory.groups],
                "description": [g.description for g in directory.groups],
            },
            schema=GROUP_SCHEMA,
        ),
        memberships=pa.table(
            {"group_id": [m.group_id for m in memberships], "user_id": [m.user_id for m in memberships]},
            schema=MEMBERSHIP_SCHEMA,
        ),
    )
