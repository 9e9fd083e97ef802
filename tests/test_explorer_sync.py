"""The Resource Explorer path against orgsim: coverage decides the source, results match the truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest

import orgsim
from tests.conftest import run_cli, write

CONFIG = """
[[integration]]
name = "sim"
type = "aws-organization"
region = "us-east-1"
sso_region = "us-east-1"
sso_portal = "https://sim.awsapps.com/start"
integration_owner = { attribute = "group", values = ["platform-admins"] }
resource_owner = { tag_key = "owner", attribute = "group" }
"""
FAST = {"quotas": {"enabled": False}, "organization": {"accounts": 6, "suspended_accounts": 0},
        "resources": {"total": 300}}


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


@contextmanager
def simulated(monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Iterator[orgsim.Simulator]:
    with orgsim.run_in_thread("small", overrides=merged(FAST, overrides)) as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        yield sim


def sync(tmp_path: Path, catalog: str = "c.duckdb", *args: str) -> tuple[dict[str, Any], Path]:
    config = write(tmp_path / "orgsync.toml", CONFIG)
    path = tmp_path / catalog
    # The simulator runs without quotas here: lift ours too (Organizations is 2 calls/s otherwise).
    result = run_cli("sync", config, "--catalog", str(path), "--json", "--rate-scale", "20", *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)[0], path


def q(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def inventory(path: Path) -> dict[str, tuple[Any, ...]]:
    rows = q(path, """SELECT arn, account_id, region, resource_type, resource_id, name, tags, owner_tag_value
                      FROM current_resources""")
    return {r[0]: r[1:6] + (json.loads(r[6]), r[7]) for r in rows}


def truth(sim: orgsim.Simulator) -> dict[str, dict[str, Any]]:
    return {t["arn"]: t for t in sim.truth() if t["reachable"]}


def assert_matches_truth(path: Path, sim: orgsim.Simulator) -> None:
    got, expected = inventory(path), truth(sim)
    assert set(got) == set(expected)
    for arn, row in got.items():
        assert row[1] == expected[arn]["region"] and row[2] == expected[arn]["resource_type"], arn
        assert row[5] == expected[arn]["tags"], arn
        assert row[6] == expected[arn]["tags"].get("owner"), arn


def sources(path: Path) -> dict[tuple[str, str], str]:
    """(account x region x type) -> source of the last sync."""
    return {(f"{a} {r} {t}", s): reason for a, r, t, s, reason in q(path, """
        SELECT account_id, region, resource_type, source, reason FROM sync_scopes
        WHERE sync_id = (SELECT max(sync_id) FROM sync_runs)""")}


def by_source(path: Path) -> dict[str, int]:
    return dict(q(path, """SELECT source, count(*) FROM sync_scopes
                           WHERE sync_id = (SELECT max(sync_id) FROM sync_runs) GROUP BY 1"""))


def test_aggregator_with_tags_lists_everything_but_iam_and_s3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with simulated(monkeypatch) as sim:
        summary, path = sync(tmp_path)
        assert summary["status"] == "complete"
        assert_matches_truth(path, sim)
    counts = by_source(path)
    # The aggregator, and member views for what arrives while its booked backlog (whole calls per
    # query) would finish later than a query of the area's own.
    assert "explorer-aggregator" in counts and set(counts) <= {"explorer-aggregator", "explorer-member", "services"}
    own_api = {s for (scope, s) in sources(path) if " iam:" in scope or " s3:" in scope}
    assert own_api == {"services"}  # IAM tags are never in Resource Explorer; ListBuckets is complete
    assert {s for (scope, s) in sources(path) if " iam:" not in scope and " s3:" not in scope} <= {
        "explorer-aggregator", "explorer-member"}


def test_explorer_and_services_paths_write_the_same_inventory(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    with simulated(monkeypatch):
        _, explorer = sync(tmp_path, "explorer.duckdb", "--source", "explorer")
        _, services = sync(tmp_path, "services.duckdb", "--source", "services")
    assert inventory(explorer) == inventory(services)
    assert by_source(services) == {"services": sum(by_source(services).values())}


def test_view_without_tags_takes_tags_from_the_cheaper_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with simulated(monkeypatch, explorer={"org_view_tags": False, "default_view_tags": False}) as sim:
        summary, path = sync(tmp_path)
        assert_matches_truth(path, sim)  # same tags and owners as the truth, whichever source
        tagging_calls = sim.stats()["calls"].get("tagging:GetResources", 0)
    assert any("no tags property" in w for w in summary["warnings"])
    listed = q(path, """SELECT resource_type, source, any_value(reason) FROM sync_scopes
                        WHERE region <> 'global' GROUP BY ALL""")
    by_type = {t: (src, reason) for t, src, reason in listed}
    # Types whose service API needs a call per resource for tags: Resource Explorer lists them and
    # the Tagging API (100 a call) brings the tags. Types with tags in the listing: service API.
    for rtype in ("lambda:function", "dynamodb:table", "eks:cluster"):
        source, reason = by_type[rtype]
        assert source.startswith("explorer-") and "Tagging API" in reason, rtype
    for rtype in ("ec2:instance", "rds:db", "secretsmanager:secret"):
        source, reason = by_type[rtype]
        assert source == "services" and "returns" in reason and "tags with the listing" in reason, rtype
    assert tagging_calls > 0
    tagged = q(path, """SELECT count(*) FROM current_resources WHERE resource_type = 'lambda:function'
                        AND tags::VARCHAR <> '{}'""")[0][0]
    assert tagged > 0  # the Tagging API's tags really landed in the rows


def test_partial_index_coverage_uses_services_where_indexes_are_missing(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    with simulated(monkeypatch, explorer={"indexes_missing": ["#2:*", "#3:eu-west-1"]}) as sim:
        _, path = sync(tmp_path)
        assert_matches_truth(path, sim)
        second, third = sim.world.org.accounts[2].account_id, sim.world.org.accounts[3].account_id
    scopes = sources(path)
    for (scope, source), reason in scopes.items():
        account, region, rtype = scope.split()
        if rtype.startswith("iam:") or rtype == "s3:bucket":
            continue
        if account == second or (account == third and region == "eu-west-1"):
            assert source == "services" and "no Resource Explorer index" in reason, scope
        elif region != "global":
            assert source in ("explorer-aggregator", "explorer-member"), scope


def test_unsupported_type_and_creating_index_use_services(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with simulated(monkeypatch, explorer={"unsupported_types": ["rds:db"],
                                          "index_states": {"#1:us-east-1": "CREATING"}}) as sim:
        _, path = sync(tmp_path)
        assert_matches_truth(path, sim)
        creating = sim.world.org.accounts[1].account_id
    for (scope, source), reason in sources(path).items():
        account, region, rtype = scope.split()
        if rtype == "rds:db":
            assert source == "services" and "not supported" in reason
        elif account == creating and region == "us-east-1" and not rtype.startswith("iam:"):
            assert source == "services" and "CREATING" in reason
    # What the probe found is kept: the aggregator side once, every index with its state.
    setup = q(path, "SELECT trusted_access, aggregator_region, view_arn IS NOT NULL, view_has_tags, supported_types, "
                    "problems FROM explorer_setup")
    assert len(setup) == 1 and setup[0][:4] == (True, "us-east-1", True, True) and setup[0][4] > 0
    states = dict(((a, r), s) for a, r, s in q(path, "SELECT account_id, region, index_state FROM explorer_indexes"))
    assert states[(creating, "us-east-1")] == "CREATING"
    assert {s for area, s in states.items() if area != (creating, "us-east-1")} == {"ACTIVE"}
    assert {a for a, _ in states} == {a for (a,) in q(path, "SELECT account_id FROM accounts WHERE status = 'selected'")}
    result = run_cli("query", "explorer-indexes", "-p", "state=CREATING", "--catalog", str(path), "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"sim,{creating},us-east-1,")


def test_large_account_regions_use_their_member_view(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    regional = "ec2:instance,lambda:function,rds:db,dynamodb:table,secretsmanager:secret,eks:cluster"
    with simulated(monkeypatch, resources={"total": 4000, "hot_account": 1, "hot_account_share": 0.8,
                                           "types": regional.split(",")}) as sim:
        _, path = sync(tmp_path, "c.duckdb", "--types", regional)
        assert_matches_truth(path, sim)
        hot = sim.world.org.accounts[1].account_id
    member = {tuple(scope.split()[:2]) for (scope, source) in sources(path) if source == "explorer-member"}
    assert any(account == hot for account, _ in member)
    sizes = dict(((a, r), n) for a, r, n in q(path, """SELECT account_id, region, count(*) FROM current_resources
                                                       WHERE resource_type <> 's3:bucket' GROUP BY ALL"""))
    # Member views for every account x region of a page or more; the aggregator takes small ones
    # while its booked backlog keeps up (member views take the rest).
    assert {area for area, n in sizes.items() if n >= 1000 and area[1] != "global"} <= member
    assert "explorer-aggregator" in by_source(path)
    counted = {(a, r): (n, view) for a, r, n, view in q(path, "SELECT account_id, region, resources_counted, "
                                                              "view_arn FROM explorer_indexes")}
    # Every member-view area was weighed with the count its own view gave.
    assert all(counted[area][1] for area in member), counted


def test_lagging_index_is_listed_through_services_not_trusted(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    with simulated(monkeypatch, explorer={"lagging": ["#1:us-east-1"]}) as sim:
        summary, path = sync(tmp_path)
        assert_matches_truth(path, sim)
        lagging = sim.world.org.accounts[1].account_id
        calls = sim.stats()["calls"]
    lag_scopes = {scope: reason for (scope, source), reason in sources(path).items()
                  if scope.startswith(f"{lagging} us-east-1 ")}
    assert lag_scopes and all("indexing can lag" in r for r in lag_scopes.values())
    assert any("indexing can lag" in w for w in summary["warnings"])
    # Re-listed with the cheaper tag source, like any service-listed scope in auto mode.
    assert "tags from the Tagging API" in lag_scopes[f"{lagging} us-east-1 lambda:function"]
    assert calls.get("lambda:ListTags", 0) == 0 and calls["tagging:GetResources"] > 0


def test_index_that_falls_behind_after_a_good_sync_deletes_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    with simulated(monkeypatch):
        first, path = sync(tmp_path)
    with simulated(monkeypatch, explorer={"lagging": ["#1:*"]}) as sim:
        second, _ = sync(tmp_path)
        assert_matches_truth(path, sim)
    assert second["resources"]["deleted"] == 0 and second["resources"]["added"] == 0


def test_forced_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with simulated(monkeypatch, explorer={"enabled": False}) as sim:
        summary, path = sync(tmp_path, "c.duckdb", "--source", "explorer")
        assert_matches_truth(path, sim)
    reasons = {reason for (_, source), reason in sources(path).items()}
    assert set(by_source(path)) == {"services"}
    assert any(r.startswith("Resource Explorer unusable") for r in reasons)
    ((aggregator, problems),) = q(path, "SELECT aggregator_region, problems FROM explorer_setup")
    assert aggregator is None and problems, "a probe that found nothing says why"
    with simulated(monkeypatch) as sim:
        _, path = sync(tmp_path, "s.duckdb", "--source", "services")
    assert {r for (_, _), r in sources(path).items()} == {"forced by --source services"}
    assert q(path, "SELECT count(*) FROM explorer_setup") == [(0,)]  # forced services asks Resource Explorer nothing
