"""`orgsync terraform`: View as Code for the Apono provider, golden files, `terraform fmt` clean."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sync.config import AccountIntegration, OrganizationIntegration, load_config
from sync.sources.registry import supported_types
from sync.terraform import connected_resource_type, render_integrations, resource_label
from sync.terraform.view import (
    CONFIG_KEYS,
    TOP_LEVEL,
    UNMAPPED_REASONS,
    integration_config,
)
from tests.conftest import run_cli

DATA = Path(__file__).parent / "data" / "terraform"
KINDS = ("account", "organization")


def rendered(kind: str, *extra: str) -> str:
    result = run_cli("terraform", str(DATA / f"{kind}.toml"), *extra)
    assert result.exit_code == 0, result.output
    return result.output


def terraform_fmt_check(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    path = tmp_path / "main.tf"
    path.write_text(text)
    return subprocess.run(["terraform", "fmt", "-check", "-diff", "-no-color", str(path)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"})


@pytest.mark.parametrize("kind", KINDS)
def test_output_matches_the_golden_file(kind: str) -> None:
    golden = DATA / f"{kind}.tf"
    if os.environ.get("ORGSYNC_UPDATE_GOLDEN"):
        golden.write_text(rendered(kind))
    assert rendered(kind) == golden.read_text()


@pytest.mark.parametrize("kind", KINDS)
def test_output_is_terraform_fmt_clean(kind: str, tmp_path: Path) -> None:
    check = terraform_fmt_check(rendered(kind), tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_hostile_text_stays_a_plain_string_and_fmt_clean(tmp_path: Path) -> None:
    details = 'a "quoted" \\ back ${var.x} %{if} \t tab\nline'
    integration = AccountIntegration(name="x", kind="aws-account", region="us-east-1", regions=None,
                                     resource_types=("s3:bucket",), custom_access_details=details)
    text = render_integrations([integration])
    assert 'custom_access_details = "a \\"quoted\\" \\\\ back $${var.x} %%{if} \\t tab\\nline"' in text
    check = terraform_fmt_check(text, tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_connector_id_option_replaces_the_placeholder_variable() -> None:
    text = rendered("organization", "--connector-id", "AwsConnector-prod-1")
    assert 'connector_id = "AwsConnector-prod-1"' in text
    assert "variable" not in text and "PLACEHOLDER" not in text
    assert "PLACEHOLDER" in rendered("organization")


def test_every_config_field_is_mapped_or_called_out() -> None:
    for cls in (AccountIntegration, OrganizationIntegration):
        for field in dataclasses.fields(cls):
            places = [field.name in TOP_LEVEL, field.name in CONFIG_KEYS, field.name in UNMAPPED_REASONS]
            assert sum(places) == 1, f"{cls.__name__}.{field.name} must be mapped or have an unmapped reason"


def test_every_set_setting_appears_in_the_output() -> None:
    [org] = load_config(DATA / "organization.toml", supported_types=supported_types()).integrations
    text = render_integrations([org])
    config = integration_config(org)
    assert set(config) == {key for field, key in CONFIG_KEYS.items() if hasattr(org, field)} - {"profile"}
    for field in UNMAPPED_REASONS:
        toml_key = {"refresh_intervals": "refresh_minutes"}.get(field, field)
        assert f"#   {toml_key} = " in text
    assert '"aws-organization-ec2-instance"' in text and 'key_name       = "owner"' in text


def test_labels_are_terraform_identifiers_and_unique() -> None:
    assert resource_label("acme-org") == "acme_org"
    assert resource_label("2nd") == "integration_2nd"
    assert resource_label("a-b", taken=["a_b"]) == "a_b_2"
    assert connected_resource_type("aws-account", "s3:bucket") == "aws-account-s3-bucket"


def test_single_integration_is_selected_by_name() -> None:
    text = rendered("account", "--integration", "2nd-account")
    assert '"integration_2nd_account"' in text and '"sandbox"' not in text
