"""`orgsync owners ARN` and `orgsync owners --unresolved` on a hand-made catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_owners_resolution import (
    ACCOUNT,
    DIRECTORY,
    PORTAL,
    TAGS,
    arn,
    commit_resources,
    load_directory,
    organization,
)


@pytest.fixture
def catalog(tmp_path: Path) -> str:
    path = tmp_path / "c.duckdb"
    commit_resources(path, organization("acme"), TAGS)
    load_directory(path, "acme", DIRECTORY)
    return str(path)


def test_owners_arn_as_a_table_explains_the_rule(catalog: str) -> None:
    result = run_cli("owners", arn(3), "--catalog", catalog)
    assert result.exit_code == 0, result.output
    out = result.output
    assert arn(3) in out and f"account {ACCOUNT}" in out
    assert "rule: resource-owner-tag (owner='alice, dave')" in out
    assert "Problem: owner 'dave' named by the tag is not in the IdP." in out
    assert "access details: Use the VPN first." in out
    assert f"sign-in link: {PORTAL}/#/console?account_id={ACCOUNT}" in out
    assert "alice@acme.com" in out and "(1 row)" in out


def test_owners_arn_as_json(catalog: str) -> None:
    result = run_cli("owners", arn(5), "--catalog", catalog, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["source"] == "integration-owner-fallback" and data["attribute"] == "group"
    assert [a["user_name"] for a in data["approvers"]] == ["alice"]
    assert data["approvers"][0]["via_groups"] == ["platform-admins"]
    assert data["problems"] == [{"code": "owner-tag-missing", "value": "owner"}]
    assert "Falls back to the integration owner" in data["explanation"]
    assert data["access"]["sign_in_url"] == f"{PORTAL}/#/console?account_id={ACCOUNT}"


def test_owners_unresolved(catalog: str) -> None:
    result = run_cli("owners", "--unresolved", "--catalog", catalog, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {(r["account_id"], r["resource_type"], r["owner_source"], r["problem"], r["resources"]) for r in rows} == {
        (ACCOUNT, "ec2:instance", "integration-owner-fallback", "owner-not-in-idp", 1),
        (ACCOUNT, "ec2:instance", "integration-owner-fallback", "owner-tag-missing", 1),
    }
    table = run_cli("owners", "--unresolved", "--catalog", catalog)
    assert table.exit_code == 0 and "owner-tag-missing" in table.output and "(2 rows)" in table.output
    csv = run_cli("owners", "--unresolved", "--catalog", catalog, "--format", "csv")
    assert csv.output.splitlines()[0].startswith("integration,account_id,account_name,resource_type")


def test_owners_usage_errors(catalog: str, tmp_path: Path) -> None:
    for args in ((), (arn(1), "--unresolved")):
        result = run_cli("owners", *args, "--catalog", catalog)
        assert result.exit_code == 2 and "either an ARN or --unresolved" in result.output
    missing = run_cli("owners", arn(99), "--catalog", catalog)
    assert missing.exit_code == 2 and "not a current resource" in missing.output
    as_csv = run_cli("owners", arn(1), "--catalog", catalog, "--format", "csv")
    assert as_csv.exit_code == 2 and "--unresolved only" in as_csv.output
    no_catalog = run_cli("owners", arn(1), "--catalog", str(tmp_path / "none.duckdb"))
    assert no_catalog.exit_code == 2 and "no catalog" in no_catalog.output
