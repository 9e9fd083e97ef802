"""`orgsync doctor` against orgsim fault scenarios: each check fails on its fault and passes without it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

import orgsim
from tests.conftest import run_cli, write

BASE_OVERRIDES: dict[str, Any] = {"quotas": {"enabled": False}}
NOT_PREREQS = ("--checks", "access,explorer,scp")  # orgsim serves no SSM / EKS access entries: see test_doctor_prereq
HEALTHY_CHECKS = ("access.credentials", "access.management-role", "access.organization", "access.member-roles",
                  "explorer.trusted-access", "explorer.aggregator", "explorer.local-indexes", "explorer.index-state",
                  "explorer.view", "explorer.view-volume", "scp.denied", "access.permissions")


def org_config(extra: str = "") -> str:
    return ('[[integration]]\nname = "acme"\ntype = "aws-organization"\nregion = "us-east-1"\n'
            'sso_region = "us-east-1"\nsso_portal = "https://acme.awsapps.com/start"\n'
            'regions = ["us-east-1", "eu-west-1"]\n'
            'integration_owner = { attribute = "group", values = ["admins"] }\n'
            f'resource_owner = {{ tag_key = "owner", attribute = "group" }}\n{extra}\n')


def merged(overrides: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v) for k, v in BASE_OVERRIDES.items()}
    for section, values in overrides.items():
        out.setdefault(section, {}).update(values)
    return out


def account(sim: orgsim.Simulator, index: int) -> str:
    return str(sim.world.org.accounts[index].account_id)


class Run:
    def __init__(self, exit_code: int, payload: list[dict[str, Any]], sim: orgsim.Simulator) -> None:
        self.exit_code = exit_code
        self.checks = {c["id"]: c for c in payload[0]["checks"]}
        self.sim = sim

    def status(self, check: str) -> str:
        return str(self.checks[check]["status"])


def doctor(tmp: Path, overrides: dict[str, Any], *args: str, config: str | None = None,
           catalog: Path | None = None, env: bool = True) -> Run:
    mp = pytest.MonkeyPatch()
    try:
        with orgsim.run_in_thread("small", overrides=merged(overrides)) as sim:
            if env:
                for key, value in sim.env().items():
                    mp.setenv(key, value)
            else:  # only the endpoint: no credentials anywhere
                mp.setenv("AWS_ENDPOINT_URL", sim.endpoint_url)
            path = write(tmp / "orgsync.toml", config or org_config())
            result = run_cli("doctor", path, "--format", "json", "--catalog", str(catalog or tmp / "none.duckdb"),
                             *args)
            return Run(result.exit_code, json.loads(result.output), sim)
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def baseline_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog holding a clean sync of the scenario: the counts the view is compared with."""
    root = tmp_path_factory.mktemp("baseline")
    catalog = root / "catalog.duckdb"
    mp = pytest.MonkeyPatch()
    try:
        with orgsim.run_in_thread("small", overrides=merged({})) as sim:
            for key, value in sim.env().items():
                mp.setenv(key, value)
            result = run_cli("sync", write(root / "orgsync.toml", org_config()), "--catalog", str(catalog), "--quiet")
            assert result.exit_code == 0, result.output
    finally:
        mp.undo()
    return catalog


@pytest.fixture(scope="module")
def healthy(baseline_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return doctor(tmp_path_factory.mktemp("healthy"), {}, *NOT_PREREQS, catalog=baseline_catalog)


BROKEN_MEMBERS: dict[str, Any] = {
    "faults": {"unassumable": ["#2"], "scp_denied_regions": ["#7:eu-west-1"]},
    "explorer": {"indexes_missing": ["#3:eu-west-1"], "index_states": {"#1:us-east-1": "CREATING"},
                 "org_view_tags": False, "lagging": ["#3:us-east-1", "#5:*", "#6:*", "#8:*", "#9:*"]},
}


@pytest.fixture(scope="module")
def broken_members(baseline_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    config = org_config('exclude_account_ids = ["000000000000"]')
    return doctor(tmp_path_factory.mktemp("members"), BROKEN_MEMBERS, *NOT_PREREQS, config=config,
                  catalog=baseline_catalog)


@pytest.fixture(scope="module")
def broken_management(tmp_path_factory: pytest.TempPathFactory) -> Run:
    overrides = {"explorer": {"aggregator_region": "", "trusted_access": False}}
    return doctor(tmp_path_factory.mktemp("management"), overrides, *NOT_PREREQS)


@pytest.mark.parametrize("check", HEALTHY_CHECKS)
def test_healthy_organization_passes_every_check(healthy: Run, check: str) -> None:
    assert healthy.status(check) == "ok", healthy.checks[check]


def test_healthy_organization_exits_0_and_compares_the_view_with_the_last_sync(healthy: Run) -> None:
    assert healthy.exit_code == 0
    assert any("resourcetype:ec2:instance" in e for e in healthy.checks["explorer.view-volume"]["evidence"])


def test_unassumable_member_account_is_an_error(broken_members: Run) -> None:
    check = broken_members.checks["access.member-roles"]
    assert check["status"] == "error"
    assert check["accounts"] == [account(broken_members.sim, 2)]
    assert "AccessDenied" in check["evidence"][0] and "sts:AssumeRole" in check["evidence"][0]
    assert "OrganizationAccountAccessRole" in check["remediation"]


def test_exclusion_matching_nothing_is_a_warning(broken_members: Run) -> None:
    check = broken_members.checks["access.organization"]
    assert check["status"] == "warning" and "000000000000" in check["summary"]


def test_missing_local_index_is_listed_by_account_and_region(broken_members: Run) -> None:
    check = broken_members.checks["explorer.local-indexes"]
    victim = account(broken_members.sim, 3)
    assert check["status"] == "warning"
    assert check["details"]["by_region"] == {"eu-west-1": [victim]}
    assert check["details"]["by_account"] == {victim: ["eu-west-1"]}
    assert f"resource-explorer-2:GetIndex in {victim}:eu-west-1 -> ResourceNotFoundException" in check["evidence"]


def test_the_unassumable_accounts_indexes_come_from_the_management_side(broken_members: Run) -> None:
    unassumable = account(broken_members.sim, 2)
    check = broken_members.checks["explorer.local-indexes"]
    assert unassumable not in check["details"]["by_account"]
    assert not check["details"]["unknown"]


def test_creating_index_is_a_warning(broken_members: Run) -> None:
    check = broken_members.checks["explorer.index-state"]
    assert check["status"] == "warning"
    assert check["details"]["states"] == {f"{account(broken_members.sim, 1)}:us-east-1": "CREATING"}


def test_view_without_tags_is_an_error_when_owners_are_configured(broken_members: Run) -> None:
    check = broken_members.checks["explorer.view"]
    assert check["status"] == "error" and "does not include the tags property" in check["summary"]


def test_lagging_view_is_far_below_the_last_sync(broken_members: Run) -> None:
    check = broken_members.checks["explorer.view-volume"]
    assert check["status"] == "warning" and "far fewer" in check["summary"]
    assert "36 hours" in check["remediation"]


def test_scp_denied_region_is_reported_per_region_from_probes(broken_members: Run) -> None:
    check = broken_members.checks["scp.denied"]
    assert check["status"] == "error"  # eu-west-1 is one of the configured regions
    assert check["details"]["by_region"] == {"eu-west-1": [account(broken_members.sim, 7)]}
    assert any("explicit deny in a service control policy" in e for e in check["evidence"])
    assert "NotAction" in check["remediation"]
    assert broken_members.exit_code == 2


def test_trusted_access_disabled_is_an_error(broken_management: Run) -> None:
    check = broken_management.checks["explorer.trusted-access"]
    assert check["status"] == "error" and "DISABLED" in check["evidence"][0]


def test_aggregator_created_as_local_is_an_error(broken_management: Run) -> None:
    check = broken_management.checks["explorer.aggregator"]
    assert check["status"] == "error"
    assert check["summary"] == "the index in us-east-1 exists but is LOCAL, not the aggregator"
    assert broken_management.checks["explorer.view"]["status"] == "error"  # no org view without an aggregator


def test_empty_view_is_a_warning_and_exits_1(tmp_path: Path) -> None:
    run = doctor(tmp_path, {"explorer": {"lagging_share": 1.0}}, *NOT_PREREQS)
    check = run.checks["explorer.view-volume"]
    assert check["status"] == "warning" and "is empty" in check["summary"]
    assert run.exit_code == 1


def test_scp_denies_recorded_by_the_last_sync_are_reported(baseline_catalog: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "scp.duckdb"
    shutil.copy(baseline_catalog, catalog)
    with duckdb.connect(str(catalog)) as con:
        [(victim,)] = con.execute("SELECT account_id FROM sync_scopes WHERE region = 'eu-west-1' ORDER BY 1 LIMIT 1"
                                  ).fetchall()
        con.execute("UPDATE sync_scopes SET status = 'skipped', error_code = 'AccessDeniedException', error_message = "
                    "'User: x is not authorized to perform: lambda:ListFunctions with an explicit deny in a service "
                    "control policy' WHERE account_id = ? AND region = 'eu-west-1' AND resource_type = "
                    "'lambda:function'", [victim])
    run = doctor(tmp_path, {}, "--checks", "scp", catalog=catalog)
    check = run.checks["scp.denied"]
    assert check["status"] == "error" and check["details"]["from_last_sync"] == 1
    assert check["details"]["by_region"] == {"eu-west-1": [victim]}
    assert "sync scope lambda:function" in check["evidence"][0]


def test_unassumable_management_role_is_an_error(tmp_path: Path) -> None:
    probe = orgsim.World(orgsim.load_scenario("small"))
    role = f"arn:aws:iam::{probe.org.accounts[0].account_id}:role/NoSuchRole"
    run = doctor(tmp_path, {}, "--checks", "access", config=org_config(f'management_account_role_arn = "{role}"'))
    check = run.checks["access.management-role"]
    assert check["status"] == "error" and "AccessDenied" in check["evidence"][0]
    assert run.exit_code == 2 and set(run.checks) == {"access.credentials", "access.management-role"}


def test_assumable_management_role_passes(tmp_path: Path) -> None:
    probe = orgsim.World(orgsim.load_scenario("small"))
    role = f"arn:aws:iam::{probe.org.accounts[0].account_id}:role/OrganizationAccountAccessRole"
    run = doctor(tmp_path, {"organization": {"management_has_role": True}}, "--checks", "access",
                 config=org_config(f'management_account_role_arn = "{role}"'))
    assert run.status("access.management-role") == "ok" and run.status("access.member-roles") == "ok"
    assert run.exit_code == 0


def test_missing_credentials_are_an_error(tmp_path: Path) -> None:
    run = doctor(tmp_path, {}, env=False)
    check = run.checks["access.credentials"]
    assert check["status"] == "error" and "NoCredentialsError" in check["evidence"][0]
    assert run.exit_code == 2


def test_account_outside_an_organization_cannot_be_listed(tmp_path: Path) -> None:
    run = doctor(tmp_path, {"organization": {"enabled": False}}, "--checks", "access")
    check = run.checks["access.organization"]
    assert check["status"] == "error" and "AWSOrganizationsNotInUseException" in check["evidence"][0]
    assert "aws-account integration" in check["remediation"]


def test_account_integration_checks_its_own_indexes_and_default_view(tmp_path: Path) -> None:
    config = '[[integration]]\nname = "solo"\ntype = "aws-account"\nregion = "us-east-1"\n'
    run = doctor(tmp_path, {"explorer": {"indexes_missing": ["#0:eu-west-1"]}}, *NOT_PREREQS, config=config)
    assert "explorer.trusted-access" not in run.checks and "access.member-roles" not in run.checks
    assert run.status("explorer.local-indexes") == "warning"
    assert run.status("explorer.view") == "ok" and run.status("access.regions") == "ok"
