"""`orgsync status [CONFIG]`: each integration's state as the product shows it."""

from __future__ import annotations

import click

from catalog.connect import open_reader
from sync.cli.app import catalog_option, main, user_errors
from sync.cli.output import FORMATS, render
from sync.config import load_config
from sync.sources.registry import supported_types

# `stale`: current rows kept although the last sync could not confirm them (their scope failed or
# was skipped, their account or the whole integration failed). They are not deleted; they are
# as old as `confirmed_at` in the stale_resources view.
_STATUS_SQL = """
WITH stale AS (SELECT integration, count(*) AS n FROM stale_resources GROUP BY integration)
SELECT i.name AS integration, i.kind, i.status, i.status_reason, r.sync_id AS last_sync, r.status AS last_sync_status,
       r.finished_at AS last_sync_at, i.last_complete_sync_id,
       (SELECT count(*) FROM current_resources c WHERE c.integration = i.name) AS resources,
       coalesce(stale.n, 0) AS stale,
       (SELECT count(*) FROM accounts a WHERE a.integration = i.name AND a.status = 'selected') AS accounts,
       r.scopes_failed, r.scopes_skipped, r.accounts_failed
FROM integrations i LEFT JOIN sync_runs r ON r.sync_id = i.last_sync_id
LEFT JOIN stale ON stale.integration = i.name
ORDER BY i.name
"""

_STALE_SQL = """
SELECT integration, account_id, region, resource_type, stale_reason, error, min(confirmed_at) AS confirmed_at,
       count(*) AS resources
FROM stale_resources
GROUP BY ALL
ORDER BY integration, account_id, region, resource_type
"""


@main.command()
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@catalog_option
@click.option("--stale", "show_stale", is_flag=True,
              help="List the account x region x type scopes whose rows are stale, and why, instead.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@user_errors
def status(config: str | None, catalog_path: str, show_stale: bool, fmt: str) -> None:
    """Per integration: initializing (no complete sync yet), active, or error; last sync and counts.

    `stale` counts current resources the last sync could not confirm (scope failed or skipped,
    account or integration failed): they are kept as last seen, never deleted. With CONFIG,
    integrations that were never synced are listed too, as initializing.
    """
    rows: list[tuple[object, ...]] = []
    columns: list[str] = []
    with open_reader(catalog_path) as con:
        cursor = con.execute(_STALE_SQL if show_stale else _STATUS_SQL)
        columns = [d[0] for d in cursor.description or ()]
        rows = cursor.fetchall()
    if config and not show_stale:
        known = {row[0] for row in rows}
        for integration in load_config(config, supported_types=supported_types()).integrations:
            if integration.name not in known:
                rows.append((integration.name, integration.kind, "initializing", "never synced")
                            + (None,) * (len(columns) - 4))
    click.echo(render(columns, rows, fmt))
