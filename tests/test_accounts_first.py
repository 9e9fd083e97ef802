"""In forced modes without an excluded OU, accounts are listed flat first and the walk only adds
their OU paths; auto walks alone (its accounts finish soon after they are found).

Each account reaches the sync twice (flat, then from the walk): it must be started once, and the
catalog must still hold the path the walk found.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import orgsim
from tests.test_explorer_sync import simulated, sync


def ou_path(org: orgsim.org.Organization, parent_id: str) -> str:
    parts: list[str] = []
    while parent_id != org.root_id:
        ou = org.ou_by_id[parent_id]
        parts.append(ou.name)
        parent_id = ou.parent_id
    return "/".join(["Root", *reversed(parts)])


@pytest.mark.parametrize("source", ["explorer", "services", "auto"])
def test_each_account_is_started_once_and_keeps_its_ou_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              source: str) -> None:
    with simulated(monkeypatch, faults={"unassumable_accounts": 1}) as sim:
        summary, path = sync(tmp_path, "catalog.duckdb", "--source", source)
        calls = sim.stats()["calls"]
        org = sim.world.org
    assert (calls.get("organizations:ListAccounts", 0) >= 1) == (source != "auto")
    members = [a for a in org.accounts if a.state == "ACTIVE" and a.account_id != org.management_id]
    # One AssumeRole per member, although each was handed over by both listings.
    assert calls["sts:AssumeRole"] == len(members)
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT account_id, ou_path, parent_id, status FROM accounts").fetchall()
    assert {r[0] for r in rows} == {a.account_id for a in org.accounts}
    for account_id, path_, parent_id, status in rows:
        account = next(a for a in org.accounts if a.account_id == account_id)
        assert (path_, parent_id) == (ou_path(org, account.parent_id), account.parent_id), account_id
        expected = ("failed" if not account.assumable else "selected") if account.state == "ACTIVE" else "inactive"
        assert status == expected, account_id
    assert summary["accounts"]["failed"] == 1
