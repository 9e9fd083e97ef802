"""Never lose data: a scope that throws, times out, is throttled past the retry budget or is denied
by an SCP, and an account whose role cannot be assumed, keep every row they had. Those rows are
not marked deleted, they are counted as stale by `orgsync status`, and the next good sync clears
the stale mark.

Each test syncs the simulator cleanly, then again against the same simulated organization (same
seed, so the same resources) with one fault, then checks the catalog against the first sync.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.config import AioConfig

import orgsim
import sync.aws.clients
from orgsim.errors import server_error, throttled
from orgsim.faults import Faults
from orgsim.registry import ServiceSpec
from orgsim.stats import Stats
from tests.conftest import run_cli, write
from tests.test_history import query

CONFIG = """
[[integration]]
name = "sim"
type = "aws-organization"
region = "us-east-1"
sso_region = "us-east-1"
sso_portal = "https://sim.awsapps.com/start"
resource_types = ["ec2:instance", "lambda:function", "iam:role", "secretsmanager:secret"]
integration_owner = { attribute = "group", values = ["platform-admins"] }
resource_owner = { tag_key = "owner", attribute = "group" }
"""

# Service APIs only (no Resource Explorer), so a fault on a service's API is a fault on its scopes.
BASE: dict[str, Any] = {"quotas": {"enabled": False}, "explorer": {"enabled": False}}
Scope = tuple[str, str, str]


class ServiceFault(Faults):
    """The scenario's own faults, plus one on every call to one service: a 5xx error ("error"),
    the service's throttling error ("throttle"), or a 3 s hang ("hang")."""

    def __init__(self, base: Faults, service: str, kind: str) -> None:
        self.__dict__.update(base.__dict__)
        self._base = base
        self._service = service
        self._kind = kind

    async def before(self, spec: ServiceSpec, stats: Stats) -> None:
        await self._base.before(spec, stats)
        if spec.signing_name != self._service:
            return
        if self._kind == "hang":
            await asyncio.sleep(3.0)
        elif self._kind == "throttle":
            stats.throttled[f"{spec.signing_name}:fault"] += 1
            raise throttled(spec)
        else:
            raise server_error(spec)


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def sync_against(overrides: dict[str, Any], config: str, catalog: Path, monkeypatch: pytest.MonkeyPatch,
                 *extra: str, fault: tuple[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    with orgsim.run_in_thread("small", overrides=_merge(BASE, overrides)) as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        if fault:
            sim.server.faults = ServiceFault(sim.server.faults, *fault)
        result = run_cli("sync", config, "--catalog", str(catalog), "--json", *extra)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)[0]


def by_scope(catalog: Path) -> dict[Scope, set[str]]:
    out: dict[Scope, set[str]] = {}
    for account, region, rtype, arn in query(catalog, "SELECT account_id, scope_region, resource_type, arn "
                                                      "FROM resource_rows WHERE deleted_at IS NULL"):
        out.setdefault((account, region, rtype), set()).add(arn)
    return out


def status(catalog: Path) -> dict[str, Any]:
    result = run_cli("status", "--catalog", str(catalog), "--format", "json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    return dict(row)


@pytest.fixture(scope="module")
def clean_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One clean sync of the simulated organization, copied by each test."""
    base = tmp_path_factory.mktemp("clean")
    config = write(base / "orgsync.toml", CONFIG)
    catalog = base / "clean.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        code, summary = sync_against({}, config, catalog, mp)
    assert code == 0 and summary["scopes"]["failed"] == summary["scopes"]["skipped"] == 0
    yield config, catalog


@pytest.fixture
def synced(clean_catalog: tuple[str, Path], tmp_path: Path) -> tuple[str, Path, dict[Scope, set[str]]]:
    config, clean = clean_catalog
    catalog = tmp_path / "c.duckdb"
    shutil.copy(clean, catalog)
    return config, catalog, by_scope(catalog)


def assert_nothing_lost(catalog: Path, before: dict[Scope, set[str]], summary: dict[str, Any],
                        kept_scopes: set[Scope]) -> int:
    """Every row is still current; returns how many belong to the scopes that could not be synced."""
    assert summary["resources"]["deleted"] == 0
    assert by_scope(catalog) == before
    assert query(catalog, "SELECT count(*) FROM resources WHERE deleted_at IS NOT NULL") == [(0,)]
    stale = sum(len(before.get(s, ())) for s in kept_scopes)
    assert stale > 0, "the fault hit no scope that had rows: the test proves nothing"
    assert status(catalog)["stale"] == stale
    assert query(catalog, "SELECT count(*) FROM stale_resources") == [(stale,)]
    return stale


def not_synced(summary: dict[str, Any]) -> set[Scope]:
    return {(s["account_id"], s["region"], s["resource_type"])
            for s in summary["failed_scopes"] + summary["skipped_scopes"]}


def test_a_scope_that_throws_keeps_its_rows(synced: tuple[str, Path, dict[Scope, set[str]]],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config, catalog, before = synced
    code, summary = sync_against({}, config, catalog, monkeypatch, "--max-attempts", "2", fault=("lambda", "error"))
    assert code == 1
    failed = not_synced(summary)
    assert failed and {t for _, _, t in failed} == {"lambda:function"}
    assert {s["error_code"] for s in summary["failed_scopes"]} == {"ServiceException"}
    assert_nothing_lost(catalog, before, summary, failed)
    stale = run_cli("status", "--stale", "--catalog", str(catalog), "--format", "json")
    listed = json.loads(stale.output)
    assert {(r["account_id"], r["region"], r["resource_type"]) for r in listed} <= failed
    assert {r["stale_reason"] for r in listed} == {"scope failed"}
    assert all("ServiceException" in r["error"] for r in listed)

    # The next good sync confirms them again.
    code, summary = sync_against({}, config, catalog, monkeypatch)
    assert code == 0 and summary["resources"]["deleted"] == 0
    assert status(catalog)["stale"] == 0 and by_scope(catalog) == before


def test_a_scope_that_times_out_keeps_its_rows(synced: tuple[str, Path, dict[Scope, set[str]]],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine has no timeout option; its client configuration is patched to a 1 s read timeout.
    monkeypatch.setattr(sync.aws.clients, "CLIENT_CONFIG",
                        sync.aws.clients.CLIENT_CONFIG.merge(AioConfig(read_timeout=1, connect_timeout=1)))
    config, catalog, before = synced
    code, summary = sync_against({}, config, catalog, monkeypatch, "--max-attempts", "1",
                                 "--types", "secretsmanager:secret,ec2:instance", fault=("secretsmanager", "hang"))
    assert code == 1
    failed = not_synced(summary)
    assert failed and {t for _, _, t in failed} == {"secretsmanager:secret"}
    assert {s["error_code"] for s in summary["failed_scopes"]} == {"ReadTimeoutError"}
    assert_nothing_lost(catalog, before, summary, failed)


def test_a_scope_throttled_past_the_retry_budget_keeps_its_rows(
        synced: tuple[str, Path, dict[Scope, set[str]]], monkeypatch: pytest.MonkeyPatch) -> None:
    config, catalog, before = synced
    # Every Lambda call is throttled; the budget allows one retry.
    code, summary = sync_against({}, config, catalog, monkeypatch, "--max-attempts", "2",
                                 fault=("lambda", "throttle"))
    assert code == 1 and summary["throttles"] > 0
    failed = not_synced(summary)
    assert failed and {t for _, _, t in failed} == {"lambda:function"}
    assert {s["error_code"] for s in summary["failed_scopes"]} == {"TooManyRequestsException"}
    assert_nothing_lost(catalog, before, summary, failed)


def test_a_region_denied_by_an_scp_is_skipped_and_keeps_its_rows(
        synced: tuple[str, Path, dict[Scope, set[str]]], monkeypatch: pytest.MonkeyPatch) -> None:
    config, catalog, before = synced
    code, summary = sync_against({"faults": {"scp_denied_regions": ["eu-west-1"]}}, config, catalog, monkeypatch)
    assert code == 0  # skipped is legitimate, not a failure
    skipped = not_synced(summary)
    assert skipped and {r for _, r, _ in skipped} == {"eu-west-1"}
    assert summary["scopes"]["failed"] == 0
    assert_nothing_lost(catalog, before, summary, skipped)
    reasons = query(catalog, "SELECT DISTINCT stale_reason FROM stale_resources")
    assert reasons == [("scope skipped",)]


def test_an_account_whose_role_cannot_be_assumed_keeps_its_rows(
        synced: tuple[str, Path, dict[Scope, set[str]]], monkeypatch: pytest.MonkeyPatch) -> None:
    config, catalog, before = synced
    accounts = sorted({a for a, _, _ in before})
    victim = accounts[1]
    code, summary = sync_against({"faults": {"unassumable": [victim]}}, config, catalog, monkeypatch)
    assert code == 1 and [a["account_id"] for a in summary["failed_accounts"]] == [victim]
    assert_nothing_lost(catalog, before, summary, {s for s in before if s[0] == victim})
    assert query(catalog, "SELECT DISTINCT stale_reason FROM stale_resources") == [("account failed",)]
