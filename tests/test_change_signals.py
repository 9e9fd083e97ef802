"""Change signals: an incremental sync skips Resource Explorer scopes whose Search count did not change.

Pure planning and judging first (no I/O), then the counting loop against a fake Search, then the
whole path against orgsim.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from botocore.exceptions import ClientError

from catalog.state import ScopeMemory
from sync.explorer.signals import (
    QUERY_MAX,
    Answer,
    CountUnit,
    ViewRef,
    count_units,
    judge,
    plan_units,
)
from sync.plan import ExplorerQuery, ScopeKey, WorkItem
from sync.refresh import (
    COUNT_CHANGED,
    COUNT_FAILED,
    COUNT_OVER_CAP,
    COUNT_UNCHANGED,
    OLDER_THAN_INTERVAL,
    RefreshDecision,
    narrow,
    select_due,
)
from tests.conftest import run_cli, write
from tests.test_explorer_sync import simulated

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
AGG = ViewRef("000000000000", "us-east-1", "arn:view/org", member=False)
MEMBER = ViewRef("111111111111", "eu-west-1", "arn:view/member", member=True)


def grid(view: ViewRef, accounts: list[str], regions: list[str], types: list[str], each: int
         ) -> dict[ScopeKey, tuple[ViewRef, int]]:
    return {ScopeKey(a, r, t): (view, each) for a in accounts for r in regions for t in types}


def test_units_pack_accounts_of_one_shape_under_the_count_cap() -> None:
    found = grid(AGG, ["111", "222", "333"], ["r1", "r2"], ["a", "b"], 100)  # 400 per account
    units, decided = plan_units(found)
    assert decided == {}
    assert [(u.accounts, u.expected) for u in units] == [(("111", "222"), 800), (("333",), 400)]
    assert units[0].query == "accountid:111 accountid:222 region:r1 region:r2 resourcetype:a resourcetype:b"
    assert sorted(k for u in units for k in u.keys) == sorted(found)  # each candidate counted exactly once


def test_units_are_exact_rectangles_and_never_count_an_uncounted_scope() -> None:
    # 444 has no candidate (r2, b): its rectangle would count that scope too, so it is asked per region.
    found = {ScopeKey("444", "r1", "a"): (AGG, 5), ScopeKey("444", "r1", "b"): (AGG, 6),
             ScopeKey("444", "r2", "a"): (AGG, 7)}
    units, _ = plan_units(found)
    assert sorted((u.regions, u.types, u.expected) for u in units) == [(("r1",), ("a", "b"), 11), (("r2",), ("a",), 7)]


def test_scopes_over_the_cap_are_never_counted_and_the_rest_is_split_until_countable() -> None:
    found = {ScopeKey("555", "r1", "a"): (AGG, 1500), ScopeKey("555", "r1", "b"): (AGG, 10),
             ScopeKey("555", "r2", "a"): (AGG, 600), ScopeKey("555", "r2", "b"): (AGG, 600)}
    units, decided = plan_units(found)
    assert set(decided) == {ScopeKey("555", "r1", "a")}
    assert decided[ScopeKey("555", "r1", "a")].label == COUNT_OVER_CAP and decided[ScopeKey("555", "r1", "a")].refresh
    assert all(u.expected <= 1000 for u in units)
    assert sorted(k for u in units for k in u.keys) == sorted(set(found) - set(decided))


def test_queries_stay_within_the_search_query_length() -> None:
    found = grid(AGG, [f"{n:012d}" for n in range(120)], ["us-east-1"], ["ec2:instance"], 1)
    units, _ = plan_units(found)
    assert len(units) > 1 and all(len(u.query) <= QUERY_MAX for u in units)
    assert sum(len(u.accounts) for u in units) == 120


def test_member_view_counts_without_an_account_filter() -> None:
    units, _ = plan_units(grid(MEMBER, ["111111111111"], ["eu-west-1"], ["rds:db", "ec2:instance"], 3))
    assert [u.query for u in units] == ["region:eu-west-1 resourcetype:ec2:instance resourcetype:rds:db"]


def unit(accounts: tuple[str, ...], regions: tuple[str, ...], types: tuple[str, ...], each: int) -> CountUnit:
    return CountUnit(AGG, accounts, regions, types, each * len(accounts) * len(regions) * len(types))


def test_judge_unchanged_changed_over_cap_and_failed() -> None:
    small = unit(("111",), ("r1",), ("a", "b"), 50)
    decided = judge(small, Answer(100, True))
    assert {d.label for d in decided.values()} == {COUNT_UNCHANGED}
    assert not any(d.refresh for d in decided.values())
    decided = judge(small, Answer(101, True))
    assert {d.label for d in decided.values()} == {COUNT_CHANGED}
    assert all(d.refresh and "count 101, the catalog holds 100" in d.reason for d in decided.values())

    # A changed unit is re-listed whole: at most 1,000 resources, one or two pages of 999.
    big = unit(("111", "222"), ("r1",), ("a",), 450)
    decided = judge(big, Answer(899, True))
    assert set(decided) == {ScopeKey("111", "r1", "a"), ScopeKey("222", "r1", "a")}
    assert {d.label for d in decided.values()} == {COUNT_CHANGED}

    one = unit(("111",), ("r1",), ("a",), 990)
    decided = judge(one, Answer(1000, False))  # grew past what Search counts
    assert decided[ScopeKey("111", "r1", "a")].label == COUNT_OVER_CAP

    decided = judge(small, Answer(None, False, "ThrottlingException"))
    assert {d.label for d in decided.values()} == {COUNT_FAILED} and all(d.refresh for d in decided.values())


class FakeSearch:
    """Search over a dict of scope -> resources, with AWS's 1,000 cap on the count."""

    def __init__(self, truth: Mapping[ScopeKey, int], failing: str | None = None) -> None:
        self.truth = truth
        self.failing = failing
        self.queries: list[str] = []

    async def __call__(self, account: str, region: str, op: str, params: dict[str, Any]) -> dict[str, Any]:
        assert op == "Search" and params["MaxResults"] == 1
        self.queries.append(params["QueryString"])
        terms: dict[str, set[str]] = {}
        for term in params["QueryString"].split():
            prefix, _, value = term.partition(":")
            terms.setdefault(prefix, set()).add(value)
        if self.failing in terms.get("accountid", ()):
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Search")
        total = sum(n for k, n in self.truth.items() if k.account_id in terms.get("accountid", {k.account_id})
                    and k.region in terms["region"] and k.resource_type in terms["resourcetype"])
        return {"Count": {"TotalResources": min(total, 1000), "Complete": total <= 1000}, "Resources": []}


def test_counting_refreshes_the_changed_unit_only() -> None:
    found = grid(AGG, ["111", "222", "333", "444"], ["r1", "r2"], ["a", "b", "c"], 100)  # 600 per account
    expected = {k: held for k, (_, held) in found.items()}
    truth = dict(expected)
    truth[ScopeKey("333", "r2", "b")] += 1
    search = FakeSearch(truth, failing="444")
    units, decided = plan_units(found)
    assert decided == {} and len(units) == 4  # 600 + 600 > 1,000: one unit per account
    decided, failures = asyncio.run(count_units(search, units))
    refreshed = {k for k, d in decided.items() if d.refresh and d.label == COUNT_CHANGED}
    # 333 changed: its 600 resources are one page of 999 to list again, no more than a half would be.
    assert refreshed == {k for k in found if k.account_id == "333"}
    assert {k for k, d in decided.items() if d.label == COUNT_FAILED} == {k for k in found if k.account_id == "444"}
    assert failures == {"ThrottlingException": 1}
    assert {k for k, d in decided.items() if not d.refresh} == {k for k in found if k.account_id in ("111", "222")}
    assert len(search.queries) == 4  # one count per unit, no second round


def test_select_due_keeps_only_what_the_signal_or_the_policy_refreshes() -> None:
    keys = [ScopeKey("111", "r1", "a"), ScopeKey("111", "r1", "b"), ScopeKey("111", "r2", "a"),
            ScopeKey("222", "r1", "a")]
    query = ExplorerQuery(tuple(keys), "explorer-aggregator", "000", "us-east-1", "v",
                          "accountid:111 accountid:222 resourcetype:a resourcetype:b", "aggregator view")
    previous = {(k.account_id, k.region, k.resource_type): ScopeMemory(5, NOW - timedelta(minutes=10)) for k in keys}
    previous[("222", "r1", "a")] = ScopeMemory(5, NOW - timedelta(minutes=90))  # past the default 60
    unchanged = RefreshDecision(False, COUNT_UNCHANGED, "unchanged (5)")
    signals = {keys[0]: unchanged, keys[1]: RefreshDecision(True, COUNT_CHANGED, "count 6, held 5"),
               keys[2]: RefreshDecision(True, COUNT_CHANGED, "count 4, held 5"), keys[3]: unchanged}
    service = WorkItem(ScopeKey("111", "global", "iam:role"), "services", "us-east-1", "IAM")
    keep, tally = select_due([query, service], previous=previous, intervals={}, now=NOW, signals=signals)
    assert tally == {COUNT_UNCHANGED: 1, COUNT_CHANGED: 2, OLDER_THAN_INTERVAL: 1, "refreshed: never completed": 1}
    queries = [i for i in keep if isinstance(i, ExplorerQuery)]
    # 111 and 222 keep scopes of different shapes: one query each, narrowed by region and type.
    assert [(q.keys, q.filter_string) for q in queries] == [
        ((keys[1], keys[2]), "accountid:111 region:r1 region:r2 resourcetype:a resourcetype:b"),
        ((keys[3],), "accountid:222 region:r1 resourcetype:a"),
    ]
    assert queries[0].reason_for(keys[1]) == "aggregator view; incremental: count 6, held 5"
    assert "completed 90 min ago" in queries[1].reason_for(keys[3])


def test_narrow_member_query_filters_types_only() -> None:
    keys = (ScopeKey("111", "eu-west-1", "ec2:instance"), ScopeKey("111", "eu-west-1", "rds:db"))
    query = ExplorerQuery(keys, "explorer-member", "111", "eu-west-1", "v", "region:eu-west-1 resourcetype:ec2:instance "
                          "resourcetype:rds:db", "member view")
    [narrowed] = narrow(query, [keys[1]], {keys[1]: "changed"})
    assert narrowed.filter_string == "region:eu-west-1 resourcetype:rds:db" and narrowed.keys == (keys[1],)
    [whole] = narrow(query, list(keys), {k: "changed" for k in keys})
    assert whole.filter_string == query.filter_string and whole.reason_for(keys[0]) == "member view; incremental: changed"


# ---- against orgsim ---------------------------------------------------------------------------

TYPES = ["ec2:instance", "lambda:function", "rds:db"]
CONFIG = f"""
[[integration]]
name = "sim"
type = "aws-organization"
region = "us-east-1"
sso_region = "us-east-1"
sso_portal = "https://sim.awsapps.com/start"
resource_types = {json.dumps(TYPES)}
integration_owner = {{ attribute = "group", values = ["platform-admins"] }}
resource_owner = {{ tag_key = "owner", attribute = "group" }}
"""
# Every account holds more than Search counts (no two accounts share a count, whatever batches
# discovery hands over), and the hot account has scopes over 1,000.
RESOURCES = {"total": 12000, "types": TYPES, "account_skew": 50, "hot_account": 1, "hot_account_share": 0.3}


def sync(tmp_path: Path, *args: str) -> dict[str, Any]:
    config = write(tmp_path / "orgsync.toml", CONFIG)
    result = run_cli("sync", config, "--catalog", str(tmp_path / "c.duckdb"), "--json", "--rate-scale", "20", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)[0]  # type: ignore[no-any-return]


def q(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def listed(tmp_path: Path, sync_id: int) -> set[tuple[str, str, str]]:
    return {(a, r, t) for a, r, t in q(tmp_path, f"""SELECT account_id, region, resource_type FROM sync_scopes
                                                   WHERE sync_id = {sync_id} AND status = 'complete'""")}


def over_cap(tmp_path: Path) -> set[tuple[str, str, str]]:
    return {(a, r, t) for a, r, t in q(tmp_path, "SELECT account_id, region, resource_type FROM scope_state "
                                                 "WHERE resources > 1000")}


def test_unchanged_org_lists_only_scopes_search_cannot_count(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with simulated(monkeypatch, resources=RESOURCES) as sim:
        first = sync(tmp_path)
        rows = q(tmp_path, "SELECT * FROM resource_rows ORDER BY arn")
        state = q(tmp_path, "SELECT * FROM scope_state ORDER BY ALL")
        sim.reset_stats()
        second = sync(tmp_path, "--incremental")
        stats = sim.stats()
    over = over_cap(tmp_path)
    scopes = first["scopes"]["complete"]
    assert over and scopes == len(state) > len(over)
    assert second["refresh"] == {COUNT_UNCHANGED: scopes - len(over), COUNT_OVER_CAP: len(over)}
    assert listed(tmp_path, 2) == over
    assert all("a Search count stops at 1,000" in reason
               for (reason,) in q(tmp_path, "SELECT reason FROM sync_scopes WHERE sync_id = 2"))
    resources = second["resources"]
    assert (resources["added"], resources["modified"], resources["deleted"], resources["restored"]) == (0, 0, 0, 0)
    assert q(tmp_path, "SELECT * FROM resource_rows ORDER BY arn") == rows  # nothing rewritten
    # Scopes not refreshed keep their last completion (so their last_seen); re-listed ones move on.
    after = {(a, r, t): sync_id for _, a, r, t, sync_id, *_ in q(tmp_path, "SELECT * FROM scope_state")}
    assert {k for k, s in after.items() if s == 2} == over and {s for k, s in after.items() if k not in over} == {1}
    held = sum(n for (n,) in q(tmp_path, "SELECT resources FROM scope_state WHERE resources > 1000"))
    assert stats["items"].get("resource-explorer-2:ListResources", 0) == held  # only the uncountable scopes
    assert stats["calls"]["resource-explorer-2:Search"] > 0


def test_a_new_resource_relists_only_its_account_and_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with simulated(monkeypatch, resources=RESOURCES) as sim:
        sync(tmp_path)
        over = over_cap(tmp_path)
        # An account x region with no uncountable scope.
        account, region = next((a, r) for a, r in q(tmp_path, """SELECT account_id, region FROM scope_state
                                                               GROUP BY ALL HAVING max(resources) <= 1000 ORDER BY ALL"""))
        before = {t["arn"] for t in sim.truth()}
        sim.add(account, region, "lambda:function")
        [new] = [t["arn"] for t in sim.truth() if t["arn"] not in before]
        summary = sync(tmp_path, "--incremental")
    relisted = listed(tmp_path, 2) - over
    assert (account, region, "lambda:function") in relisted
    assert {(a, r) for a, r, _ in relisted} == {(account, region)}
    assert summary["refresh"][COUNT_CHANGED] == len(relisted)
    assert summary["refresh"][COUNT_UNCHANGED] == len(q(tmp_path, "SELECT 1 FROM scope_state")) - len(relisted) - len(over)
    assert q(tmp_path, "SELECT arn, change FROM resource_changes WHERE sync_id = 2") == [(new, "added")]
    [(reason,)] = q(tmp_path, f"""SELECT reason FROM sync_scopes WHERE sync_id = 2 AND account_id = '{account}'
                                  AND region = '{region}' AND resource_type = 'lambda:function'""")
    assert "incremental: Resource Explorer count" in reason and "the catalog holds" in reason


def test_a_change_that_keeps_the_count_waits_for_the_interval(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    with simulated(monkeypatch, resources=RESOURCES) as sim:
        sync(tmp_path)
        sim.mutate(3 / 12000, seed=5)  # deletes, retags and adds 3 resources
        truth = {t["arn"]: t for t in sim.truth()}
        sync(tmp_path, "--incremental")
        relisted = listed(tmp_path, 2)
        held = {arn: (json.loads(tags), (a, r, t)) for arn, tags, a, r, t in q(tmp_path, """
            SELECT arn, tags, account_id, region, resource_type FROM current_resources""")}
        stale = {arn for arn in held.keys() | truth.keys()
                 if arn not in held or arn not in truth or held[arn][0] != truth[arn]["tags"]}
        scope_of = {arn: (t["account_id"], t["region"], t["resource_type"]) for arn, t in truth.items()}
        scope_of.update({arn: scope for arn, (_, scope) in held.items()})
        # Retags (and any add that a delete cancels) in scopes whose count held are missed...
        assert stale, "the mutation should leave a change the counts cannot see"
        assert {scope_of[arn] for arn in stale}.isdisjoint(relisted)
        # ...until the interval expires and the policy refreshes every scope.
        with duckdb.connect(str(tmp_path / "c.duckdb")) as con:
            con.execute("UPDATE scope_state SET last_complete_at = last_complete_at - INTERVAL 2 HOUR").fetchall()
        summary = sync(tmp_path, "--incremental")
    assert summary["refresh"] == {OLDER_THAN_INTERVAL: len(q(tmp_path, "SELECT 1 FROM scope_state"))}
    now = {arn: json.loads(tags) for arn, tags in q(tmp_path, "SELECT arn, tags FROM current_resources")}
    assert now == {arn: t["tags"] for arn, t in truth.items()}
