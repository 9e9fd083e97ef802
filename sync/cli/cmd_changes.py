"""`orgsync changes --since TIME|SYNC_ID`: what the syncs added, modified, deleted and restored.

It runs the named query queries/changes.sql, so `orgsync query changes -p since=...` answers the
same; this command adds repeatable filters, a row limit and a clear error for a bad --since.
"""

from __future__ import annotations

import re

import click
import duckdb

from catalog.connect import open_reader
from queries import named_queries
from sync.cli.app import UserError, catalog_option, main, split_csv, user_errors
from sync.cli.output import FORMATS, render

CHANGES = ("added", "modified", "deleted", "restored")
DEFAULT_LIMIT = 1000

_AGE = re.compile(r"^\d+\s*(s|m|h|d|w|sec|min|hours?|days?|weeks?|minutes?|seconds?)$", re.IGNORECASE)
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}([ T].*)?$")


def _check_since(since: str) -> str:
    since = since.strip()
    if since.isdigit() or _AGE.match(since) or _TIME.match(since):
        return since
    raise UserError(f"--since {since!r}: give a sync id (42), a time (2026-01-31, 2026-01-31T12:00:00Z) "
                    "or an age (30m, 12h, 7d)")


def _csv(values: tuple[str, ...]) -> str | None:
    items = split_csv(values)
    return ",".join(sorted(items)) if items else None


@main.command()
@click.option("--since", required=True,
              help="A sync id (changes by later syncs), a time (2026-01-31T12:00:00Z; UTC unless given) "
                   "or an age (30m, 12h, 7d).")
@click.option("--integration", default=None, help="Only this integration.")
@click.option("--account", "accounts", multiple=True, help="Only these account IDs (comma-separated, repeatable).")
@click.option("--type", "types", multiple=True, help="Only these resource types (comma-separated, repeatable).")
@click.option("--change", "changes", multiple=True, type=click.Choice(CHANGES),
              help="Only these kinds of change (repeatable).")
@click.option("--limit", type=click.IntRange(min=0), default=DEFAULT_LIMIT, show_default=True,
              help="At most this many rows (0: all).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@catalog_option
@user_errors
def changes(since: str, integration: str | None, accounts: tuple[str, ...], types: tuple[str, ...],
            changes: tuple[str, ...], limit: int, fmt: str, catalog_path: str) -> None:
    """Resources added, modified, deleted or restored by syncs since a sync or a time.

    Modified rows show the owner before and after and what changed in the tags
    ({"added": {...}, "removed": {...}, "changed": {"key": [old, new]}}).
    """
    query = named_queries()["changes"]
    params = query.bind({"since": _check_since(since)})
    params.update(integration=integration, account=_csv(accounts), type=_csv(types),
                  change=",".join(changes) if changes else None)
    with open_reader(catalog_path) as con:
        try:
            cursor = con.execute(query.sql, params)
            columns = [d[0] for d in cursor.description or ()]
            rows = cursor.fetchall() if limit == 0 else cursor.fetchmany(limit + 1)
        except duckdb.Error as exc:
            raise UserError(f"changes: {exc}") from exc
    more = limit and len(rows) > limit
    click.echo(render(columns, rows[:limit] if more else rows, fmt))
    if more:
        click.echo(f"orgsync: more than {limit} changes; showing the first {limit} (--limit 0 shows all)", err=True)
