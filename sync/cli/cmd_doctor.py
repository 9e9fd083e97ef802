"""`orgsync doctor [CONFIG]`: read-only checks of what a sync needs, with evidence and fixes."""

from __future__ import annotations

import asyncio
import sys

import click

from sync.cli.app import catalog_option, main, split_csv, user_errors
from sync.config import load_config
from sync.doctor.model import exit_code
from sync.doctor.report import as_json, as_table
from sync.doctor.run import CATEGORIES, DoctorOptions, diagnose
from sync.sources.registry import supported_types


@main.command()
@click.argument("config", required=False, default="orgsync.toml", type=click.Path(dir_okay=False))
@click.option("--integration", "integration_name", default=None, help="Only this integration (default: every one).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@catalog_option
@click.option("--checks", "checks", multiple=True,
              help=f"Comma-separated categories to run: {', '.join(CATEGORIES)} (default: all).")
@click.option("--aggregator-region", default=None,
              help="Where the aggregator index should be when the management account has none "
                   "(default: the integration's region).")
@click.option("--view-pages", type=click.IntRange(1, 10_000), default=40, show_default=True,
              help="ListResources pages per resource type when comparing the view with the last sync.")
@user_errors
def doctor(config: str, integration_name: str | None, fmt: str, catalog_path: str, checks: tuple[str, ...],
           aggregator_region: str | None, view_pages: int) -> None:
    """Check credentials, roles, Resource Explorer, SCPs and the product's prerequisites (read-only).

    Each check is ok, warning or error, with the affected accounts and regions, the AWS call and
    error code behind it, and the fix. Exit code: 0 all ok, 1 warnings, 2 errors. The last sync in
    --catalog (when the file exists) adds its SCP denies and the counts the view is compared with.
    """
    wanted = split_csv(checks) or frozenset(CATEGORIES)
    unknown = sorted(wanted - set(CATEGORIES))
    if unknown:
        raise click.BadParameter(f"unknown check categories {unknown}; known: {', '.join(CATEGORIES)}",
                                 param_hint="--checks")
    integrations = load_config(config, supported_types=supported_types()).select(integration_name)
    options = DoctorOptions(categories=wanted, catalog_path=catalog_path, aggregator_region=aggregator_region,
                            view_pages=view_pages)
    runs = [(i.name, asyncio.run(diagnose(i, options))) for i in integrations]
    click.echo(as_json(runs) if fmt == "json" else as_table(runs))
    sys.exit(max((exit_code(results) for _, results in runs), default=0))
