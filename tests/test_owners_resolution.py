"""Owner resolution over hand-made catalogs: resources committed through the real writer, the
directory from an IdP file. The Identity Store path has its own end-to-end tests (test_idp_*)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pytest

from catalog.records import RunRecord
from catalog.staging import STAGED_SCHEMA
from catalog.writer import commit_run
from sync.config import (
    AccountIntegration,
    Integration,
    IntegrationOwner,
    OrganizationIntegration,
    ResourceOwner,
)
from sync.owners import (
    AmbiguousResource,
    Approver,
    OwnerProblem,
    OwnerResolution,
    ResourceNotFound,
    access_details,
    resolve_many,
    resolve_owners,
    unresolved,
)
from sync.owners.idp_file import parse_directory
from sync.owners.idp_sync import commit_directory

ACCOUNT = "111111111111"
PORTAL = "https://acme.awsapps.com/start"

DIRECTORY: dict[str, Any] = {
    "users": [
        {"id": "u-alice", "name": "alice", "display_name": "Alice", "emails": ["alice@acme.com"],
         "groups": ["platform-admins", "payments-team"]},
        {"id": "u-bob", "name": "bob", "emails": ["bob@acme.com", "robert@acme.com"], "groups": ["payments-team"]},
        {"id": "u-carol", "name": "carol", "emails": ["carol@acme.com"]},
    ],
    "groups": [{"id": "g-empty", "name": "empty-team"}],
}


def organization(name: str, *, attribute: str = "user", owner: tuple[str, ...] | None = ("platform-admins",),
                 owner_attribute: str = "group", tag_key: str | None = "owner") -> OrganizationIntegration:
    return OrganizationIntegration(
        name=name, kind="aws-organization", region="us-east-1", regions=None, resource_types=("ec2:instance",),
        sso_region="us-east-1", sso_portal=PORTAL, custom_access_details="Use the VPN first.",
        integration_owner=IntegrationOwner(attribute=owner_attribute, values=owner) if owner else None,  # type: ignore[arg-type]
        resource_owner=ResourceOwner(tag_key=tag_key, attribute=attribute) if tag_key else None,  # type: ignore[arg-type]
    )


def arn(n: int, account: str = ACCOUNT) -> str:
    return f"arn:aws:ec2:us-east-1:{account}:instance/i-{n:04d}"


def commit_resources(catalog: Path, integration: Integration, tags_by_arn: dict[str, dict[str, str]]) -> None:
    """Commit one run of ec2 instances with these tags through the real catalog writer."""
    key = integration.resource_owner.tag_key if integration.resource_owner else None
    arns = list(tags_by_arn)
    n = len(arns)
    rows = pa.table({
        "arn": arns, "account_id": [a.split(":")[4] for a in arns], "region": ["us-east-1"] * n,
        "scope_region": ["us-east-1"] * n, "service": ["ec2"] * n, "resource_type": ["ec2:instance"] * n,
        "resource_id": [a.rsplit("/", 1)[1] for a in arns], "name": [None] * n,
        "tags": [orjson.dumps(t, option=orjson.OPT_SORT_KEYS).decode() for t in tags_by_arn.values()],
        "owner_tag_value": [t.get(key) if key else None for t in tags_by_arn.values()],
        "source": ["services"] * n, "properties": ["{}"] * n,
        "last_reported_at": pa.nulls(n, pa.timestamp("us", tz="UTC")),
    }, schema=STAGED_SCHEMA)
    now = datetime.now(timezone.utc)
    commit_run(str(catalog), RunRecord(
        integration=integration.name, kind=integration.kind, settings=dataclasses.asdict(integration), mode="full",
        started_at=now, finished_at=now, error=None, accounts=[], scopes=[], rows=rows.to_batches()))


def load_directory(catalog: Path, integration: str, data: dict[str, Any]) -> None:
    directory = parse_directory(orjson.dumps(data).decode(), fmt="json", source_ref="idp.json")
    commit_directory(str(catalog), integration, directory)


def names(resolution: OwnerResolution) -> list[str]:
    return [a.user_name or a.user_id for a in resolution.approvers]


def codes(resolution: OwnerResolution) -> list[str]:
    return [str(p) for p in resolution.problems]


TAGS = {
    arn(1): {"owner": "alice"},
    arn(2): {"owner": "BOB@acme.com , carol,,"},  # email match, case-insensitive, trimmed, blanks dropped
    arn(3): {"owner": "alice, dave"},  # one known, one unknown owner
    arn(4): {"owner": "dave"},  # unknown only: falls back
    arn(5): {"team": "x"},  # no owner tag: falls back
    arn(6): {"owner": "robert@acme.com"},  # a secondary email
}


@pytest.fixture
def user_catalog(tmp_path: Path) -> Path:
    catalog = tmp_path / "c.duckdb"
    commit_resources(catalog, organization("acme"), TAGS)
    load_directory(catalog, "acme", DIRECTORY)
    return catalog


def test_tag_names_a_user_by_name_or_email(user_catalog: Path) -> None:
    one = resolve_owners(arn(1), catalog=user_catalog)
    assert (one.source, one.attribute, one.tag_key, one.tag_value) == ("resource-owner-tag", "user", "owner", "alice")
    assert names(one) == ["alice"] and one.problems == ()
    [alice] = one.approvers
    assert (alice.user_id, alice.email, alice.direct, alice.via_groups) == ("u-alice", "alice@acme.com", True, ())
    assert names(resolve_owners(arn(6), catalog=user_catalog)) == ["bob"]


def test_several_owners_in_one_tag(user_catalog: Path) -> None:
    two = resolve_owners(arn(2), catalog=user_catalog)
    assert two.source == "resource-owner-tag" and names(two) == ["bob", "carol"] and two.problems == ()
    assert {a.user_name: a.matched_values for a in two.approvers} == {"bob": ("BOB@acme.com",), "carol": ("carol",)}


def test_unknown_owner_is_reported_not_dropped(user_catalog: Path) -> None:
    partly = resolve_owners(arn(3), catalog=user_catalog)
    assert partly.source == "resource-owner-tag" and names(partly) == ["alice"]
    assert codes(partly) == ["owner-not-in-idp: dave"]
    unknown = resolve_owners(arn(4), catalog=user_catalog)
    assert unknown.source == "integration-owner-fallback" and unknown.attribute == "group"
    assert names(unknown) == ["alice"] and unknown.approvers[0].via_groups == ("platform-admins",)
    assert codes(unknown) == ["owner-not-in-idp: dave"]
    assert "dave" in unknown.explain() and "Falls back to the integration owner" in unknown.explain()


def test_missing_tag_falls_back_to_integration_owner(user_catalog: Path) -> None:
    untagged = resolve_owners(arn(5), catalog=user_catalog)
    assert untagged.source == "integration-owner-fallback" and untagged.tag_value is None
    assert names(untagged) == ["alice"] and codes(untagged) == ["owner-tag-missing: owner"]


def test_tag_names_a_group_and_its_members_approve(tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    commit_resources(catalog, organization("acme", attribute="group"), {
        arn(1): {"owner": "Payments-Team"}, arn(2): {"owner": "empty-team"}, arn(3): {"owner": "payments-team,alice"},
    })
    load_directory(catalog, "acme", DIRECTORY)
    by_group = resolve_owners(arn(1), catalog=catalog)
    assert by_group.source == "resource-owner-tag" and names(by_group) == ["alice", "bob"]
    assert all(a.via_groups == ("payments-team",) and not a.direct for a in by_group.approvers)
    empty = resolve_owners(arn(2), catalog=catalog)
    assert empty.source == "integration-owner-fallback" and codes(empty) == ["owner-group-empty: empty-team"]
    # With attribute "group", a user name is not a group: reported, the group's members approve.
    mixed = resolve_owners(arn(3), catalog=catalog)
    assert names(mixed) == ["alice", "bob"] and codes(mixed) == ["owner-not-in-idp: alice"]


def test_group_membership_change_is_followed_after_the_next_idp_sync(tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    commit_resources(catalog, organization("acme", attribute="group"), {arn(1): {"owner": "payments-team"}})
    load_directory(catalog, "acme", DIRECTORY)
    assert names(resolve_owners(arn(1), catalog=catalog)) == ["alice", "bob"]
    changed = dict(DIRECTORY, users=[dict(u, groups=[]) if u["name"] == "bob" else u for u in DIRECTORY["users"]]
                   + [{"name": "erin", "groups": ["payments-team"]}])
    load_directory(catalog, "acme", changed)
    assert names(resolve_owners(arn(1), catalog=catalog)) == ["alice", "erin"]
    with duckdb.connect(str(catalog), read_only=True) as con:
        view = con.execute("SELECT user_name FROM resource_owners ORDER BY 1").fetchall()
    assert view == [("alice",), ("erin",)]


def test_no_integration_owner_resolves_to_none_with_a_problem(tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    commit_resources(catalog, organization("bare", owner=None, tag_key=None), {arn(1): {"owner": "alice"}})
    commit_resources(catalog, organization("tagonly", owner=None), {arn(2, "222222222222"): {"owner": "dave"}})
    load_directory(catalog, "tagonly", DIRECTORY)
    bare = resolve_owners(arn(1), catalog=catalog)
    assert (bare.source, bare.approvers, codes(bare)) == ("none", (), ["no-integration-owner"])
    assert bare.tag_key is None and bare.tag_value is None and not bare.resolved
    tag_only = resolve_owners(arn(2, "222222222222"), catalog=catalog)
    assert tag_only.source == "none" and codes(tag_only) == ["owner-not-in-idp: dave", "no-integration-owner"]
    assert "Nobody can approve" in tag_only.explain()


def test_unknown_integration_owner_and_unsynced_directory(tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    commit_resources(catalog, organization("acme", owner=("nobody@acme.com",), owner_attribute="user"),
                     {arn(1): {"team": "x"}})
    before = resolve_owners(arn(1), catalog=catalog)
    assert before.source == "none" and codes(before) == ["idp-not-synced: acme", "owner-tag-missing: owner"]
    load_directory(catalog, "acme", DIRECTORY)
    after = resolve_owners(arn(1), catalog=catalog)
    assert after.source == "none"
    assert codes(after) == ["owner-tag-missing: owner", "integration-owner-not-in-idp: nobody@acme.com"]


def test_resolve_many_agrees_with_resolve_owners_and_the_views(user_catalog: Path) -> None:
    many = resolve_many([*TAGS, arn(1), "arn:aws:ec2:us-east-1:1:instance/i-gone"], catalog=user_catalog)
    assert set(many) == set(TAGS)  # unknown ARNs are absent, duplicates collapse
    assert many == {a: resolve_owners(a, catalog=user_catalog) for a in TAGS}
    with duckdb.connect(str(user_catalog), read_only=True) as con:
        summary = {r[0]: r[1:] for r in con.execute(
            "SELECT arn, owner_source, approvers, problem FROM resource_owner_summary").fetchall()}
        pairs = set(con.execute("SELECT arn, user_id FROM resource_owners").fetchall())
    for a, resolution in many.items():
        first = str(resolution.problems[0]) if resolution.problems else None
        assert summary[a] == (resolution.source, len(resolution.approvers), first)
    assert pairs == {(a, ap.user_id) for a, r in many.items() for ap in r.approvers}


def test_resolve_many_with_a_connection_and_thousands_of_arns(tmp_path: Path) -> None:
    catalog = tmp_path / "big.duckdb"
    tags = {arn(n): {"owner": ("alice", "bob,carol", "dave", "")[n % 4]} for n in range(5000)}
    commit_resources(catalog, organization("acme"), tags)
    load_directory(catalog, "acme", DIRECTORY)
    with duckdb.connect(str(catalog), read_only=True) as con:
        many = resolve_many(list(tags), catalog=con)
    assert len(many) == 5000
    assert [names(many[arn(n)]) for n in range(4)] == [["alice"], ["bob", "carol"], ["alice"], ["alice"]]
    assert {r.source for r in many.values()} == {"resource-owner-tag", "integration-owner-fallback"}


def test_lookup_errors_and_ambiguous_arns(tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    commit_resources(catalog, organization("one"), {arn(1): {"owner": "alice"}})
    commit_resources(catalog, organization("two"), {arn(1): {"owner": "alice"}})
    with pytest.raises(ResourceNotFound):
        resolve_owners(arn(9), catalog=catalog)
    with pytest.raises(AmbiguousResource, match="one, two"):
        resolve_owners(arn(1), catalog=catalog)
    assert resolve_owners(arn(1), catalog=catalog, integration="two").integration == "two"
    assert resolve_many([], catalog=catalog) == {}


def test_access_details_and_portal_link(tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    commit_resources(catalog, organization("acme"), {arn(1): {}})
    account = AccountIntegration(name="dev", kind="aws-account", region="us-east-1", regions=None,
                                 resource_types=("ec2:instance",))
    commit_resources(catalog, account, {arn(2, "333333333333"): {}})
    details = access_details(arn(1), catalog=catalog)
    assert details.custom_access_details == "Use the VPN first." and details.sso_portal == PORTAL
    assert details.sign_in_url == f"{PORTAL}/#/console?account_id={ACCOUNT}"
    with_role = access_details(arn(1), catalog=catalog, role_name="ReadOnly Access")
    assert with_role.sign_in_url == f"{PORTAL}/#/console?account_id={ACCOUNT}&role_name=ReadOnly%20Access"
    plain = access_details(arn(2, "333333333333"), catalog=catalog)
    assert (plain.kind, plain.custom_access_details, plain.sign_in_url) == ("aws-account", None, None)


def test_unresolved_groups_by_account_and_type(user_catalog: Path) -> None:
    groups = unresolved(catalog=user_catalog)
    summary = {(g.account_id, g.resource_type, g.owner_source, g.problem): g for g in groups}
    assert set(summary) == {
        (ACCOUNT, "ec2:instance", "integration-owner-fallback", "owner-not-in-idp"),
        (ACCOUNT, "ec2:instance", "integration-owner-fallback", "owner-tag-missing"),
    }
    unknown = summary[(ACCOUNT, "ec2:instance", "integration-owner-fallback", "owner-not-in-idp")]
    assert unknown.resources == 1 and unknown.problem_values == ("dave",) and unknown.example_arns == (arn(4),)
    assert unresolved(catalog=user_catalog, integration="other") == []


# Every shape of owner tag at once, over two integrations that resolve differently.
MIXED_DIRECTORY: dict[str, Any] = {
    "users": [
        {"id": "u-alice", "name": "alice", "display_name": "Alice", "emails": ["alice@acme.com"],
         "groups": ["g-pay", "g-admins"]},
        {"id": "u-bob", "name": "Bob", "emails": ["bob@acme.com", "robert@acme.com"], "groups": ["g-pay", "g-ops"]},
        {"id": "u-carol", "name": "carol", "emails": ["carol@acme.com"], "groups": ["g-ops2"]},
        {"id": "u-dan", "name": "bob@acme.com", "emails": ["dan@acme.com"]},  # a user name that is bob's email
        {"id": "u-erin", "name": "érin", "emails": []},
    ],
    "groups": [
        {"id": "g-pay", "name": "payments"}, {"id": "g-admins", "name": "platform-admins"},
        {"id": "g-ops", "name": "ops"}, {"id": "g-ops2", "name": "OPS"},  # two groups named alike
        {"id": "g-empty", "name": "empty-team"},
    ],
}

GROUP_TAGS = {
    arn(1): {"owner": "payments"}, arn(2): {"owner": "ops"}, arn(3): {"owner": "empty-team"},
    arn(4): {"owner": "Payments, nobody ,, ops"}, arn(5): {"owner": " , "}, arn(6): {"team": "x"},
    arn(7): {"owner": "payments"}, arn(8): {"owner": "ghost"}, arn(9): {"owner": "PAYMENTS"},
}
USER_TAGS = {
    arn(11, "222222222222"): {"owner": "bob@acme.com"}, arn(12, "222222222222"): {"owner": "ROBERT@acme.com, érin"},
    arn(13, "222222222222"): {"owner": "zed"}, arn(14, "222222222222"): {},
    arn(1): {"owner": "alice"},  # the same ARN in a second integration
}
BARE_TAGS = {arn(21, "333333333333"): {"owner": "alice"}}


def _from_views(con: duckdb.DuckDBPyConnection, integration: str, resource: str) -> OwnerResolution:
    """The resolution rebuilt from the catalog views: per resource, by another path than the API's."""
    [row] = con.execute("SELECT integration, arn, account_id, region, resource_type, owner_source, attribute, tag_key, "
                        "tag_value, problems FROM resource_owner_summary WHERE integration = ? AND arn = ?",
                        [integration, resource]).fetchall()
    approvers = con.execute("SELECT user_id, user_name, display_name, email, direct, via_groups, matched_values "
                            "FROM resource_owners WHERE integration = ? AND arn = ?", [integration, resource]).fetchall()
    built = [Approver(user_id=a[0], user_name=a[1], display_name=a[2], email=a[3], direct=a[4],
                      via_groups=tuple(a[5]), matched_values=tuple(a[6])) for a in approvers]
    return OwnerResolution(
        integration=row[0], arn=row[1], account_id=row[2], region=row[3], resource_type=row[4], source=row[5],
        attribute=row[6], tag_key=row[7], tag_value=row[8],
        approvers=tuple(sorted(built, key=lambda a: ((a.user_name or a.user_id).lower(), a.user_id))),
        problems=tuple(OwnerProblem(code=p["code"], value=p["value"]) for p in row[9]))


def test_resolve_many_matches_resolve_owners_and_the_views_on_a_mixed_set(tmp_path: Path) -> None:
    catalog = tmp_path / "mixed.duckdb"
    commit_resources(catalog, organization("groups", attribute="group"), GROUP_TAGS)
    commit_resources(catalog, organization("users", owner=("ops", "nobody"), owner_attribute="group"), USER_TAGS)
    commit_resources(catalog, organization("bare", owner=("platform-admins",)), BARE_TAGS)  # never idp-synced
    load_directory(catalog, "groups", MIXED_DIRECTORY)
    load_directory(catalog, "users", MIXED_DIRECTORY)
    unknown = ["arn:aws:ec2:us-east-1:111111111111:instance/i-none", "not an arn", ""]
    for integration, tags in (("groups", GROUP_TAGS), ("users", USER_TAGS), (None, {**BARE_TAGS, **USER_TAGS})):
        asked = [*unknown, *reversed(tags), *tags]  # unknown and repeated ARNs, in no particular order
        if integration is None:
            asked.remove(arn(1))  # in two integrations: ambiguous without one named
            asked.remove(arn(1))
        many = resolve_many(asked, catalog=catalog, integration=integration)
        expected = [a for a in tags if a in asked]
        assert list(many) == sorted(expected)  # unknown ARNs absent, the rest once, sorted by ARN
        with duckdb.connect(str(catalog), read_only=True) as con:
            for a, resolution in many.items():
                assert resolution == resolve_owners(a, catalog=catalog, integration=integration)
                assert resolution == _from_views(con, resolution.integration, a)
    by_group = resolve_many(GROUP_TAGS, catalog=catalog, integration="groups")
    # The cases this set is meant to cover really occur.
    assert by_group[arn(2)].problems == (OwnerProblem("owner-ambiguous", "ops"),) and names(by_group[arn(2)]) == [
        "Bob", "carol"]
    assert codes(by_group[arn(4)]) == ["owner-not-in-idp: nobody", "owner-ambiguous: ops"]
    assert names(by_group[arn(4)]) == ["alice", "Bob", "carol"]
    assert by_group[arn(3)].source == "integration-owner-fallback" and by_group[arn(5)].tag_value == " , "
    assert by_group[arn(1)].approvers == by_group[arn(7)].approvers  # one approver set, shared
    assert [a.matched_values for a in by_group[arn(9)].approvers] == [("PAYMENTS",), ("PAYMENTS",)]
    by_user = resolve_many(USER_TAGS, catalog=catalog, integration="users")
    assert names(by_user[arn(11, "222222222222")]) == ["Bob", "bob@acme.com"]
    assert codes(by_user[arn(11, "222222222222")]) == ["owner-ambiguous: bob@acme.com"]
    assert names(by_user[arn(12, "222222222222")]) == ["Bob", "érin"]
    assert codes(by_user[arn(13, "222222222222")]) == [
        "owner-not-in-idp: zed", "integration-owner-not-in-idp: nobody", "integration-owner-ambiguous: ops"]
    bare = resolve_owners(arn(21, "333333333333"), catalog=catalog)
    assert bare.source == "none" and codes(bare) == ["idp-not-synced: bare"]
    with pytest.raises(AmbiguousResource, match="groups, users"):
        resolve_many([arn(1), arn(2)], catalog=catalog)
