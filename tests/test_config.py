"""Tests for the integration config file: parsing, every validation rule, line numbers, templates."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import re
from pathlib import Path
from typing import Any

import pytest

from sync.config import DEFAULT_MEMBER_ROLE, AccountIntegration, Config, ConfigError, ConfigProblem
from sync.config import IntegrationOwner, OrganizationIntegration, ResourceOwner, load_config, parse_config
from sync.config import render_template
from sync.config.load import _COMMON_KEYS, _KIND_KEYS

TYPES = ("ec2:instance", "s3:bucket", "rds:db", "iam:role", "iam:user", "iam:group", "iam:policy",
         "eks:cluster", "lambda:function", "dynamodb:table", "secretsmanager:secret")
DROP = object()

ORG: dict[str, Any] = {"name": "acme-org", "type": "aws-organization", "region": "us-east-1",
                       "sso_region": "us-east-1", "sso_portal": "https://acme.awsapps.com/start"}
ACCOUNT: dict[str, Any] = {"name": "sandbox", "type": "aws-account", "region": "eu-west-1"}


def toml_value(value: Any) -> str:
    # JSON strings, numbers and booleans are valid TOML; arrays and tables need TOML's own syntax.
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def integration(base: dict[str, Any], **changes: Any) -> str:
    table = {**base, **changes}
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items() if v is not DROP]
    return "[[integration]]\n" + "\n".join(lines) + "\n"


def parse(text: str) -> Config:
    return parse_config(text, source="orgsync.toml", supported_types=TYPES)


def problems_of(text: str) -> tuple[ConfigProblem, ...]:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return caught.value.problems


FULL_ORG = """\
# acme's organization
[[integration]]
name = "acme-org"
type = "aws-organization"
region = "us-east-1"
sso_region = "us-east-1"
sso_portal = "https://acme.awsapps.com/start"
management_account_role_arn = "arn:aws:iam::111111111111:role/orgsync-management"
member_role_name = "OrgSyncReader"
external_id = "acme-7f3a"
exclude_organization_unit_ids = ["ou-ab12-11111111"]
exclude_account_ids = ["766554433221", "012345678901"]
regions = ["us-east-1", "eu-west-1"]
resource_types = ["ec2:instance", "s3:bucket", "iam:role"]
credential_rotation_days = 90
user_cleanup_days = 30
custom_access_details = "Connect through the SSO portal."
integration_owner = { attribute = "group", values = ["platform-admins"] }
resource_owner = { tag_key = "owner", attribute = "group" }

[integration.refresh_minutes]
"iam:role" = 60
"""


def test_full_organization_parses() -> None:
    config = parse(FULL_ORG)
    assert config.source == "orgsync.toml"
    (org,) = config.integrations
    assert org == OrganizationIntegration(
        name="acme-org", kind="aws-organization", region="us-east-1", sso_region="us-east-1",
        sso_portal="https://acme.awsapps.com/start",
        management_account_role_arn="arn:aws:iam::111111111111:role/orgsync-management",
        member_role_name="OrgSyncReader", external_id="acme-7f3a",
        exclude_organization_unit_ids=("ou-ab12-11111111",),
        exclude_account_ids=("766554433221", "012345678901"),
        regions=("us-east-1", "eu-west-1"), resource_types=("ec2:instance", "s3:bucket", "iam:role"),
        credential_rotation_days=90, user_cleanup_days=30,
        custom_access_details="Connect through the SSO portal.",
        integration_owner=IntegrationOwner(attribute="group", values=("platform-admins",)),
        resource_owner=ResourceOwner(tag_key="owner", attribute="group"),
        refresh_intervals={"iam:role": 60},
    )
    hash(config)  # frozen all the way down, so usable as a cache key
    with pytest.raises(TypeError):
        org.refresh_intervals["iam:role"] = 5  # type: ignore[index]
    # The catalog stores dataclasses.asdict(integration) as JSON; the copy must round-trip too.
    assert json.loads(json.dumps(dataclasses.asdict(org)))["refresh_intervals"] == {"iam:role": 60}
    assert copy.deepcopy(org) == pickle.loads(pickle.dumps(org)) == org


def test_minimal_organization_gets_defaults() -> None:
    (org,) = parse(integration(ORG)).integrations
    assert isinstance(org, OrganizationIntegration)
    assert (org.member_role_name, org.management_account_role_arn, org.external_id) == (DEFAULT_MEMBER_ROLE, None, None)
    assert org.exclude_account_ids == org.exclude_organization_unit_ids == ()
    assert org.regions is None and org.resource_types == tuple(sorted(TYPES))  # every region, every type
    assert dict(org.refresh_intervals) == {} and org.integration_owner is None and org.resource_owner is None


def test_account_parses() -> None:
    (minimal,) = parse(integration(ACCOUNT)).integrations
    assert isinstance(minimal, AccountIntegration) and minimal.aws_profile is None  # SDK default chain
    text = integration(ACCOUNT, aws_profile="apono", regions=["eu-west-1"], resource_types=["s3:bucket"],
                       refresh_minutes={"s3:bucket": 15})
    (account,) = parse(text).integrations
    assert account == AccountIntegration(
        name="sandbox", kind="aws-account", region="eu-west-1", regions=("eu-west-1",),
        resource_types=("s3:bucket",), aws_profile="apono", refresh_intervals={"s3:bucket": 15})


def test_govcloud_and_iso_regions_are_accepted() -> None:
    (org,) = parse(integration(ORG, region="us-gov-west-1", regions=["us-gov-east-1", "us-isob-east-1"])
                   ).integrations
    assert org.regions == ("us-gov-east-1", "us-isob-east-1")


def test_comma_separated_exclusions_are_split() -> None:
    text = integration(ORG, exclude_organization_unit_ids="ou-aaa1-1111aaaa, ou-bbb2-2222bbbb",
                       exclude_account_ids="111111111111 ,222222222222,")
    (org,) = parse(text).integrations
    assert isinstance(org, OrganizationIntegration)
    assert org.exclude_organization_unit_ids == ("ou-aaa1-1111aaaa", "ou-bbb2-2222bbbb")
    assert org.exclude_account_ids == ("111111111111", "222222222222")


ORG_CASES = [
    ("name", DROP, "missing"),
    ("name", "-acme", "starting with a letter or digit"), ("name", "acme org", "is not 1-64 letters"),
    ("name", "a" * 65, "is not 1-64 letters"),
    ("name", 7, "expected a string"),
    ("type", DROP, "missing; required: 'aws-account' or 'aws-organization'"),
    ("type", "aws-orgnization", "did you mean 'aws-organization'?"),
    ("region", DROP, "missing; required: an AWS region name"),
    ("region", "us-east", "'us-east' is not an AWS region name (like 'us-east-1')"),
    ("region", 1, "expected a string"),
    ("sso_region", DROP, "missing"),
    ("sso_region", "useast1", "is not an AWS region name"),
    ("regions", [], "must not be empty"),
    ("regions", "us-east-1", 'expected an array of strings, each an AWS region name (like \'us-east-1\'); '
                             'got string \'us-east-1\' (write ["us-east-1"])'),
    ("regions", ["us-east-1", "mars-1"], "entry 2 'mars-1' is not an AWS region name"),
    ("regions", ["us-east-1", "us-east-1"], "'us-east-1' is listed more than once"),
    ("regions", ["us-east-1", 5], "entry 2 should be a string"),
    ("sso_portal", DROP, "missing"),
    ("sso_portal", "http://acme.awsapps.com/start", "is not the https URL"),
    ("sso_portal", "acme.awsapps.com/start", "is not the https URL"),
    ("sso_portal", "https:///start", "is not the https URL"),
    ("sso_portal", "https://acme.awsapps.com/my start", "is not the https URL"),
    ("management_account_role_arn", "arn:aws:iam::1111:role/x", "is not an IAM role ARN"),
    ("management_account_role_arn", "arn:aws:iam::111111111111:user/x", "is not an IAM role ARN"),
    ("member_role_name", "bad role!", "is not an IAM role name"), ("member_role_name", "r" * 65, "IAM role name"),
    ("member_role_name", "", "is not an IAM role name"),
    ("external_id", "x", "is not 2-1224 of"), ("external_id", "has space", "is not 2-1224 of"),
    ("external_id", "e" * 1225, "is not 2-1224 of"),
    ("exclude_organization_unit_ids", ["ou-1"], "'ou-1' is not an OU ID"),
    ("exclude_organization_unit_ids", ["r-ab12"], "is not an OU ID"),
    ("exclude_organization_unit_ids", ["ou-ab12-11111111"] * 2, "listed more than once"),
    ("exclude_account_ids", [12345678901], 'quote account IDs ("012345678901")'),
    ("exclude_account_ids", ["12345"], "'12345' is not a 12-digit account ID"),
    ("exclude_account_ids", ["123456789012", "123456789012"], "listed more than once"),
    ("exclude_account_ids", 123456789012, "expected an array of strings"),
    ("exclude_account_ids", "111111111111,12", "entry 2 '12' is not a 12-digit account ID"),  # split, then checked
    ("aws_profile", "apono", "only applies to type 'aws-account' integrations, not 'aws-organization'"),
    ("exclude_acount_ids", ["123456789012"], "unknown key (did you mean 'exclude_account_ids'?)"),
    ("resource_types", [], "must not be empty"),
    ("resource_types", "s3:bucket", "expected an array of strings"),
    ("resource_types", ["ec2:instnce"], "did you mean 'ec2:instance'?); supported: dynamodb:table, ec2:instance"),
    ("resource_types", ["s3:bucket", "s3:bucket"], "listed more than once"),
    ("credential_rotation_days", 0, "0 is out of range; allowed: 1 to 3650"),
    ("credential_rotation_days", 3651, "3651 is out of range"),
    ("credential_rotation_days", True, "expected an integer from 1 to 3650, got boolean true"),
    ("credential_rotation_days", "90", "expected an integer"),
    ("credential_rotation_days", 1.5, "got float 1.5"),
    ("user_cleanup_days", -1, "out of range"), ("user_cleanup_days", False, "got boolean false"),
    ("custom_access_details", "x" * 401, "is 401 characters long; at most 400 allowed"),
    ("custom_access_details", 5, "expected a string"),
    ("integration_owner", "platform-admins", "expected a table of attribute and values"),
    ("refresh_minutes", {"iam:role": 0}, "out of range; allowed: 1 to 43200"),
    ("refresh_minutes", {"iam:role": True}, "got boolean true"),
    ("refresh_minutes", {"foo:bar": 5}, "'foo:bar' is not a supported resource type"),
    ("refresh_minutes", 60, "expected a table of resource type = minutes"),
    ("integration_owner", {"attribute": "team", "values": ["a"]},
     "field 'integration_owner.attribute': expected 'user' or 'group', got string 'team'"),
    ("integration_owner", {"values": ["a"]}, "field 'integration_owner.attribute': missing"),
    ("integration_owner", {"attribute": "user", "values": []}, "'integration_owner.values': expected a non-empty"),
    ("integration_owner", {"attribute": "user"}, "field 'integration_owner.values': expected a non-empty array"),
    ("integration_owner", {"attribute": "user", "values": [""]}, "'integration_owner.values': expected a non-empty"),
    ("integration_owner", {"attribute": "user", "values": "alice@acme.com"}, "got string 'alice@acme.com'"),
    ("integration_owner", {"attribute": "user", "values": ["a"], "atribute": "x"},
     "field 'integration_owner.atribute': unknown key (did you mean 'attribute'?)"),
    ("resource_owner", {"tag_key": "owner", "attribute": "user"},
     "field 'resource_owner': Resource Owner requires an Integration Owner as fallback approver"),
]
ACCOUNT_CASES = [
    ("sso_portal", "https://acme.awsapps.com/start", "only applies to type 'aws-organization' integrations"),
    ("member_role_name", "Reader", "only applies to type 'aws-organization'"),
    ("exclude_account_ids", ["123456789012"], "only applies to type 'aws-organization'"),
    ("aws_profile", "", "must not be empty"), ("aws_profile", 3, "expected a string"),
    ("aws_profle", "apono", "did you mean 'aws_profile'?"),
]
OWNER = {"attribute": "group", "values": ["platform-admins"]}
OWNED_ORG = {**ORG, "integration_owner": OWNER}  # resource_owner needs an integration_owner
RESOURCE_OWNER_CASES = [
    ({"tag_key": "", "attribute": "user"}, "field 'resource_owner.tag_key': '' is not an AWS tag key"),
    ({"tag_key": "k" * 129, "attribute": "user"}, "field 'resource_owner.tag_key': 'kkk"),
    ({"tag_key": "own*er", "attribute": "user"}, "'own*er' is not an AWS tag key"),
    ({"attribute": "user"}, "field 'resource_owner.tag_key': missing"),
    ({"tag_key": "owner", "attribute": "team"}, "field 'resource_owner.attribute': expected 'user' or 'group'"),
    ({"tag_key": "owner"}, "field 'resource_owner.attribute': missing"),
]
CASES = ([(ORG, *case) for case in ORG_CASES] + [(ACCOUNT, *case) for case in ACCOUNT_CASES]
         + [(OWNED_ORG, "resource_owner", *case) for case in RESOURCE_OWNER_CASES]
         + [({**ORG, "resource_types": ["s3:bucket"]}, "refresh_minutes", {"iam:role": 60},
             "field 'refresh_minutes.iam:role': 'iam:role' is not in this integration's resource_types")])


@pytest.mark.parametrize(("base", "field", "value", "expected"), CASES)
def test_rule(base: dict[str, Any], field: str, value: Any, expected: str) -> None:
    problems = problems_of(integration(base, **{field: value}))
    # Only the broken field is reported, and the message names it and what is allowed.
    assert {(p.field or "").split(".")[0] for p in problems} == {field}, problems
    assert any(expected in p.message or expected in str(p) for p in problems), [str(p) for p in problems]


def test_resource_owner_tag_key_allows_aws_characters() -> None:
    owner = {"tag_key": "team/Owner:é @x", "attribute": "user"}
    (org,) = parse(integration(OWNED_ORG, resource_owner=owner)).integrations
    assert org.resource_owner == ResourceOwner(tag_key="team/Owner:é @x", attribute="user")


def test_top_level_rules() -> None:
    (problem,) = problems_of("")
    assert problem.field == "integration" and "define at least one [[integration]]" in problem.message
    (problem,) = problems_of("integration = []\n")
    assert problem.field == "integration" and problem.line == 1
    (problem,) = problems_of("[integration]\nname = 'x'\n")
    assert "double brackets" in problem.message and problem.line == 1
    (problem,) = problems_of("integrations = 1\n" + integration(ACCOUNT))
    assert problem.field == "integrations" and problem.integration is None and problem.line == 1
    assert "unknown top-level key (did you mean 'integration'?)" in problem.message


def test_duplicate_names() -> None:
    text = integration(ACCOUNT) + integration(ACCOUNT, region="us-east-2")
    (problem,) = problems_of(text)
    assert problem.field == "name" and problem.line == 6
    assert "'sandbox' is already used by integration #1 (line 2); names must be unique" in problem.message


def test_all_problems_reported_at_once() -> None:
    text = (integration(ORG, name="bad name", region="us-east", sso_portal="http://x", aws_profile="p")
            + integration(ACCOUNT, user_cleanup_days=0, resource_types=["ec2:instnce"]))
    with pytest.raises(ConfigError) as caught:
        parse(text)
    found = [(p.integration, p.field) for p in caught.value.problems]
    assert found == [("#1", "name"), ("#1", "region"), ("#1", "sso_portal"), ("#1", "aws_profile"),
                     ("sandbox", "user_cleanup_days"), ("sandbox", "resource_types")]
    lines = str(caught.value).splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("orgsync.toml:2: integration #1: field 'name': 'bad name' is not")
    assert lines[1] == ("orgsync.toml:4: integration #1: field 'region': "
                        "'us-east' is not an AWS region name (like 'us-east-1')")


LINES_TEXT = """\
# orgsync config
[[integration]]
name = "acme-org"
type = "aws-organization"
region = "us-east-1"
custom_access_details = '''
[[integration]]
region = "x"
'''
sso_portal = "https://acme.awsapps.com/start"

[integration.resource_owner]
tag_key = "owner"
attribute = "team"

[integration.refresh_minutes]
"iam:role" = 0

[[integration]]
"name" = "sandbox"
type = "aws-account"
regions = [
  "us-east-1",
  "mars-1",
]
"""


def test_line_numbers() -> None:
    problems = {(p.integration, p.field): p.line for p in problems_of(LINES_TEXT)}
    assert problems == {
        ("acme-org", "sso_region"): 2,  # missing: points at the integration header
        ("acme-org", "resource_owner"): 12,  # no integration_owner
        ("acme-org", "resource_owner.attribute"): 14,
        ("acme-org", "refresh_minutes.iam:role"): 17,
        ("sandbox", "region"): 19,
        ("sandbox", "regions"): 22,
    }


def test_inline_array_of_integrations_has_no_lines() -> None:
    (problem,) = problems_of('integration = [{ name = "x", type = "aws-account" }]\n')
    assert problem.field == "region" and problem.line is None and problem.integration == "x"


def test_problem_formatting() -> None:
    problem = ConfigProblem("acme", "region", "bad", 3, "f.toml")
    assert str(problem) == "f.toml:3: integration 'acme': field 'region': bad"
    assert str(ConfigProblem("#2", None, "bad", None, "f.toml")) == "f.toml: integration #2: bad"
    assert str(ConfigProblem(None, None, "bad", 4)) == "line 4: bad"
    error = ConfigError([ConfigProblem("a", "b", "c", 1, "f"), ConfigProblem(None, None, "d", None, "f")])
    assert str(error) == "f:1: integration 'a': field 'b': c\nf: d"
    assert pickle.loads(pickle.dumps(error)).problems == error.problems


def test_config_get_and_select() -> None:
    config = parse(integration(ORG) + integration(ACCOUNT))
    assert config.get("sandbox").kind == "aws-account"
    assert config.select(None) == config.integrations
    assert config.select("acme-org") == (config.integrations[0],)
    with pytest.raises(ConfigError) as caught:
        config.get("acme")
    assert "no integration named 'acme' (did you mean 'acme-org'?); known integrations: 'acme-org', 'sandbox'" in str(
        caught.value)


def _uncomment_optional(text: str) -> str:
    return re.sub(r"(?m)^# ([a-z_]+ = .*)$", r"\1", text)


@pytest.mark.parametrize(("kind", "cls"), [("account", AccountIntegration), ("organization", OrganizationIntegration)])
def test_template_round_trip(kind: str, cls: type) -> None:
    template = render_template(kind)  # type: ignore[arg-type]
    (plain,) = parse(template).integrations
    assert isinstance(plain, cls)
    full = _uncomment_optional(template)
    assert full != template
    (everything,) = parse(full).integrations
    assert isinstance(everything, cls)
    assert everything.integration_owner is not None and everything.resource_owner is not None
    # Every key the loader accepts for this kind appears in the template, each with a comment above it.
    keys = re.findall(r"(?m)^([a-z_]+) = ", full)
    assert set(keys) == {*_COMMON_KEYS, *_KIND_KEYS[f"aws-{kind}"]}
    lines = full.splitlines()
    for index, line in enumerate(lines):
        if re.match(r"[a-z_]+ = ", line):
            assert lines[index - 1].startswith("#"), line


def test_template_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="account"):
        render_template("project")  # type: ignore[arg-type]


def test_load_config_reads_file(tmp_path: Path) -> None:
    path = tmp_path / "orgsync.toml"
    path.write_text(FULL_ORG, encoding="utf-8")
    config = load_config(path, supported_types=TYPES)
    assert config.source == str(path)
    assert config.get("acme-org").region == "us-east-1"


def test_load_config_missing_or_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.toml", supported_types=TYPES)
    assert str(caught.value) == f"{tmp_path / 'nope.toml'}: config file not found"
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path, supported_types=TYPES)  # a directory
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"name = \"\xff\"\n")
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_config(binary, supported_types=TYPES)


def test_load_config_toml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "orgsync.toml"
    path.write_text('[[integration]]\nname = "x"\ntype = aws-account\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, supported_types=TYPES)
    (problem,) = caught.value.problems
    assert problem.line == 3
    assert "(at line 3, column 8)" in problem.message
    assert str(problem).startswith(f"{path}:3: not valid TOML: ")
