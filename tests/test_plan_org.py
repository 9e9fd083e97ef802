"""The organization walk and account decisions, and the Arrow batch builder."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pytest

import sync.batches
from catalog.staging import STAGED_SCHEMA
from sync.batches import BatchBuilder
from sync.org import OrgAccount, OrgTree, account_state, decide_accounts, unknown_exclusions, walk_organization
from sync.sources.model import Resource

# --- decide_accounts ------------------------------------------------------------------------------


def account(account_id: str, state: str = "ACTIVE", path: str = "Root") -> OrgAccount:
    return OrgAccount(account_id, f"acct-{account_id}", f"{account_id}@example.com", state, "r-root", path)


def test_decide_accounts() -> None:
    accounts = [account("444", "SUSPENDED"), account("111"), account("222"), account("333"),
                account("555", "PENDING_CLOSURE")]
    decisions = decide_accounts(accounts, exclude_account_ids=["222"])
    assert [(d.account.account_id, d.status) for d in decisions] == [
        ("111", "selected"), ("222", "excluded"), ("333", "selected"), ("444", "inactive"), ("555", "inactive"),
    ]
    by_id = {d.account.account_id: d for d in decisions}
    assert by_id["111"].reason is None
    assert "SUSPENDED" in (by_id["444"].reason or "")
    assert "exclude_account_ids" in (by_id["222"].reason or "")


def test_decide_accounts_with_an_accounts_filter() -> None:
    accounts = [account("111"), account("222"), account("333", "SUSPENDED"), account("444")]
    decisions = decide_accounts(accounts, exclude_account_ids=["444"], only_account_ids={"111", "333", "444"})
    assert {d.account.account_id: d.status for d in decisions} == {
        "111": "selected", "222": "excluded", "333": "inactive", "444": "excluded",
    }
    assert "--accounts" in (decisions[1].reason or "")
    assert "exclude_account_ids" in (decisions[3].reason or "")  # the config exclusion wins


def test_decide_accounts_empty_filter_selects_nothing() -> None:
    decisions = decide_accounts([account("111")], exclude_account_ids=[], only_account_ids=set())
    assert [d.status for d in decisions] == ["excluded"]


def test_account_state_prefers_state_over_retired_status() -> None:
    assert account_state({"State": "ACTIVE", "Status": "SUSPENDED"}) == "ACTIVE"
    assert account_state({"Status": "SUSPENDED"}) == "SUSPENDED"
    assert account_state({}) == "UNKNOWN"


# --- walk_organization ----------------------------------------------------------------------------


def acct(account_id: str, name: str, state: str = "ACTIVE") -> dict[str, Any]:
    return {"Id": account_id, "Arn": f"arn:aws:organizations::100000000000:account/o-abc123/{account_id}",
            "Email": f"{name}@example.com", "Name": name, "State": state,
            "JoinedMethod": "CREATED", "JoinedTimestamp": datetime(2023, 1, 1, tzinfo=UTC)}


def ou(ou_id: str, name: str) -> dict[str, Any]:
    return {"Id": ou_id, "Arn": f"arn:aws:organizations::100000000000:ou/o-abc123/{ou_id}", "Name": name}


# (operation, parent) -> pages keyed by the NextToken of the request
ORG_PAGES: dict[tuple[str, str], dict[str | None, dict[str, Any]]] = {
    ("ListRoots", ""): {None: {"Roots": [{"Id": "r-ab12", "Name": "Root", "Arn": "arn:...:root/o-abc123/r-ab12",
                                         "PolicyTypes": []}]}},
    # an empty first page that still has a NextToken: the walk must keep paging
    ("ListAccountsForParent", "r-ab12"): {
        None: {"Accounts": [], "NextToken": "acc-1"},
        "acc-1": {"Accounts": [acct("100000000000", "management")], "NextToken": "acc-2"},
        "acc-2": {"Accounts": [acct("100000000001", "audit")]},
    },
    ("ListOrganizationalUnitsForParent", "r-ab12"): {
        None: {"OrganizationalUnits": [ou("ou-ab12-prod", "Prod"), ou("ou-ab12-sandbox", "Sandbox")],
               "NextToken": "ou-1"},
        "ou-1": {"OrganizationalUnits": [], "NextToken": "ou-2"},
        "ou-2": {"OrganizationalUnits": [ou("ou-ab12-empty", "Empty")]},
    },
    ("ListAccountsForParent", "ou-ab12-prod"): {None: {"Accounts": [acct("200000000000", "prod-core")]}},
    ("ListOrganizationalUnitsForParent", "ou-ab12-prod"): {
        None: {"OrganizationalUnits": [], "NextToken": "p-1"},
        "p-1": {"OrganizationalUnits": [ou("ou-ab12-pay", "Payments")]},
    },
    ("ListAccountsForParent", "ou-ab12-pay"): {None: {"Accounts": [
        acct("300000000000", "payments-prod"), acct("300000000001", "payments-old", "SUSPENDED"),
    ]}},
    ("ListOrganizationalUnitsForParent", "ou-ab12-pay"): {None: {"OrganizationalUnits": []}},
    ("ListAccountsForParent", "ou-ab12-empty"): {None: {"Accounts": []}},
    ("ListOrganizationalUnitsForParent", "ou-ab12-empty"): {None: {"OrganizationalUnits": []}},
    # the excluded subtree: served, but must never be asked for
    ("ListAccountsForParent", "ou-ab12-sandbox"): {None: {"Accounts": [acct("500000000000", "sandbox-1")]}},
    ("ListOrganizationalUnitsForParent", "ou-ab12-sandbox"): {None: {"OrganizationalUnits": [
        ou("ou-ab12-deep", "Deep")]}},
    ("ListAccountsForParent", "ou-ab12-deep"): {None: {"Accounts": [acct("600000000000", "sandbox-deep")]}},
    ("ListOrganizationalUnitsForParent", "ou-ab12-deep"): {None: {"OrganizationalUnits": []}},
    # every account, flat, with an empty page in the middle
    ("ListAccounts", ""): {
        None: {"Accounts": [acct("100000000000", "management"), acct("100000000001", "audit"),
                            acct("200000000000", "prod-core")], "NextToken": "all-1"},
        "all-1": {"Accounts": [], "NextToken": "all-2"},
        "all-2": {"Accounts": [acct("300000000000", "payments-prod"),
                               acct("300000000001", "payments-old", "SUSPENDED"),
                               acct("500000000000", "sandbox-1"), acct("600000000000", "sandbox-deep")]},
    },
}
ALL_ACCOUNTS = {"100000000000", "100000000001", "200000000000", "300000000000", "300000000001",
                "500000000000", "600000000000"}


class FakeOrganizations:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.in_flight = 0
        self.peak = 0

    async def call(self, operation: str, params: dict[str, Any]) -> Mapping[str, Any]:
        self.calls.append((operation, copy.deepcopy(params)))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0.001)  # a round trip, during which other calls may go out
            if operation == "DescribeOrganization":
                return {"Organization": {"Id": "o-abc123", "MasterAccountId": "100000000000",
                                         "Arn": "arn:aws:organizations::100000000000:organization/o-abc123",
                                         "FeatureSet": "ALL"}}
            pages = ORG_PAGES[(operation, params.get("ParentId", ""))]
            return copy.deepcopy(pages[params.get("NextToken")])
        finally:
            self.in_flight -= 1

    def parents_listed(self) -> set[str]:
        return {p["ParentId"] for _, p in self.calls if "ParentId" in p}


async def test_walk_organization_tree_paths_and_excluded_subtree() -> None:
    fake = FakeOrganizations()
    orgs: list[tuple[str, str]] = []
    batches: list[list[str]] = []
    tree = await walk_organization(
        fake.call, ["ou-ab12-sandbox"],
        on_organization=lambda org_id, mgmt: orgs.append((org_id, mgmt)),
        on_accounts=lambda found: batches.append([a.account_id for a in found]),
    )
    assert (tree.organization_id, tree.management_account_id) == ("o-abc123", "100000000000")
    assert orgs == [("o-abc123", "100000000000")]
    paths = {a.account_id: a.ou_path for a in tree.accounts}
    assert paths == {
        "100000000000": "Root", "100000000001": "Root",
        "200000000000": "Root/Prod",
        "300000000000": "Root/Prod/Payments", "300000000001": "Root/Prod/Payments",
    }
    by_id = {a.account_id: a for a in tree.accounts}
    assert by_id["300000000000"].parent_id == "ou-ab12-pay"
    assert by_id["300000000001"].state == "SUSPENDED"
    assert by_id["100000000000"].name == "management" and by_id["100000000000"].email == "management@example.com"
    # the excluded OU's whole subtree is skipped: never listed, its nested accounts never appear
    assert "ou-ab12-sandbox" not in fake.parents_listed() and "ou-ab12-deep" not in fake.parents_listed()
    assert not {"500000000000", "600000000000"} & set(paths)
    assert tree.excluded_ous == (("ou-ab12-sandbox", "Root/Sandbox"),)
    assert tree.seen_ou_ids == {"ou-ab12-prod", "ou-ab12-sandbox", "ou-ab12-empty", "ou-ab12-pay"}
    # accounts are reported parent by parent as they are found (empty parents report nothing);
    # with an OU excluded there is no flat listing, which would name the excluded OU's accounts
    assert batches == [["100000000000", "100000000001"], ["200000000000"], ["300000000000", "300000000001"]]
    assert "ListAccounts" not in {op for op, _ in fake.calls}
    # One call at a time: the Organizations quota's burst of 2 absorbs no bunching (tried 3 in
    # flight: org-500's critical account then started at 52 s instead of 10 s).
    assert fake.peak == 1


async def test_each_parent_s_accounts_are_asked_before_its_ous() -> None:
    fake = FakeOrganizations()
    await walk_organization(fake.call, [])
    first: dict[tuple[str, str], int] = {}
    for n, (op, params) in enumerate(fake.calls):
        first.setdefault((op, params.get("ParentId", "")), n)
    parents = {parent for _, parent in first if parent.startswith(("r-", "ou-"))}
    assert len(parents) == 6
    for parent in parents:  # the accounts are what the sync waits for
        assert first[("ListAccountsForParent", parent)] < first[("ListOrganizationalUnitsForParent", parent)]
    # breadth first: the root's children are asked before its grandchildren
    assert first[("ListAccountsForParent", "ou-ab12-sandbox")] < first[("ListAccountsForParent", "ou-ab12-pay")]
    # level by level: every account of a level before any OU listing of that level, so the leaf
    # OUs' empty listings come after the accounts they would otherwise hold up
    level_one = ("ou-ab12-prod", "ou-ab12-sandbox", "ou-ab12-empty")
    assert max(first[("ListAccountsForParent", p)] for p in level_one) < min(
        first[("ListOrganizationalUnitsForParent", p)] for p in level_one)
    last_accounts = max(n for n, (op, _) in enumerate(fake.calls) if op == "ListAccountsForParent")
    assert [op for op, _ in fake.calls[last_accounts + 1:]] == ["ListOrganizationalUnitsForParent"] * 2


async def test_a_failed_listing_fails_the_walk_with_that_call_s_error() -> None:
    class Denied(Exception):
        pass

    fake = FakeOrganizations()
    found: list[str] = []

    async def call(operation: str, params: dict[str, Any]) -> Mapping[str, Any]:
        if params.get("ParentId") == "ou-ab12-pay" and operation == "ListOrganizationalUnitsForParent":
            raise Denied("AccessDenied")
        return await fake.call(operation, params)

    with pytest.raises(Denied, match="AccessDenied"):
        await walk_organization(call, [], on_accounts=lambda accounts: found.extend(a.account_id for a in accounts))
    assert "100000000000" in found  # what was found before the failure was handed over


async def test_walk_organization_pages_until_next_token_is_null() -> None:
    fake = FakeOrganizations()
    await walk_organization(fake.call, [])
    root_accounts = [p for op, p in fake.calls if op == "ListAccountsForParent" and p["ParentId"] == "r-ab12"]
    assert root_accounts == [
        {"ParentId": "r-ab12", "MaxResults": 20},
        {"ParentId": "r-ab12", "MaxResults": 20, "NextToken": "acc-1"},
        {"ParentId": "r-ab12", "MaxResults": 20, "NextToken": "acc-2"},
    ]
    root_ous = [p.get("NextToken") for op, p in fake.calls
                if op == "ListOrganizationalUnitsForParent" and p["ParentId"] == "r-ab12"]
    assert root_ous == [None, "ou-1", "ou-2"]
    assert all(p.get("MaxResults") == 20 for op, p in fake.calls if op.startswith("List"))


async def test_listed_flat_first_every_account_is_handed_over_before_the_walk() -> None:
    fake = FakeOrganizations()
    batches: list[tuple[int, dict[str, str]]] = []
    tree = await walk_organization(fake.call, [], on_accounts=lambda found: batches.append(
        (len(fake.calls), {a.account_id: a.ou_path for a in found})), list_flat_first=True)
    ops = [op for op, _ in fake.calls]
    assert ops[:5] == ["DescribeOrganization", "ListAccounts", "ListAccounts", "ListAccounts", "ListRoots"]
    assert [p.get("NextToken") for op, p in fake.calls if op == "ListAccounts"] == [None, "all-1", "all-2"]
    # Page by page (the empty page hands over nothing), before the walk's first call.
    assert [(n, sorted(batch)) for n, batch in batches[:2]] == [
        (2, ["100000000000", "100000000001", "200000000000"]),
        (4, ["300000000000", "300000000001", "500000000000", "600000000000"]),
    ]
    assert {path for _, batch in batches[:2] for path in batch.values()} == {""}  # no OU known yet
    # The walk then hands each account over again, with its path.
    walked = {a: path for _, batch in batches[2:] for a, path in batch.items()}
    assert walked == {a.account_id: a.ou_path for a in tree.accounts}
    assert set(walked) == ALL_ACCOUNTS and walked["600000000000"] == "Root/Sandbox/Deep"
    assert fake.peak == 1


async def test_the_flat_listing_is_asked_for_and_only_without_an_excluded_ou() -> None:
    plain, excluding = FakeOrganizations(), FakeOrganizations()
    await walk_organization(plain.call, [])
    await walk_organization(excluding.call, ["ou-ab12-pay"], list_flat_first=True)
    assert not [op for op, _ in plain.calls + excluding.calls if op == "ListAccounts"]


async def test_walk_without_exclusions_finds_the_nested_sandbox_accounts() -> None:
    tree = await walk_organization(FakeOrganizations().call, [])
    paths = {a.account_id: a.ou_path for a in tree.accounts}
    assert paths["600000000000"] == "Root/Sandbox/Deep"
    assert len(paths) == 7 and tree.excluded_ous == ()
    assert "ou-ab12-deep" in tree.seen_ou_ids


async def test_excluding_a_nested_ou_keeps_its_parent() -> None:
    tree = await walk_organization(FakeOrganizations().call, ["ou-ab12-pay"])
    paths = {a.account_id: a.ou_path for a in tree.accounts}
    assert set(paths) == {"100000000000", "100000000001", "200000000000", "500000000000", "600000000000"}
    assert tree.excluded_ous == (("ou-ab12-pay", "Root/Prod/Payments"),)


async def test_unknown_exclusions() -> None:
    tree = await walk_organization(FakeOrganizations().call, ["ou-ab12-sandbox"])
    warnings = unknown_exclusions(
        tree,
        ["ou-ab12-sandbox", "ou-ab12-typo"],
        ["200000000000", "999999999999", "600000000000"],  # known / unknown / inside the excluded OU
    )
    assert len(warnings) == 3
    assert "ou-ab12-typo" in warnings[0]
    assert "999999999999" in warnings[1] and "600000000000" in warnings[2]
    assert not any("ou-ab12-sandbox" in w or "200000000000" in w for w in warnings)


def test_unknown_exclusions_of_an_empty_tree() -> None:
    tree = OrgTree("o-1", "1", (), (), frozenset())
    assert unknown_exclusions(tree, [], []) == []


# --- sync.batches.BatchBuilder --------------------------------------------------------------------


def resource(n: int, tags: dict[str, str] | None = None, **kw: Any) -> Resource:
    base: dict[str, Any] = {
        "arn": f"arn:aws:ec2:eu-west-1:111111111111:instance/i-{n:017d}", "account_id": "111111111111",
        "region": "eu-west-1", "resource_type": "ec2:instance", "resource_id": f"i-{n:017d}", "name": f"vm-{n}",
        "tags": tags if tags is not None else {}, "properties": {},
    }
    base.update(kw)
    return Resource(**base)


def rows_of(builder: BatchBuilder) -> list[dict[str, Any]]:
    return pa.Table.from_batches(builder.batches(), schema=STAGED_SCHEMA).to_pylist()


def test_batch_columns() -> None:
    reported = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    builder = BatchBuilder(source="services", scope_region="global", owner_tag_key="owner")
    builder.extend([
        resource(1, {"zeta": "z", "owner": "alice", "Alpha": "a"}, region="eu-west-1", resource_type="s3:bucket",
                 properties={"b": 2, "a": datetime(2024, 1, 1, tzinfo=UTC)}, last_reported_at=reported),
        resource(2, {"Owner": "not-the-key"}, name=None),
    ])
    assert builder.rows == 2
    [batch] = builder.batches()
    assert batch.schema == STAGED_SCHEMA
    first, second = rows_of(builder)
    assert first["owner_tag_value"] == "alice"
    assert second["owner_tag_value"] is None  # tag keys are case-sensitive
    assert first["tags"] == '{"Alpha":"a","owner":"alice","zeta":"z"}'  # sorted keys, compact
    assert orjson.loads(first["tags"]) == {"zeta": "z", "owner": "alice", "Alpha": "a"}
    assert first["properties"] == '{"a":"2024-01-01T00:00:00+00:00","b":2}'
    assert first["scope_region"] == "global" and first["region"] == "eu-west-1"
    assert first["service"] == "s3" and first["resource_type"] == "s3:bucket"
    assert first["source"] == "services"
    assert first["last_reported_at"] == reported and second["last_reported_at"] is None
    assert second["name"] is None and second["tags"] == '{"Owner":"not-the-key"}'


def test_equal_tags_give_equal_json_whatever_their_order() -> None:
    builder = BatchBuilder(source="services", scope_region="eu-west-1", owner_tag_key=None)
    builder.extend([resource(1, {"b": "2", "a": "1"}), resource(2, {"a": "1", "b": "2"})])
    first, second = rows_of(builder)
    assert first["tags"] == second["tags"] == '{"a":"1","b":"2"}'
    assert first["owner_tag_value"] is None  # no owner key configured


def test_an_empty_builder_gives_no_batches() -> None:
    builder = BatchBuilder(source="services", scope_region="eu-west-1", owner_tag_key="owner")
    builder.extend([])
    assert builder.batches() == [] and builder.rows == 0


def test_batches_cut_at_batch_rows_page_by_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync.batches, "BATCH_ROWS", 3)
    builder = BatchBuilder(source="services", scope_region="eu-west-1", owner_tag_key="owner")
    for n in range(7):
        builder.extend([resource(n)])
    batches = builder.batches()
    assert [b.num_rows for b in batches] == [3, 3, 1]
    assert builder.rows == 7
    ids = [r["resource_id"] for b in batches for r in b.to_pylist()]
    assert ids == [f"i-{n:017d}" for n in range(7)]  # order kept
    assert builder.batches() == batches  # asking again gives the same batches


def test_batches_hold_at_most_batch_rows_even_from_one_large_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync.batches, "BATCH_ROWS", 3)
    builder = BatchBuilder(source="services", scope_region="eu-west-1", owner_tag_key="owner")
    builder.extend([resource(n) for n in range(4)])
    builder.extend([resource(n) for n in range(4, 11)])
    batches = builder.batches()
    assert sum(b.num_rows for b in batches) == 11
    assert max(b.num_rows for b in batches) <= 3
