"""`orgsync status [CONFIG]`: each integration's state as the product shows it."""

from __future__ import annotations

import click

from catalog.connect import open_reader
from sync.cli.app import catalog_option, main, user_errors
from sync.cli.output import FORMATS, render
from sync.config import load_config
from sync.sources.registry import supported_types

_STATUS_SQL = """
SELECT i.name AS integration, i.kind, i.status, i.status_reason, r.sync_id AS last_sync, r.status AS last_sync_status,
       r.finished_at AS last_sync_at, i.last_complete_sync_id,
       (SELECT count(*) FROM current_resources c WHERE c.integration = i.name) AS resources,
       (SELECT count(*) FROM accounts a WHERE a.integration = i.name AND a.status = 'selected') AS accounts,
       r.scopes_failed, r.scopes_skipped, r.accounts_failed
FROM integrations i LEFT JOIN sync_runs r ON r.sync_id = i.last_sync_id
ORDER BY i.name
"""


@main.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@catalog_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@user_errors
def status(config: str | None, catalog_path: str, fmt: str) -> None:
    """Per integration: initializing (no complete sync yet), active, or error; last sync and counts.

    With CONFIG, integrations that were never synced are listed too, as initializing.
    """
    rows: list[tuple[object, ...]] = []
    columns: list[str] = []
    with open_reader(catalog_path) as con:
        cursor = con.execute(_STATUS_SQL)
        columns = [d[0] for d in cursor.description or ()]
        rows = cursor.fetchall()
    if config:
        known = {row[0] for row in rows}
        for integration in load_config(config, supported_types=supported_types()).integrations:
            if integration.name not in known:
                rows.append((integration.name, integration.kind, "initializing", "never synced")
                            + (None,) * (len(columns) - 4))
    click.echo(render(columns, rows, fmt))
