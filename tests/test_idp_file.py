"""The IdP file format (JSON and CSV) and `orgsync idp sync --file`."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from sync.owners.directory import DirectoryError, Membership
from sync.owners.idp_file import load_directory_file, parse_directory
from tests.conftest import run_cli, write

CSV = """type,id,name,display_name,emails,groups,description,members
user,u-1,alice,Alice Liddell,alice@acme.com;a.liddell@acme.com,platform-admins;Payments-Team,,
user,,bob,,bob@acme.com,payments-team,,
group,g-pay,payments-team,,,,Payments on-call,
group,,empty-team,,,,,
"""

JSON = {
    "users": [
        {"id": "u-1", "name": "alice", "display_name": "Alice Liddell",
         "emails": ["alice@acme.com", "a.liddell@acme.com"], "groups": ["platform-admins"]},
        {"name": "bob", "emails": ["bob@acme.com"]},
    ],
    "groups": [
        {"id": "g-pay", "name": "payments-team", "description": "Payments on-call", "members": ["u-1", "BOB@acme.com"]},
        {"name": "empty-team"},
    ],
}


def test_csv_and_json_describe_the_same_directory() -> None:
    from_csv = parse_directory(CSV, fmt="csv", source_ref="idp.csv")
    from_json = parse_directory(json.dumps(JSON), fmt="json", source_ref="idp.json")
    for directory in (from_csv, from_json):
        users = {u.user_id: u for u in directory.users}
        assert users["u-1"].emails == ("alice@acme.com", "a.liddell@acme.com")
        assert users["u-1"].primary_email == "alice@acme.com" and users["u-1"].display_name == "Alice Liddell"
        assert users["bob"].user_name == "bob"  # id defaults to the name
        groups = {g.group_id: g for g in directory.groups}
        assert groups["g-pay"].description == "Payments on-call"
        assert groups["platform-admins"].display_name == "platform-admins"  # created from a user's reference
        assert "empty-team" in groups
        assert set(directory.memberships) == {Membership("platform-admins", "u-1"), Membership("g-pay", "u-1"),
                                              Membership("g-pay", "bob")}


@pytest.mark.parametrize(("fmt", "text", "expected"), [
    ("csv", "type,name\nuser,\n", "line 2: 'name' is required"),
    ("csv", "type,name,colour\n", "unknown column(s) colour"),
    ("csv", "kind,name\n", "lacks column(s) type"),
    ("csv", "type,name,members\nuser,alice,bob\n", "line 2: column(s) members do not apply to a user row"),
    ("csv", "type,name\nrobot,x\n", "type must be 'user' or 'group'"),
    ("csv", "type,id,name\nuser,u,a\nuser,u,b\n", "user id 'u' appears more than once"),
    ("json", '{"users": [{"name": "a", "emial": "x"}]}', "users[0]: unknown key(s) 'emial'"),
    ("json", '{"groups": [{"name": "g", "members": ["nobody"]}]}', "member 'nobody' is not a listed user"),
    ("json", '{"users": [{"name": "a", "groups": "g"}]}', "'groups' must be a list of strings"),
    ("json", '[1]', "the top level must be an object"),
    ("json", '{"users": [', "not valid JSON"),
    ("json", '{"users": [{"name": "a", "groups": ["g"]}], "groups": [{"id": "1", "name": "G"}, {"id": "2", "name": "g"}]}',
     "group 'g' is ambiguous"),
])
def test_problems_are_located_and_refuse_the_file(fmt: str, text: str, expected: str) -> None:
    with pytest.raises(DirectoryError) as caught:
        parse_directory(text, fmt=fmt, source_ref="f")
    assert any(expected in p for p in caught.value.problems), caught.value.problems


def test_format_follows_the_extension_or_the_content(tmp_path: Path) -> None:
    as_json = write(tmp_path / "export.txt", json.dumps(JSON))
    assert len(load_directory_file(as_json).users) == 2
    with_bom = tmp_path / "export.csv"
    with_bom.write_text("\ufeff" + CSV, encoding="utf-8")
    assert len(load_directory_file(with_bom).users) == 2
    with pytest.raises(DirectoryError, match="cannot read"):
        load_directory_file(tmp_path / "missing.csv")


CONFIG = """
[[integration]]
name = "acme"
type = "aws-organization"
region = "us-east-1"
sso_region = "us-east-1"
sso_portal = "https://acme.awsapps.com/start"
integration_owner = { attribute = "group", values = ["platform-admins"] }
resource_owner = { tag_key = "owner", attribute = "user" }

[[integration]]
name = "dev"
type = "aws-account"
region = "eu-west-1"
"""


def test_idp_sync_from_a_file_replaces_each_integrations_directory(tmp_path: Path) -> None:
    config = write(tmp_path / "orgsync.toml", CONFIG)
    catalog = str(tmp_path / "c.duckdb")
    idp = write(tmp_path / "idp.csv", CSV)
    result = run_cli("idp", "sync", config, "--file", idp, "--catalog", catalog, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [(r["integration"], r["users"], r["groups"], r["memberships"]) for r in out] == [
        ("acme", 2, 3, 3), ("dev", 2, 3, 3)]
    smaller = write(tmp_path / "idp.json", json.dumps({"users": [{"name": "zed", "groups": ["g"]}]}))
    text = run_cli("idp", "sync", config, "--integration", "acme", "--file", smaller, "--catalog", catalog)
    assert text.exit_code == 0 and "acme: 1 users, 1 groups, 1 memberships from file" in text.output
    with duckdb.connect(catalog, read_only=True) as con:
        users = con.execute("SELECT integration, user_name FROM idp_users ORDER BY ALL").fetchall()
        sources = con.execute("SELECT idp_sync_id, integration, source, users, added, modified, removed "
                              "FROM idp_sources ORDER BY idp_sync_id").fetchall()
        views = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'resource_owner%'"
                            ).fetchall()
    assert users == [("acme", "zed"), ("dev", "alice"), ("dev", "bob")]
    # One row per directory sync, with what it changed: everything is new the first time; then
    # acme's 2 users, 3 groups and 3 memberships go, and zed, g and zed's membership come.
    assert sources == [(1, "acme", "file", 2, 8, 0, 0), (2, "dev", "file", 2, 8, 0, 0), (3, "acme", "file", 1, 3, 0, 8)]
    assert [(r["idp_sync_id"], r["added"], r["removed"]) for r in out] == [(1, 8, 0), (2, 8, 0)]
    assert views == [(2,)]


def test_a_bad_file_changes_nothing_and_says_why(tmp_path: Path) -> None:
    config = write(tmp_path / "orgsync.toml", CONFIG)
    catalog = str(tmp_path / "c.duckdb")
    assert run_cli("idp", "sync", config, "--file", write(tmp_path / "ok.csv", CSV), "--catalog", catalog).exit_code == 0
    bad = write(tmp_path / "bad.csv", "type,name\nuser,alice\nperson,bob\n")
    result = run_cli("idp", "sync", config, "--file", bad, "--catalog", catalog)
    assert result.exit_code == 2 and "line 3: type must be 'user' or 'group'" in result.output
    with duckdb.connect(catalog, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM idp_users").fetchall() == [(4,)]
    both = run_cli("idp", "sync", config, "--file", bad, "--identity-store-id", "d-1", "--catalog", catalog)
    assert both.exit_code == 2 and "exclude each other" in both.output
    unknown = run_cli("idp", "sync", config, "--integration", "nope", "--file", bad, "--catalog", catalog)
    assert unknown.exit_code == 2 and "no integration named 'nope'" in unknown.output
