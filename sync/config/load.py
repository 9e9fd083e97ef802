"""Parse and validate an orgsync TOML config into `sync.config.model` dataclasses.

Validation collects every problem before raising, so one run of the tool shows
the user everything to fix.  tomllib reports no positions for values, so line
numbers come from a light scan of the raw text (`_Locator`).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

from sync.config.model import DEFAULT_MEMBER_ROLE, MAX_CUSTOM_ACCESS_DETAILS, AccountIntegration, Config
from sync.config.model import ConfigError, ConfigProblem, FrozenMapping, Integration, IntegrationOwner
from sync.config.model import OrganizationIntegration, ResourceOwner

__all__ = ["ConfigError", "ConfigProblem", "load_config", "parse_config"]

MAX_DAYS = 3650
MAX_REFRESH_MINUTES = 43200  # 30 days; anything slower is effectively "never"
KINDS = ("aws-account", "aws-organization")
ATTRIBUTES = ("user", "group")

_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+", re.ASCII)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", re.ASCII)
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}", re.ASCII)
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
_OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}", re.ASCII)
_ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
_HTTPS_URL = re.compile(r"https://[^\s/?#:@]+(?::\d+)?(?:[/?#]\S*)?")
_TAG_KEY = re.compile(r"[\w .:/=+\-@]{1,128}")  # AWS allows Unicode letters in tag keys

REGION_RULE = "an AWS region name (like 'us-east-1')"
_COMMON_KEYS = ("name", "type", "region", "regions", "resource_types", "credential_rotation_days",
                "user_cleanup_days", "custom_access_details", "integration_owner", "resource_owner",
                "refresh_minutes")
_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "aws-account": ("aws_profile",),
    "aws-organization": ("sso_region", "sso_portal", "management_account_role_arn", "member_role_name",
                         "external_id", "exclude_organization_unit_ids", "exclude_account_ids"),
}
_TOML_TYPES = ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string"), (list, "array"),
               (dict, "table"))
_FROM_RAW: Any = object()  # sentinel: read the value from the integration table by key


def _describe(value: Any) -> str:
    for python_type, toml_name in _TOML_TYPES:
        if isinstance(value, python_type):
            shown = str(value).lower() if isinstance(value, bool) else repr(value)
            return f"{toml_name} {shown}" if len(shown) <= 60 else toml_name
    return "date/time value"


def _suggest(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Locator:
    """Maps (integration number, field) to a 1-based line of the raw text."""

    _HEADER = re.compile(r"\s*\[\[\s*integration\s*\]\]")
    _TABLE = re.compile(r"\s*\[\[?\s*([^\]]*?)\s*\]\]?")

    def __init__(self, text: str) -> None:
        self.top: list[tuple[int, str]] = []
        self.blocks: list[tuple[int, list[tuple[int, str]]]] = []
        in_block = False
        closing: str | None = None
        for lineno, line in enumerate(text.splitlines(), start=1):
            if closing is not None:
                # Inside a multi-line string: its text is data, never a key or header.
                if line.count(closing) % 2 == 1:
                    closing = None
                continue
            for delimiter in ('"""', "'''"):
                if line.count(delimiter) % 2 == 1:
                    closing = delimiter
            if self._HEADER.match(line):
                self.blocks.append((lineno, []))
                in_block = True
                continue
            table = self._TABLE.match(line)
            if table and not table.group(1).startswith("integration."):
                in_block = False
            (self.blocks[-1][1] if in_block else self.top).append((lineno, line))

    @staticmethod
    def _is_key(line: str, key: str) -> bool:
        quoted = re.escape(key)
        return re.match(rf"\s*(?:{quoted}|\"{quoted}\"|'{quoted}')\s*[=.]", line) is not None

    def top_line(self, key: str) -> int | None:
        for lineno, line in self.top:
            table = self._TABLE.match(line)
            if (table and table.group(1).split(".")[0] == key) or (not table and self._is_key(line, key)):
                return lineno
        return None

    def line(self, index: int, field: str | None) -> int | None:
        if index > len(self.blocks):
            return None  # integrations written as an inline array have no header to count
        header, body = self.blocks[index - 1]
        if field is None:
            return header
        key, _, sub = field.partition(".")
        subtable: str | None = None  # name of the [integration.<name>] table being scanned
        found: int | None = None
        for lineno, line in body:
            table = self._TABLE.match(line)
            if table:
                subtable = table.group(1).partition(".")[2]
                found = lineno if subtable == key and found is None else found
            elif subtable is None and self._is_key(line, key):  # TOML: keys after a sub-table belong to it
                return lineno
            elif sub and subtable == key and self._is_key(line, sub):
                return lineno
        # An absent key (e.g. a missing required field) points at its integration's header.
        return found or header


class _Reader:
    """Validates one `[[integration]]` table, recording problems instead of raising."""

    def __init__(self, raw: dict[str, Any], index: int, locator: _Locator, source: str) -> None:
        self.raw, self.index, self.locator, self.source = raw, index, locator, source
        self.label = f"#{index}"
        self.problems: list[ConfigProblem] = []

    def problem(self, field: str | None, message: str) -> None:
        line = self.locator.line(self.index, field)
        self.problems.append(ConfigProblem(self.label, field, message, line, self.source))

    def string(self, key: str, rule: str, pattern: re.Pattern[str] | None = None,
               *, required: bool = False, value: Any = _FROM_RAW) -> str | None:
        value = self.raw.get(key) if value is _FROM_RAW else value
        if value is None:
            if required:
                self.problem(key, f"missing; required: {rule}")
            return None
        if not isinstance(value, str):
            self.problem(key, f"expected a string ({rule}), got {_describe(value)}")
        elif pattern is not None and not pattern.fullmatch(value):
            self.problem(key, f"'{value}' is not {rule}")
        elif pattern is None and not value:
            self.problem(key, f"must not be empty; expected {rule}")
        else:
            return value
        return None

    def string_list(self, key: str, rule: str, pattern: re.Pattern[str] | None,
                    *, split_commas: bool = False, account_ids: bool = False) -> tuple[str, ...] | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, str) and split_commas:
            # The product UI takes one comma-separated string; accept the same here.
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            hint = f' (write ["{value}"])' if isinstance(value, str) else ""
            self.problem(key, f"expected an array of strings, each {rule}; got {_describe(value)}{hint}")
            return None
        items: list[str] = []
        for position, item in enumerate(value, start=1):
            if account_ids and isinstance(item, int) and not isinstance(item, bool):
                self.problem(key, f"entry {position} is the integer {item}; quote account IDs "
                                  f"(\"{item:012d}\") because TOML integers drop leading zeros")
            elif not isinstance(item, str):
                self.problem(key, f"entry {position} should be a string ({rule}), got {_describe(item)}")
            elif pattern is not None and not pattern.fullmatch(item):
                self.problem(key, f"entry {position} '{item}' is not {rule}")
            elif item in items:
                self.problem(key, f"'{item}' is listed more than once")
            else:
                items.append(item)
        return tuple(items) if len(items) == len(value) else None

    def days(self, key: str, maximum: int = MAX_DAYS, value: Any = _FROM_RAW) -> int | None:
        value = self.raw.get(key) if value is _FROM_RAW else value
        if value is None:
            return None
        # bool is a subclass of int in Python, but `true` is never a day count.
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, f"expected an integer from 1 to {maximum}, got {_describe(value)}")
        elif not 1 <= value <= maximum:
            self.problem(key, f"{value} is out of range; allowed: 1 to {maximum}")
        else:
            return value
        return None

    def table(self, key: str, allowed: tuple[str, ...] | None, what: str) -> dict[str, Any] | None:
        """`allowed=None` accepts any key (the caller checks them)."""
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem(key, f"expected a table of {what}; got {_describe(value)}")
            return None
        known = () if allowed is None else allowed
        for extra in [k for k in value if allowed is not None and k not in known]:
            self.problem(f"{key}.{extra}", f"unknown key{_suggest(extra, known)}; allowed: {', '.join(known)}")
        return value

    def attribute(self, key: str, value: Any) -> Any:
        rule = "'user' or 'group'"
        if value is None:
            self.problem(key, f"missing; required: {rule}")
        elif value not in ATTRIBUTES:
            self.problem(key, f"expected {rule}, got {_describe(value)}")
        return value

    def check_keys(self, kind: str | None) -> None:
        everything = _COMMON_KEYS + _KIND_KEYS["aws-account"] + _KIND_KEYS["aws-organization"]
        valid = everything if kind is None else _COMMON_KEYS + _KIND_KEYS[kind]
        for key in self.raw:
            if key in valid:
                continue
            if key in everything:
                other = next(k for k, keys in _KIND_KEYS.items() if key in keys)
                self.problem(key, f"only applies to type '{other}' integrations, not '{kind}'")
            else:
                self.problem(key, f"unknown key{_suggest(key, valid) or '; valid keys: ' + ', '.join(valid)}")

    def read(self, supported: frozenset[str]) -> Integration | None:
        name = self.string("name", "1-64 letters, digits, '-' or '_', starting with a letter or digit",
                           _NAME, required=True)
        if name is not None:
            self.label = name
        kind = self.string("type", "'aws-account' or 'aws-organization'", required=True)
        if kind is not None and kind not in KINDS:
            self.problem("type", f"'{kind}' is not a known type{_suggest(kind, KINDS)}; "
                                 "allowed: 'aws-account', 'aws-organization'")
            kind = None
        self.check_keys(kind)
        region = self.string("region", REGION_RULE, _REGION, required=True)
        regions = self.string_list("regions", REGION_RULE, _REGION)
        if regions == ():
            self.problem("regions", "must not be empty; omit it to sync every enabled region")
        listed = ", ".join(sorted(supported))
        resource_types = self.string_list("resource_types", f"a supported resource type ({listed})", None)
        if resource_types is not None:
            for unknown in (t for t in resource_types if t not in supported):
                self.problem("resource_types", f"'{unknown}' is not a supported resource type"
                                               f"{_suggest(unknown, supported)}; supported: {listed}")
            if not resource_types:
                self.problem("resource_types", "must not be empty; omit it to sync every supported type")
        types = tuple(sorted(supported)) if "resource_types" not in self.raw else resource_types or ()
        common: dict[str, Any] = {
            "name": name, "kind": kind, "region": region, "regions": regions, "resource_types": types,
            "credential_rotation_days": self.days("credential_rotation_days"),
            "user_cleanup_days": self.days("user_cleanup_days"),
            "custom_access_details": self.access_details(),
            "integration_owner": self.integration_owner(),
            "resource_owner": self.resource_owner(),
            "refresh_intervals": self.refresh_intervals(types, supported),
        }
        # With an unknown type there is no telling which kind-specific rules apply.
        specific: dict[str, Any] = {}
        if kind == "aws-organization":
            specific = self.organization()
        elif kind == "aws-account":
            specific = {"aws_profile": self.string("aws_profile", "an AWS CLI profile name")}
        if self.problems:
            return None
        cls = OrganizationIntegration if kind == "aws-organization" else AccountIntegration
        return cls(**common, **specific)

    def access_details(self) -> str | None:
        text = self.string("custom_access_details", f"text of at most {MAX_CUSTOM_ACCESS_DETAILS} characters")
        if text is not None and len(text) > MAX_CUSTOM_ACCESS_DETAILS:
            self.problem("custom_access_details", f"is {len(text)} characters long; "
                                                  f"at most {MAX_CUSTOM_ACCESS_DETAILS} allowed")
            return None
        return text

    def integration_owner(self) -> IntegrationOwner | None:
        table = self.table("integration_owner", ("attribute", "values"), "attribute and values")
        if table is None:
            return None
        attribute = self.attribute("integration_owner.attribute", table.get("attribute"))
        values = table.get("values")
        rule = "a non-empty array of non-empty strings (user emails or group names)"
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            got = "missing" if values is None else f"got {_describe(values)}"
            self.problem("integration_owner.values", f"expected {rule}; {got}")
            return None
        return IntegrationOwner(attribute=attribute, values=tuple(values))

    def resource_owner(self) -> ResourceOwner | None:
        table = self.table("resource_owner", ("tag_key", "attribute"), "tag_key and attribute")
        if table is None:
            return None
        if "integration_owner" not in self.raw:
            self.problem("resource_owner", "Resource Owner requires an Integration Owner as fallback approver; "
                                           "add integration_owner = { attribute = ..., values = [...] }")
        rule = "an AWS tag key (1-128 letters, digits, spaces and _ . : / = + - @)"
        tag_key = self.string("resource_owner.tag_key", rule, _TAG_KEY, required=True, value=table.get("tag_key"))
        attribute = self.attribute("resource_owner.attribute", table.get("attribute"))
        return ResourceOwner(tag_key=tag_key, attribute=attribute) if tag_key else None

    def refresh_intervals(self, types: tuple[str, ...], supported: frozenset[str]) -> FrozenMapping:
        table = self.table("refresh_minutes", None, 'resource type = minutes (like { "iam:role" = 60 })')
        intervals: dict[str, int] = {}
        for resource_type, minutes in (table or {}).items():
            field = f"refresh_minutes.{resource_type}"
            if resource_type not in supported:
                self.problem(field, f"'{resource_type}' is not a supported resource type"
                                    f"{_suggest(resource_type, supported)}")
            elif types and resource_type not in types:
                self.problem(field, f"'{resource_type}' is not in this integration's resource_types")
            checked = self.days(field, MAX_REFRESH_MINUTES, value=minutes)
            if checked is not None:
                intervals[resource_type] = checked
        return FrozenMapping(intervals)

    def organization(self) -> dict[str, Any]:
        rule = "an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)"
        return {
            "sso_region": self.string("sso_region", REGION_RULE, _REGION, required=True),
            "sso_portal": self.string("sso_portal", "the https URL of your IAM Identity Center access portal "
                                      "(like 'https://acme.awsapps.com/start')", _HTTPS_URL, required=True),
            "management_account_role_arn": self.string("management_account_role_arn", rule, _ROLE_ARN),
            "member_role_name": self.string("member_role_name", "an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-)",
                                            _ROLE_NAME) or DEFAULT_MEMBER_ROLE,
            "external_id": self.string("external_id", "2-1224 of A-Z a-z 0-9 +=,.@:/_-", _EXTERNAL_ID),
            "exclude_organization_unit_ids": self.string_list(
                "exclude_organization_unit_ids", "an OU ID (like 'ou-ab12-34cd56ef')", _OU_ID,
                split_commas=True) or (),
            "exclude_account_ids": self.string_list(
                "exclude_account_ids", "a 12-digit account ID in quotes", _ACCOUNT_ID,
                split_commas=True, account_ids=True) or (),
        }


def _toml_line(error: tomllib.TOMLDecodeError) -> int | None:
    found = re.search(r"at line (\d+)", str(error))
    return int(found.group(1)) if found else None


def parse_config(text: str, *, source: str, supported_types: Collection[str]) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem(None, None, f"not valid TOML: {exc}", _toml_line(exc), source)]) from exc
    locator = _Locator(text)
    supported = frozenset(supported_types)
    problems: list[ConfigProblem] = []
    for key in [k for k in data if k != "integration"]:
        message = f"unknown top-level key{_suggest(key, ['integration'])}; only [[integration]] tables are allowed"
        problems.append(ConfigProblem(None, key, message, locator.top_line(key), source))
    raw = data.get("integration")
    if not isinstance(raw, list) or not raw or not all(isinstance(entry, dict) for entry in raw):
        got = "none" if raw is None else _describe(raw)
        if isinstance(raw, dict):
            got = "a single [integration] table; write [[integration]] with double brackets"
        message = f"define at least one [[integration]] table; got {got}"
        problems.append(ConfigProblem(None, "integration", message, locator.top_line("integration"), source))
        raw = [entry for entry in raw if isinstance(entry, dict)] if isinstance(raw, list) else []
    integrations: list[Integration] = []
    first_use: dict[str, _Reader] = {}
    for index, entry in enumerate(raw, start=1):
        reader = _Reader(entry, index, locator, source)
        integration = reader.read(supported)
        if reader.label in first_use:
            earlier = first_use[reader.label].index
            where = f" (line {line})" if (line := locator.line(earlier, "name")) else ""
            reader.problem("name", f"'{reader.label}' is already used by integration #{earlier}{where}; "
                                   "names must be unique")
        elif not reader.label.startswith("#"):
            first_use[reader.label] = reader
        problems.extend(reader.problems)
        if integration is not None:
            integrations.append(integration)
    if problems:
        # Stable sort: file order for located problems, unlocated ones last.
        problems.sort(key=lambda p: (p.line is None, p.line or 0))
        raise ConfigError(problems)
    return Config(source=source, integrations=tuple(integrations))


def load_config(path: str | os.PathLike[str], *, supported_types: Collection[str]) -> Config:
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([ConfigProblem(None, None, "config file not found", None, source)]) from exc
    except UnicodeDecodeError as exc:
        message = f"not valid UTF-8 text (TOML files must be UTF-8): {exc.reason} at byte {exc.start}"
        raise ConfigError([ConfigProblem(None, None, message, None, source)]) from exc
    except OSError as exc:
        message = f"cannot read config file: {exc.strerror or exc}"
        raise ConfigError([ConfigProblem(None, None, message, None, source)]) from exc
    return parse_config(text, source=source, supported_types=supported_types)
