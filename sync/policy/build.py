"""The least-privilege, read-only IAM policy of each role orgsync uses: pure functions.

Roles: the *connector* (the credentials orgsync starts with), the *management* role (the
management account's role that walks the organization and assumes the member roles) and the
*member* role (assumed in every member account). An aws-account integration has only the
connector. An organization integration without management_account_role_arn runs the management
side with the connector's own credentials, so its connector needs the management policy.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sync.config import (
    AccountIntegration,
    Integration,
    IntegrationOwner,
    OrganizationIntegration,
    ResourceOwner,
)
from sync.policy.fixed_actions import FIXED_ACTIONS, Feature, FixedAction, ResourceRef
from sync.sources.model import partition_for
from sync.sources.spec import ServiceSpec

Role = Literal["connector", "member", "management"]
ROLES: tuple[Role, ...] = ("connector", "member", "management")
SOURCES = ("services", "explorer")
POLICY_VERSION = "2012-10-17"


class PolicyError(ValueError):
    """The requested role does not exist for the integration."""


@dataclass(frozen=True, order=True)
class Grant:
    action: str  # "service:Operation"
    resource: str  # "*" or an ARN (pattern)

    @property
    def service(self) -> str:
        return self.action.split(":", 1)[0]


@dataclass(frozen=True)
class RolePlan:
    """What a role does: the fixed features it uses and whether it lists resources itself."""

    features: frozenset[Feature]
    lists_resources: bool


def plan_role(integration: Integration, role: Role, *, sources: Collection[str], with_doctor: bool) -> RolePlan:
    listing: set[Feature] = set()
    if integration.regions is None:
        listing.add("regions")
    # The doctor's Resource Explorer checks use the same read calls as the explorer source.
    if "explorer" in sources or with_doctor:
        listing.add("explorer")
    if with_doctor:
        listing.add("doctor")
    owners: set[Feature] = {"owners"} if integration.integration_owner or integration.resource_owner else set()
    lists = "services" in sources
    if isinstance(integration, AccountIntegration):
        if role != "connector":
            raise PolicyError(f"integration '{integration.name}' is an aws-account integration: it has only "
                              "the connector role")
        return RolePlan(frozenset({"identity", *listing, *owners}), lists)
    management: set[Feature] = {"organization", "assume-member-role", *listing, *owners}
    if with_doctor:
        management.add("identity")  # the doctor reports which principal the management side runs as
    if role == "member":
        return RolePlan(frozenset(listing), lists)
    if role == "management":
        return RolePlan(frozenset(management), lists)
    if integration.management_account_role_arn:
        return RolePlan(frozenset({"identity", "assume-management-role"}), False)
    return RolePlan(frozenset(management | {"identity"}), lists)


def widest_integration(kind: str, resource_types: tuple[str, ...]) -> Integration:
    """The integration a policy without a config is for: every given type, every region, owner
    resolution on, the default member role."""
    name, region = "any", "us-east-1"
    owner = IntegrationOwner(attribute="group", values=("owners",))
    tag = ResourceOwner(tag_key="owner", attribute="group")
    if kind == "account":
        return AccountIntegration(name=name, kind="aws-account", region=region, regions=None,
                                  resource_types=resource_types, integration_owner=owner, resource_owner=tag)
    return OrganizationIntegration(name=name, kind="aws-organization", region=region, regions=None,
                                   resource_types=resource_types, integration_owner=owner, resource_owner=tag,
                                   sso_region=region, sso_portal="https://example.awsapps.com/start")


def _resource(ref: ResourceRef, integration: Integration) -> str:
    if ref == "*":
        return "*"
    if not isinstance(integration, OrganizationIntegration):
        raise PolicyError(f"{ref} applies only to aws-organization integrations")
    if ref == "member-role":
        return f"arn:{partition_for(integration.region)}:iam::*:role/{integration.member_role_name}"
    if not integration.management_account_role_arn:
        raise PolicyError("no management_account_role_arn to assume")
    return integration.management_account_role_arn


def type_actions(resource_types: Iterable[str], specs: Mapping[str, ServiceSpec]) -> frozenset[str]:
    return frozenset(action for t in resource_types for action in specs[t].actions)


def role_grants(
    integration: Integration,
    role: Role,
    specs: Mapping[str, ServiceSpec],
    *,
    sources: Collection[str] = SOURCES,
    with_doctor: bool = False,
    fixed: Iterable[FixedAction] = FIXED_ACTIONS,
) -> frozenset[Grant]:
    plan = plan_role(integration, role, sources=sources, with_doctor=with_doctor)
    grants = {Grant(f.action, _resource(f.resource, integration)) for f in fixed if f.feature in plan.features}
    if plan.lists_resources:
        grants |= {Grant(a, "*") for a in type_actions(integration.resource_types, specs)}
    return frozenset(grants)


def _sid(service: str, scoped_actions: Iterable[str] = ()) -> str:
    words = re.split(r"[^A-Za-z0-9]+", service) + [a.split(":", 1)[1] for a in scoped_actions]
    return "".join(w[:1].upper() + w[1:] for w in words if w)


def policy_document(grants: Iterable[Grant]) -> dict[str, Any]:
    """One statement per service (Sid = the service); actions limited to specific resources
    (sts:AssumeRole on role ARNs) get a statement of their own, named after the action."""
    resources: dict[str, set[str]] = defaultdict(set)
    for grant in grants:
        resources[grant.action].add(grant.resource)
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for action, found in resources.items():
        # An action granted on "*" anywhere needs no narrower resource next to it.
        key = ("*",) if "*" in found else tuple(sorted(found))
        groups[(action.split(":", 1)[0], key)].append(action)
    statements = []
    for (service, res), actions in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] != ("*",), kv[0][1])):
        statements.append({
            "Sid": _sid(service) if res == ("*",) else _sid(service, sorted(actions)),
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": res[0] if len(res) == 1 else list(res),
        })
    return {"Version": POLICY_VERSION, "Statement": statements}
