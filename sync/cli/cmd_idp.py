"""`orgsync idp sync CONFIG`: load each integration's identity directory into the catalog."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import asdict

import click
import orjson

from sync.cli.app import (
    EXIT_OK,
    EXIT_PARTIAL,
    UserError,
    catalog_option,
    main,
    user_errors,
)
from sync.config import Integration, load_config
from sync.owners.directory import Directory, DirectoryError
from sync.owners.identity_store import IdentityStoreNotFound
from sync.owners.idp_file import load_directory_file
from sync.owners.idp_sync import (
    IdpSourceError,
    IdpSyncResult,
    commit_directory,
    fetch_identity_store,
    identity_store_region,
    sync_result,
)
from sync.sources.registry import supported_types


@main.group()
def idp() -> None:
    """The identity directory (IdP users, groups, memberships) that owner resolution looks owners up in."""


def _read(integration: Integration, file_path: str | None, store_id: str | None,
          max_attempts: int) -> tuple[Directory, int]:
    if file_path is not None:
        try:
            return load_directory_file(file_path), 0
        except DirectoryError as exc:
            raise UserError(f"IdP file {exc.where}:\n  " + "\n  ".join(exc.problems)) from exc
    try:
        directory, stats = asyncio.run(fetch_identity_store(integration, identity_store_id=store_id,
                                                            max_attempts=max_attempts))
    except IdentityStoreNotFound as exc:
        raise UserError(f"integration {integration.name!r}: {exc}") from exc
    return directory, stats.api_calls


def _line(result: IdpSyncResult) -> str:
    where = f" {result.source_ref}" if result.source_ref else ""
    text = (f"{result.integration}: {result.users} users, {result.groups} groups, {result.memberships} memberships "
            f"from {result.source}{where} ({result.api_calls} API calls, {result.seconds}s)")
    return "\n".join([text] + [f"  warning: {w}" for w in result.warnings])


@idp.command("sync")
@click.argument("config", type=click.Path(dir_okay=False))
@catalog_option
@click.option("--integration", "integration_name", default=None, help="Only this integration.")
@click.option("--file", "file_path", type=click.Path(dir_okay=False), default=None,
              help="Read the directory from a JSON or CSV export instead of the Identity Store (docs/owners.md).")
@click.option("--identity-store-id", "store_id", default=None,
              help="The Identity Store to read (d-...); default: the one sso-admin ListInstances finds in the "
                   "SSO region.")
@click.option("--max-attempts", type=click.IntRange(1, 20), default=8, show_default=True,
              help="Attempts per API call for throttling and server errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@user_errors
def idp_sync(config: str, catalog_path: str, integration_name: str | None, file_path: str | None,
             store_id: str | None, max_attempts: int, as_json: bool) -> None:
    """Replace each integration's directory in the catalog (one transaction per integration).

    Source: IAM Identity Center's Identity Store in the organization's SSO region (an account
    integration: its region and profile), or --file. Exit code 1 when a directory could not be
    read from AWS (that integration's previous directory is kept), 2 for usage errors.
    """
    if file_path is not None and store_id is not None:
        raise UserError("--file and --identity-store-id exclude each other")
    integrations = load_config(config, supported_types=supported_types()).select(integration_name)
    exit_code = EXIT_OK
    results: list[IdpSyncResult] = []
    for integration in integrations:
        started = time.monotonic()
        try:
            directory, calls = _read(integration, file_path, store_id, max_attempts)
            counts = commit_directory(catalog_path, integration.name, directory)
        except (IdpSourceError, DirectoryError) as exc:
            # The previous directory stays: nothing was written for this integration.
            source = file_path or f"the Identity Store in {identity_store_region(integration)}"
            click.echo(f"{integration.name}: identity directory not synced from {source}: {exc}", err=True)
            exit_code = EXIT_PARTIAL
            continue
        results.append(sync_result(integration.name, directory, counts, calls, started))
        if not as_json:
            click.echo(_line(results[-1]))
    if as_json:
        click.echo(orjson.dumps([asdict(r) for r in results], option=orjson.OPT_INDENT_2).decode())
    sys.exit(exit_code)
