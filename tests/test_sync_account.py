"""An aws-account integration: a profile from the shared config, regions from DescribeRegions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import duckdb
import pytest

from catalog.connect import sync_lock
from tests.conftest import run_cli, write
from tests.support.fault_proxy import fault_proxy
from tests.support.moto_server import moto_server


@pytest.fixture(scope="module")
def moto_account() -> Iterator[str]:
    with moto_server() as url, fault_proxy(url) as proxy:
        kw = {"endpoint_url": url, "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
            ec2 = boto3.client("ec2", region_name=region, **kw)
            ec2.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2, InstanceType="t3.micro",
                              TagSpecifications=[{"ResourceType": "instance",
                                                  "Tags": [{"Key": "owner", "Value": "alice"}]}])
        yield proxy.url


@pytest.fixture
def profile_env(moto_account: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Credentials only through a named profile, the endpoint through AWS_ENDPOINT_URL."""
    config = tmp_path / "aws-config"
    config.write_text("[profile apono]\nregion = us-east-1\n")
    creds = tmp_path / "aws-credentials"
    creds.write_text("[apono]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_account)
    return write(tmp_path / "orgsync.toml", """
[[integration]]
name = "dev-account"
type = "aws-account"
region = "us-east-1"
aws_profile = "apono"
resource_types = ["ec2:instance", "iam:role"]
""")


def test_account_integration_uses_the_profile_and_enabled_regions(profile_env: str, tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    result = run_cli("sync", profile_env, "--catalog", str(catalog), "--json",
                     "--regions", "us-east-1,eu-west-1,ap-southeast-2")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)[0]
    assert summary["scopes"] == {"complete": 4, "skipped": 0, "failed": 0}  # 3 regions + IAM once
    with duckdb.connect(str(catalog), read_only=True) as con:
        by_region = dict(con.execute(
            "SELECT region, count(*) FROM current_resources WHERE resource_type = 'ec2:instance' GROUP BY 1").fetchall())
        [(account, regions)] = con.execute("SELECT account_id, regions FROM accounts").fetchall()
    assert by_region == {"us-east-1": 2, "eu-west-1": 2, "ap-southeast-2": 2}
    assert account == "123456789012" and regions == ["ap-southeast-2", "eu-west-1", "us-east-1"]


def test_missing_profile_is_a_clear_error(profile_env: str, tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.toml", Path(profile_env).read_text().replace('"apono"', '"nope"'))
    catalog = tmp_path / "c.duckdb"
    result = run_cli("sync", broken, "--catalog", str(catalog), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.output)[0]
    assert summary["status"] == "failed" and "nope" in summary["error"]


def test_second_sync_on_a_busy_catalog_exits_at_once(profile_env: str, tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    with sync_lock(str(catalog)):
        result = run_cli("sync", profile_env, "--catalog", str(catalog))
    assert result.exit_code == 2 and "busy" in result.output
    assert not catalog.exists()


def test_config_errors_exit_2_and_write_nothing(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", """
[[integration]]
name = "bad name!"
type = "aws-organization"
region = "us-east-1"
sso_region = "us-east-1"
sso_portal = "http://insecure.example.com"
custom_access_details = "x"
resource_owner = { tag_key = "owner", attribute = "group" }
""")
    catalog = tmp_path / "c.duckdb"
    for command in (["validate", bad], ["sync", bad, "--catalog", str(catalog)]):
        result = run_cli(*command)
        assert result.exit_code == 2
        assert "'name'" in result.output and "'sso_portal'" in result.output
        assert "Integration Owner" in result.output and "Traceback" not in result.output
    assert not catalog.exists()


def test_unknown_type_filter_is_a_usage_error(profile_env: str, tmp_path: Path) -> None:
    result = run_cli("sync", profile_env, "--catalog", str(tmp_path / "c.duckdb"), "--types", "ec2:volume")
    assert result.exit_code == 2 and "ec2:volume" in result.output and "ec2:instance" in result.output


def test_init_writes_a_template_that_validates(tmp_path: Path) -> None:
    for kind in ("account", "organization"):
        path = tmp_path / f"{kind}.toml"
        assert run_cli("init", "--kind", kind, "-o", str(path)).exit_code == 0
        assert run_cli("validate", str(path)).exit_code == 0
        again = run_cli("init", "--kind", kind, "-o", str(path))
        assert again.exit_code == 2 and "exists" in again.output
