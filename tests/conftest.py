"""Shared fixtures: a seeded moto organization (per test module), the engine pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sync.cli import main
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.moto_org import SeededOrg, seed_organization
from tests.support.moto_server import moto_server

AWS_ENV = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
           "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
           "ORGSYNC_CATALOG")


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never reach AWS from a test: no inherited credentials, profiles or endpoints."""
    for name in AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@dataclass
class OrgEnv:
    org: SeededOrg
    proxy: FaultProxy

    def point_engine(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", self.proxy.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="module")
def org_env() -> Iterator[OrgEnv]:
    """A moto server with the seeded organization, behind a fault-injecting proxy (module-wide)."""
    with moto_server() as url, fault_proxy(url) as proxy:
        yield OrgEnv(seed_organization(url), proxy)


@pytest.fixture
def aws(org_env: OrgEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[OrgEnv]:
    org_env.point_engine(monkeypatch)
    yield org_env
    org_env.proxy.clear()


def org_config(org: SeededOrg, *, extra: str = "", exclude_sandbox: bool = True) -> str:
    excluded_ous = f'["{org.ou_ids["Sandbox"]}"]' if exclude_sandbox else "[]"
    return f"""
[[integration]]
name = "acme"
type = "aws-organization"
region = "us-east-1"
sso_region = "us-east-1"
sso_portal = "https://acme.awsapps.com/start"
exclude_organization_unit_ids = {excluded_ous}
exclude_account_ids = ["{org.account_ids['excluded-a']}"]
regions = ["us-east-1", "eu-west-1"]
integration_owner = {{ attribute = "group", values = ["platform-admins"] }}
resource_owner = {{ tag_key = "owner", attribute = "group" }}
{extra}
"""


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)
