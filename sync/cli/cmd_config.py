"""`orgsync validate CONFIG` and `orgsync init --kind account|organization`."""

from __future__ import annotations

from pathlib import Path

import click

from sync.cli.app import UserError, main, user_errors
from sync.config import load_config, render_template
from sync.sources.registry import supported_types


@main.command()
@click.argument("config", type=click.Path(dir_okay=False))
@user_errors
def validate(config: str) -> None:
    """Check an integration config file; every problem is reported with its line and field."""
    loaded = load_config(config, supported_types=supported_types())
    for integration in loaded.integrations:
        regions = ", ".join(integration.regions) if integration.regions else "every enabled region"
        click.echo(f"ok: {integration.name} ({integration.kind}, {len(integration.resource_types)} "
                   f"resource types, {regions})")


@main.command()
@click.option("--kind", type=click.Choice(["account", "organization"]), required=True,
              help="Which integration kind to write a template for.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of standard output (refuses to overwrite).")
@user_errors
def init(kind: str, output: str | None) -> None:
    """Write a commented config template for an AWS account or an AWS Organization."""
    text = render_template(kind)  # type: ignore[arg-type]
    if output is None:
        click.echo(text, nl=False)
        return
    path = Path(output)
    if path.exists():
        raise UserError(f"{output} exists already; not overwriting it")
    path.write_text(text)
    click.echo(f"wrote {output}; edit it, then run `orgsync validate {output}`", err=True)
