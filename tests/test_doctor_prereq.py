"""The prerequisite checks (EC2 managed by SSM, EKS access entries) against orgsim plus a small stub.

Neither orgsim nor moto serves ssm:DescribeInstanceInformation or eks:ListAccessEntries, so a stub
on 127.0.0.1 answers SSM and EKS (AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_EKS), built from
orgsim's ground truth; orgsim serves everything else, including ec2:DescribeInstances.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import orgsim
from tests.conftest import run_cli, write

MEMBER_ROLE = "OrganizationAccountAccessRole"
_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/")
_ENTRIES = re.compile(r"/clusters/([^/]+)/access-entries")


@dataclass
class StubState:
    management: str
    instances: dict[tuple[str, str], list[str]]  # (account, region) -> instance ids
    clusters: dict[tuple[str, str], list[str]]  # (account, region) -> cluster names
    managed: bool = True  # SSM manages every instance
    entries: bool = True  # every cluster has an entry for the connector
    calls: list[str] = field(default_factory=list)

    def caller(self, authorization: str) -> tuple[str, str]:
        found = _CREDENTIAL.search(authorization)
        assert found, authorization
        key, region = found.groups()
        # orgsim's assumed-role keys spell the account: ASIA + 12 digits + check digits.
        account = key[4:16] if key.startswith("ASIA") and key[4:16].isdigit() else self.management
        return account, region

    def principals(self, account: str) -> list[str]:
        if not self.entries:
            return [f"arn:aws:iam::{account}:role/SomeoneElse"]
        return [f"arn:aws:iam::{account}:role/{MEMBER_ROLE}", f"arn:aws:iam::{account}:user/orgsim-admin"]


def handler(state: StubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, body: dict[str, Any], content_type: str = "application/json") -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # SSM (json 1.1)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get("X-Amz-Target", "")
            state.calls.append(target)
            assert target == "AmazonSSM.DescribeInstanceInformation", target
            account, region = state.caller(self.headers["Authorization"])
            ids = state.instances.get((account, region), []) if state.managed else []
            self._reply({"InstanceInformationList": [{"InstanceId": i, "PingStatus": "Online"} for i in ids]},
                        "application/x-amz-json-1.1")

        def do_GET(self) -> None:  # EKS (rest-json)
            account, region = state.caller(self.headers["Authorization"])
            path = self.path.split("?", 1)[0]
            state.calls.append(path)
            entries = _ENTRIES.fullmatch(path)
            if entries:
                self._reply({"accessEntries": state.principals(account)})
            else:
                assert path == "/clusters", path
                self._reply({"clusters": state.clusters.get((account, region), [])})

    return Handler


@pytest.fixture(scope="module")
def sim() -> Iterator[orgsim.Simulator]:
    with orgsim.run_in_thread("small", overrides={"quotas": {"enabled": False}}) as running:
        yield running


@pytest.fixture(scope="module")
def stub(sim: orgsim.Simulator) -> Iterator[tuple[StubState, str]]:
    instances: dict[tuple[str, str], list[str]] = {}
    clusters: dict[tuple[str, str], list[str]] = {}
    for row in sim.truth():
        key = (row["account_id"], row["region"])
        if row["resource_type"] == "ec2:instance":
            instances.setdefault(key, []).append(row["arn"].rsplit("/", 1)[1])
        elif row["resource_type"] == "eks:cluster":
            clusters.setdefault(key, []).append(row["arn"].rsplit("/", 1)[1])
    assert instances and clusters, "the scenario should hold EC2 instances and EKS clusters"
    state = StubState(str(sim.world.org.accounts[0].account_id), instances, clusters)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def doctor(sim: orgsim.Simulator, stub_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict]:
    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", stub_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", stub_url)
    config = write(tmp_path / "orgsync.toml",
                   '[[integration]]\nname = "acme"\ntype = "aws-organization"\nregion = "us-east-1"\n'
                   'sso_region = "us-east-1"\nsso_portal = "https://acme.awsapps.com/start"\n'
                   'regions = ["us-east-1", "eu-west-1"]\nresource_types = ["ec2:instance", "eks:cluster"]\n')
    result = run_cli("doctor", config, "--checks", "prerequisites", "--format", "json",
                     "--catalog", str(tmp_path / "none.duckdb"))
    return result.exit_code, {c["id"]: c for c in json.loads(result.output)[0]["checks"]}


@pytest.fixture
def state(stub: tuple[StubState, str]) -> Iterator[StubState]:
    yield stub[0]
    stub[0].managed = stub[0].entries = True
    stub[0].calls.clear()


def test_managed_instances_and_access_entries_pass(sim: orgsim.Simulator, stub: tuple[StubState, str],
                                                    state: StubState, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    code, checks = doctor(sim, stub[1], tmp_path, monkeypatch)
    assert checks["prereq.ec2-ssm"]["status"] == "ok", checks["prereq.ec2-ssm"]
    assert checks["prereq.eks-access"]["status"] == "ok", checks["prereq.eks-access"]
    assert code == 0
    assert "AmazonSSM.DescribeInstanceInformation" in state.calls
    assert any(c.endswith("/access-entries") for c in state.calls)


def test_unmanaged_instances_and_missing_access_entries_warn(sim: orgsim.Simulator, stub: tuple[StubState, str],
                                                             state: StubState, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    state.managed = state.entries = False
    code, checks = doctor(sim, stub[1], tmp_path, monkeypatch)
    ec2 = checks["prereq.ec2-ssm"]
    assert ec2["status"] == "warning" and "not managed by Systems Manager" in ec2["summary"]
    assert "AmazonSSMManagedInstanceCore" in ec2["remediation"]
    unmanaged = {i for ids in ec2["details"]["instances"].values() for i in ids}
    known = {i for ids in state.instances.values() for i in ids}
    assert unmanaged and unmanaged <= known  # only running instances, all of them reported
    eks = checks["prereq.eks-access"]
    assert eks["status"] == "warning"
    assert len(eks["details"]["clusters"]) == sum(len(c) for c in state.clusters.values())
    assert "access entry" in eks["remediation"]
    assert code == 1
