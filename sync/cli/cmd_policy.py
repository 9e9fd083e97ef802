"""`orgsync iam-policy [CONFIG]`: the least-privilege read-only IAM policy of one of orgsync's roles."""

from __future__ import annotations

import json

import click

from sync.cli.app import UserError, main, user_errors
from sync.config import Integration, load_config
from sync.policy import (
    ROLES,
    SOURCES,
    Grant,
    PolicyError,
    policy_document,
    role_grants,
    widest_integration,
)
from sync.sources.registry import service_specs, supported_types


@main.command("iam-policy")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option("--integration", "integration_name", default=None,
              help="Only this integration (default: every integration of CONFIG, merged).")
@click.option("--role", type=click.Choice(ROLES), default="connector", show_default=True,
              help="connector: the credentials orgsync starts with; management: the management-account role; "
                   "member: the role assumed in each member account.")
@click.option("--source", "sources", multiple=True, type=click.Choice(SOURCES),
              help="Discovery sources to allow (repeatable; default: both).")
@click.option("--with-doctor", is_flag=True, help="Add the read-only calls of `orgsync doctor`.")
@click.option("--kind", type=click.Choice(["account", "organization"]), default=None,
              help="Without CONFIG: the integration kind (default organization).")
@user_errors
def iam_policy(config: str | None, integration_name: str | None, role: str, sources: tuple[str, ...],
               with_doctor: bool, kind: str | None) -> None:
    """Print the least-privilege read-only IAM policy (JSON) a role needs for CONFIG's integrations.

    Derived from the calls each selected resource type makes plus the fixed discovery calls;
    without CONFIG it covers every supported resource type.
    """
    if config is None:
        if integration_name is not None:
            raise UserError("--integration needs CONFIG")
        integrations: tuple[Integration, ...] = (widest_integration(kind or "organization", supported_types()),)
    else:
        if kind is not None:
            raise UserError("--kind applies only without CONFIG (the config says each integration's kind)")
        integrations = load_config(config, supported_types=supported_types()).select(integration_name)
    grants: set[Grant] = set()
    refused: list[str] = []
    for integration in integrations:
        try:
            grants |= role_grants(integration, role, service_specs(),  # type: ignore[arg-type]
                                  sources=sources or SOURCES, with_doctor=with_doctor)
        except PolicyError as exc:
            refused.append(str(exc))
    if not grants:
        raise UserError("; ".join(refused) or f"no integration uses the {role} role")
    click.echo(json.dumps(policy_document(grants), indent=2))
