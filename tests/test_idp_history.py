"""The identity directory's run and history tables: one `idp_sources` row per directory sync,
`idp_changes` for every user, group and membership added, modified or removed, and the directory
as it was at a past time (`idp_*_as_of`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

import sync.owners.idp_sync
from tests.test_owners_resolution import load_directory

FIRST: dict[str, Any] = {
    "users": [
        {"id": "u-alice", "name": "alice", "emails": ["alice@acme.com"], "groups": ["g-pay"]},
        {"id": "u-bob", "name": "bob", "emails": ["bob@acme.com"], "groups": ["g-pay"]},
        {"id": "u-carol", "name": "carol", "groups": ["g-ops"]},
    ],
    "groups": [{"id": "g-pay", "name": "payments"}, {"id": "g-ops", "name": "ops", "description": "on call"}],
}
# bob leaves payments, dave joins it, alice changes email, carol leaves the company, ops is renamed.
SECOND: dict[str, Any] = {
    "users": [
        {"id": "u-alice", "name": "alice", "emails": ["alice@new.acme.com", "alice@acme.com"], "groups": ["g-pay"]},
        {"id": "u-bob", "name": "bob", "emails": ["bob@acme.com"]},
        {"id": "u-dave", "name": "dave", "groups": ["g-pay"]},
    ],
    "groups": [{"id": "g-pay", "name": "payments"}, {"id": "g-ops", "name": "operations", "description": "on call"}],
}


def query(path: Path, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()


def members_as_of(path: Path, group: str, when: datetime) -> list[str]:
    """Who was in the group named `group` at `when`: the question the history is for."""
    return [r[0] for r in query(path, """
        SELECT u.user_name FROM idp_memberships_as_of($at) m
        JOIN idp_groups_as_of($at) g USING (integration, group_id)
        JOIN idp_users_as_of($at) u USING (integration, user_id)
        WHERE g.display_name = $group ORDER BY 1""", {"at": when, "group": group})]


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "c.duckdb"
    load_directory(path, "acme", FIRST)
    load_directory(path, "acme", SECOND)
    load_directory(path, "acme", SECOND)  # nothing changed
    return path


def test_every_directory_sync_is_a_run_with_its_changes(catalog: Path) -> None:
    assert query(catalog, "SELECT idp_sync_id, users, groups, memberships, added, modified, removed "
                          "FROM idp_sources ORDER BY idp_sync_id") == [
        (1, 3, 2, 3, 8, 0, 0), (2, 3, 2, 2, 2, 2, 3), (3, 3, 2, 2, 0, 0, 0)]
    changes = query(catalog, "SELECT kind, change, user_id, group_id FROM idp_changes WHERE idp_sync_id = 2 "
                             "ORDER BY ALL")
    assert changes == [
        ("group", "modified", None, "g-ops"),
        ("membership", "added", "u-dave", "g-pay"),
        ("membership", "removed", "u-bob", "g-pay"),
        ("membership", "removed", "u-carol", "g-ops"),
        ("user", "added", "u-dave", None),
        ("user", "modified", "u-alice", None),
        ("user", "removed", "u-carol", None),
    ]
    [(old, new)] = query(catalog, "SELECT old_record->>'primary_email', new_record->'emails' FROM idp_changes "
                                  "WHERE idp_sync_id = 2 AND user_id = 'u-alice'")
    assert old == "alice@acme.com" and new == '["alice@new.acme.com","alice@acme.com"]'
    [(removed,)] = query(catalog, "SELECT old_record->>'user_name' FROM idp_changes "
                                  "WHERE change = 'removed' AND kind = 'user'")
    assert removed == "carol"
    # The change rows carry their sync's time.
    assert query(catalog, "SELECT count(*) FROM idp_changes c JOIN idp_sources s USING (idp_sync_id) "
                          "WHERE c.changed_at <> s.synced_at OR c.integration <> s.integration") == [(0,)]


def test_the_directory_as_of_a_past_time(catalog: Path) -> None:
    first, second, _ = (r[0] for r in query(catalog, "SELECT synced_at FROM idp_sources ORDER BY idp_sync_id"))
    assert members_as_of(catalog, "payments", first - timedelta(seconds=1)) == []  # before the first sync
    assert members_as_of(catalog, "payments", first) == ["alice", "bob"]
    assert members_as_of(catalog, "ops", first) == ["carol"]
    assert members_as_of(catalog, "payments", second) == ["alice", "dave"]
    assert members_as_of(catalog, "ops", second) == [] and members_as_of(catalog, "operations", second) == []
    assert query(catalog, "SELECT emails FROM idp_users_as_of(?) WHERE user_id = 'u-alice'", [first]) == [
        (["alice@acme.com"],)]
    # Now, the history gives exactly the current tables.
    for table in ("idp_users", "idp_groups", "idp_memberships"):
        assert query(catalog, f"SELECT * FROM {table}_as_of(now()) EXCEPT ALL SELECT * FROM {table}") == []
        assert query(catalog, f"SELECT * FROM {table} EXCEPT ALL SELECT * FROM {table}_as_of(now())") == []


def test_a_failed_directory_commit_records_no_run_and_no_change(catalog: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(con: duckdb.DuckDBPyConnection) -> None:
        raise RuntimeError("disk full")

    before = {t: query(catalog, f"SELECT * FROM {t} ORDER BY ALL") for t in ("idp_sources", "idp_changes", "idp_users")}
    monkeypatch.setattr(sync.owners.idp_sync, "install_views", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        load_directory(catalog, "acme", FIRST)
    assert {t: query(catalog, f"SELECT * FROM {t} ORDER BY ALL") for t in before} == before


def test_directories_of_two_integrations_have_separate_histories(tmp_path: Path) -> None:
    path = tmp_path / "c.duckdb"
    load_directory(path, "acme", FIRST)
    load_directory(path, "other", SECOND)
    load_directory(path, "acme", SECOND)
    assert query(path, "SELECT idp_sync_id, integration, added, modified, removed FROM idp_sources ORDER BY 1") == [
        (1, "acme", 8, 0, 0), (2, "other", 7, 0, 0), (3, "acme", 2, 2, 3)]
    assert query(path, "SELECT count(*) FROM idp_changes WHERE integration = 'other'") == [(7,)]
