"""View as Code: an orgsync integration as the Apono provider's `apono_resource_integration`.

Schema followed (terraform-provider-apono, resource `apono_resource_integration`): required
`name`, `type`, `connector_id`, `connected_resource_types` (list, at least one) and
`integration_config` (map of strings); optional `custom_access_details`, `owner` {type, values,
source_integration_name} and `owners_mapping` {key_name, attribute_type, source_integration_name}.

Every config setting is either mapped below or listed in a comment of the output, with its value,
as not representable. Pure functions: config in, text out.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sync.config import AccountIntegration, Integration
from sync.terraform.hcl import (
    Attribute,
    Blank,
    Block,
    Comment,
    Item,
    Ref,
    Value,
    quote,
    render,
)

RESOURCE_TYPE = "apono_resource_integration"

# Config field -> top-level attribute of the resource (transformed in _top_level).
TOP_LEVEL: Mapping[str, str] = {
    "name": "name",
    "kind": "type",
    "resource_types": "connected_resource_types",
    "custom_access_details": "custom_access_details",
    "integration_owner": "owner",
    "resource_owner": "owners_mapping",
}
# Config field -> key of `integration_config`. The aws-account keys follow the provider's own
# example (region, profile, credentials_*_period_in_days); the organization keys are the UI's
# setting names, since the provider documents no list of them.
CONFIG_KEYS: Mapping[str, str] = {
    "region": "region",
    "aws_profile": "profile",
    "credential_rotation_days": "credentials_rotation_period_in_days",
    "user_cleanup_days": "credentials_cleanup_period_in_days",
    "sso_region": "sso_region",
    "sso_portal": "sso_portal",
    "management_account_role_arn": "management_account_role_arn",
    "exclude_organization_unit_ids": "exclude_organization_unit_ids",
    "exclude_account_ids": "exclude_account_ids",
}
# Why a field has no place in the resource.
UNMAPPED_REASONS: Mapping[str, str] = {
    "regions": "orgsync scans these regions; the product takes one Region",
    "refresh_intervals": "orgsync's per-type refresh schedule",
    "member_role_name": "the role orgsync assumes in member accounts; the product's connector sets up its own",
    "external_id": "the ExternalId orgsync passes to sts:AssumeRole",
}
# The config file's key where it differs from the dataclass field.
TOML_KEYS: Mapping[str, str] = {"kind": "type", "refresh_intervals": "refresh_minutes"}


def resource_label(name: str, taken: Iterable[str] = ()) -> str:
    """A Terraform identifier for the integration: letters, digits and `_`, never a leading digit."""
    label = re.sub(r"[^A-Za-z0-9_]", "_", name).lower()
    if not label or label[0].isdigit():
        label = f"integration_{label}"
    used = set(taken)
    candidate, n = label, 2
    while candidate in used:
        candidate, n = f"{label}_{n}", n + 1
    return candidate


def connected_resource_type(kind: str, resource_type: str) -> str:
    """`ec2:instance` in an aws-account integration is `aws-account-ec2-instance` for the product."""
    return f"{kind}-{resource_type.replace(':', '-')}"


def _config_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)  # the UI's comma-separated form
    return str(value)


def _set(value: Any) -> bool:
    return value is not None and value != () and value != {}


def integration_config(integration: Integration) -> dict[str, str]:
    fields = dataclasses.asdict(integration)
    return {key: _config_value(fields[field]) for field, key in CONFIG_KEYS.items()
            if field in fields and _set(fields[field])}


def _top_level(integration: Integration) -> list[Attribute]:
    out: list[Attribute] = []
    if integration.custom_access_details is not None:
        out.append(Attribute("custom_access_details", integration.custom_access_details))
    if integration.integration_owner is not None:
        owner: dict[str, Value] = {"type": integration.integration_owner.attribute,
                                   "values": list(integration.integration_owner.values)}
        out.append(Attribute("owner", owner))
    if integration.resource_owner is not None:
        mapping: dict[str, Value] = {"key_name": integration.resource_owner.tag_key,
                                     "attribute_type": integration.resource_owner.attribute}
        out.append(Attribute("owners_mapping", mapping))
    return out


def _toml(value: Any) -> str:
    """A setting's value as written in the config file, for the comment of unmapped settings."""
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{quote(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    return str(value)


def unmapped_settings(integration: Integration) -> list[tuple[str, str | None, str]]:
    """(config key, value or None when unset, reason) of every field the resource cannot hold."""
    out = []
    for f in dataclasses.fields(integration):
        if f.name in TOP_LEVEL or f.name in CONFIG_KEYS:
            continue
        reason = UNMAPPED_REASONS.get(f.name, "no matching attribute in the resource")
        value = getattr(integration, f.name)
        out.append((TOML_KEYS.get(f.name, f.name), _toml(value) if _set(value) else None, reason))
    return out


def integration_items(integration: Integration, label: str, connector_id: str | None) -> list[Item]:
    notes: list[Item] = [
        Comment(f'orgsync integration "{integration.name}" ({integration.kind}) as {RESOURCE_TYPE}.'),
        Comment("Settings with no place in the resource (kept here for reference):"),
        *(Comment(f"  {key} = {value}  # {reason}" if value is not None else f"  {key}: not set  # {reason}")
          for key, value, reason in unmapped_settings(integration)),
    ]
    if isinstance(integration, AccountIntegration) and integration.aws_profile is None:
        notes.append(Comment('aws_profile is not set: orgsync uses the SDK default credentials, the product "apono".'))
    items: list[Item] = [*notes, Blank()]
    if connector_id is None:
        variable = f"{label}_connector_id"
        items.append(Block("variable", (variable,), (
            Attribute("description", f"PLACEHOLDER: the Apono connector ID for integration {integration.name} "
                                     "(not in the orgsync config; set it, or pass --connector-id)"),
            Attribute("type", Ref("string")),
        )))
        items.append(Blank())
        connector: Value = Ref(f"var.{variable}")
    else:
        connector = connector_id
    body: list[Item] = [
        Attribute("name", integration.name),
        Attribute("type", integration.kind),
        Attribute("connector_id", connector),
        Attribute("connected_resource_types",
                  [connected_resource_type(integration.kind, t) for t in integration.resource_types]),
        Attribute("integration_config", dict(integration_config(integration))),
        *_top_level(integration),
    ]
    items.append(Block("resource", (RESOURCE_TYPE, label), tuple(body)))
    return items


def render_integrations(integrations: Iterable[Integration], connector_id: str | None = None) -> str:
    """The View as Code of each integration, in config order, separated by a blank line."""
    items: list[Item] = [Comment("Generated by `orgsync terraform` (View as Code)."), Blank()]
    labels: list[str] = []
    for n, integration in enumerate(integrations):
        label = resource_label(integration.name, labels)
        labels.append(label)
        if n:
            items.append(Blank())
        items.extend(integration_items(integration, label, connector_id))
    return render(items)
