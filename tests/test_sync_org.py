"""A full sync of a moto organization: the catalog holds exactly what was created."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.conftest import OrgEnv, org_config, run_cli, write

SYNCED_ACCOUNTS = ("management", "prod-a", "payments-a", "shared-a")


@pytest.fixture(scope="module")
def synced(org_env: OrgEnv, tmp_path_factory: pytest.TempPathFactory) -> tuple[OrgEnv, Path, Path]:
    mp = pytest.MonkeyPatch()
    org_env.point_engine(mp)
    try:
        root = tmp_path_factory.mktemp("synced")
        config = write(root / "orgsync.toml", org_config(org_env.org))
        catalog = root / "catalog.duckdb"
        result = run_cli("sync", config, "--catalog", str(catalog), "--quiet", "--rate-scale", "20")
        assert result.exit_code == 0, result.output
    finally:
        mp.undo()
    return org_env, Path(config), catalog


def rows(catalog: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(catalog), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_catalog_holds_exactly_the_created_resources(synced: tuple[OrgEnv, Path, Path]) -> None:
    env, _, catalog = synced
    org = env.org
    expected = org.expected({org.account_ids[n] for n in SYNCED_ACCOUNTS})
    got = {r[0]: r[1:] for r in rows(catalog, "SELECT arn, account_id, region, resource_type, tags FROM current_resources")}
    # AWS (and moto) create the member role in every member account: it is a real resource too.
    member_roles = {a for a in got if a.endswith(":role/OrganizationAccountAccessRole")}
    assert set(got) - member_roles == set(expected)
    assert len(member_roles) == len(SYNCED_ACCOUNTS) - 1
    for arn, (account_id, region, rtype, tags) in expected.items():
        assert got[arn][:3] == (account_id, region, rtype), arn
        assert json.loads(got[arn][3]) == tags, arn


def test_excluded_ou_subtree_and_account_are_absent(synced: tuple[OrgEnv, Path, Path]) -> None:
    env, _, catalog = synced
    org = env.org
    accounts_with_rows = {r[0] for r in rows(catalog, "SELECT DISTINCT account_id FROM resources")}
    assert org.account_ids["sandbox-a"] not in accounts_with_rows  # inside Sandbox/Experiments
    assert org.account_ids["excluded-a"] not in accounts_with_rows
    statuses = dict(rows(catalog, "SELECT account_id, status FROM accounts"))
    assert statuses[org.account_ids["excluded-a"]] == "excluded"
    assert org.account_ids["sandbox-a"] not in statuses  # the excluded subtree is never walked
    paths = dict(rows(catalog, "SELECT account_id, ou_path FROM accounts"))
    assert paths[org.account_ids["payments-a"]] == "Root/Prod/Payments"
    assert paths[org.account_ids["management"]] == "Root"


def test_global_types_are_listed_once_per_account(synced: tuple[OrgEnv, Path, Path]) -> None:
    _, _, catalog = synced
    assert rows(catalog, "SELECT count(*) - count(DISTINCT arn) FROM resources") == [(0,)]
    iam_regions = rows(catalog, "SELECT DISTINCT region FROM resources WHERE service = 'iam'")
    assert iam_regions == [("global",)]
    scopes = rows(catalog, """SELECT resource_type, count(*) FROM sync_scopes
                              WHERE region = 'global' GROUP BY ALL ORDER BY 1""")
    assert {t for t, _ in scopes} == {"iam:group", "iam:policy", "iam:role", "iam:user", "s3:bucket"}
    assert all(n == len(SYNCED_ACCOUNTS) for _, n in scopes)
    bucket_regions = {r[0] for r in rows(catalog, "SELECT DISTINCT region FROM resources WHERE resource_type = 's3:bucket'")}
    assert bucket_regions == {"us-east-1", "eu-west-1"}


def test_owner_tag_values_come_from_the_configured_key(synced: tuple[OrgEnv, Path, Path]) -> None:
    env, _, catalog = synced
    org = env.org
    found = rows(catalog, "SELECT arn, owner_tag_value FROM current_resources")
    for arn, owner in found:
        expected = org.resources.get(arn)
        if expected is not None:
            assert owner == expected[3].get("owner"), arn
    by_type = dict(rows(catalog, "SELECT resource_type, count(owner_tag_value) FROM resources GROUP BY ALL"))
    assert by_type["iam:group"] == 0 and by_type["iam:role"] > 0 and by_type["s3:bucket"] > 0


def test_run_and_scope_tables_record_the_sync(synced: tuple[OrgEnv, Path, Path]) -> None:
    _, _, catalog = synced
    [(status, complete, failed, seen, added, calls)] = rows(
        catalog, "SELECT status, scopes_complete, scopes_failed, resources_seen, added, api_calls FROM sync_runs")
    assert status == "complete" and failed == 0 and seen == added and calls > 0
    # 4 accounts x (2 regions x 6 regional types + 5 global types)
    assert complete == 4 * (2 * 6 + 5)
    assert rows(catalog, "SELECT status FROM integrations") == [("active",)]


def test_unchanged_resync_rewrites_no_resource_row(synced: tuple[OrgEnv, Path, Path], org_env: OrgEnv,
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _, config, catalog = synced
    copy = tmp_path / "copy.duckdb"
    shutil.copy(catalog, copy)
    before = rows(copy, "SELECT * FROM resource_rows ORDER BY arn")
    seen_before = dict(rows(copy, "SELECT arn, last_seen FROM resources"))
    org_env.point_engine(monkeypatch)
    result = run_cli("sync", str(config), "--catalog", str(copy), "--json", "--rate-scale", "20")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)[0]
    assert summary["resources"]["added"] == summary["resources"]["modified"] == summary["resources"]["deleted"] == 0
    assert rows(copy, "SELECT * FROM resource_rows ORDER BY arn") == before
    seen_after = dict(rows(copy, "SELECT arn, last_seen FROM resources"))
    assert all(seen_after[arn] > seen_before[arn] for arn in seen_before)
    assert rows(copy, "SELECT count(*) FROM sync_runs") == [(2,)]


def test_named_queries_and_formats(synced: tuple[OrgEnv, Path, Path]) -> None:
    _, _, catalog = synced
    listed = run_cli("query", "--list", "--catalog", str(catalog), "--format", "json")
    names = {q["name"] for q in json.loads(listed.output)}
    assert {"resources-by-account", "resources-without-owner", "failed-scopes", "changes-since"} <= names
    by_account = json.loads(run_cli("query", "resources-by-account", "--catalog", str(catalog), "--format", "json").output)
    assert sum(r["resources"] for r in by_account) == rows(catalog, "SELECT count(*) FROM current_resources")[0][0]
    unowned = json.loads(run_cli("query", "resources-without-owner", "--catalog", str(catalog), "--format", "json").output)
    assert sum(r["resources"] for r in unowned) == rows(
        catalog, "SELECT count(*) FROM current_resources WHERE owner_tag_value IS NULL")[0][0]
    csv_out = run_cli("query", "SELECT resource_type, count(*) AS n FROM resources GROUP BY 1 ORDER BY 1",
                      "--catalog", str(catalog), "--format", "csv").output.splitlines()
    assert csv_out[0] == "resource_type,n" and csv_out[1].startswith("dynamodb:table,")
    changes = run_cli("query", "changes-since", "-p", "since=1", "--catalog", str(catalog), "--format", "json")
    assert changes.exit_code == 0 and json.loads(changes.output) == []


def test_query_is_read_only_and_errors_are_plain(synced: tuple[OrgEnv, Path, Path]) -> None:
    _, _, catalog = synced
    result = run_cli("query", "DELETE FROM resource_rows", "--catalog", str(catalog))
    assert result.exit_code == 2 and "read-only" in result.output.lower()
    missing = run_cli("query", "changes-since", "--catalog", str(catalog))
    assert missing.exit_code == 2 and "--param since" in missing.output
    assert rows(catalog, "SELECT count(*) > 0 FROM resource_rows") == [(True,)]


def test_status_shows_active_and_unsynced_integrations(synced: tuple[OrgEnv, Path, Path], tmp_path: Path) -> None:
    env, config, catalog = synced
    two = write(tmp_path / "two.toml", Path(config).read_text() + org_config(env.org).replace('"acme"', '"later"'))
    out = json.loads(run_cli("status", two, "--catalog", str(catalog), "--format", "json").output)
    by_name = {r["integration"]: r for r in out}
    assert by_name["acme"]["status"] == "active" and by_name["acme"]["resources"] > 0
    assert by_name["later"]["status"] == "initializing"
