"""`orgsync prune --keep-days N`: drop history older than N days; current resources are never touched."""

from __future__ import annotations

from pathlib import Path

import click

from catalog.connect import CatalogMissing
from catalog.prune import PRUNED_WHAT
from catalog.prune import prune as prune_catalog
from sync.cli.app import catalog_option, main, user_errors
from sync.cli.output import FORMATS, render

@main.command()
@click.option("--keep-days", type=click.IntRange(min=0), required=True,
              help="Keep history of the last N days; remove what is older.")
@click.option("--deleted-too", is_flag=True,
              help="Also remove resources that were deleted more than N days ago (never current ones).")
@click.option("--dry-run", is_flag=True, help="Report what would be removed; change nothing.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@catalog_option
@user_errors
def prune(keep_days: int, deleted_too: bool, dry_run: bool, fmt: str, catalog_path: str) -> None:
    """Remove change history, old sync runs and their scope results older than --keep-days.

    Current resources are never removed, nor the runs an integration's status refers to (its
    last sync and last complete sync). Resources deleted before the cutoff go only with
    --deleted-too. The catalog file does not shrink; DuckDB reuses the space.
    """
    if not Path(catalog_path).exists():
        raise CatalogMissing(f"no catalog at {catalog_path}")
    report = prune_catalog(catalog_path, keep_days, deleted_too=deleted_too, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    rows = [(table, PRUNED_WHAT[table], n) for table, n in report.removed.items()]
    click.echo(render(("table", "what", verb), rows, fmt))
    if fmt == "table":
        total = sum(report.removed.values())
        click.echo(f"{verb} {total} row(s) older than {report.cutoff.isoformat(timespec='seconds')}"
                   + ("" if deleted_too else "; deleted resources kept (--deleted-too removes them)"))
