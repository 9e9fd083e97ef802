"""`orgsync terraform [CONFIG]`: View as Code, the integration as Terraform for the Apono provider."""

from __future__ import annotations

import click

from sync.cli.app import main, user_errors
from sync.config import load_config
from sync.sources.registry import supported_types
from sync.terraform import render_integrations


@main.command()
@click.argument("config", required=False, default="orgsync.toml", type=click.Path(dir_okay=False))
@click.option("--integration", "integration_name", default=None,
              help="Only this integration (default: every integration of CONFIG).")
@click.option("--connector-id", default=None,
              help="The Apono connector ID to put in connector_id (default: a placeholder variable to set).")
@user_errors
def terraform(config: str, integration_name: str | None, connector_id: str | None) -> None:
    """Print CONFIG's integrations (default orgsync.toml) as apono_resource_integration resources.

    Settings the resource cannot hold are listed in a comment; the output is `terraform fmt` clean.
    """
    integrations = load_config(config, supported_types=supported_types()).select(integration_name)
    click.echo(render_integrations(integrations, connector_id), nl=False)
