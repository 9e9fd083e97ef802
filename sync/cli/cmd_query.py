"""`orgsync query "SQL" | NAME | --list`: read-only SQL over the catalog."""

from __future__ import annotations

import click
import duckdb

from catalog.connect import open_reader
from queries import named_queries
from sync.cli.app import UserError, catalog_option, main, user_errors
from sync.cli.output import FORMATS, render


def _params(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise UserError(f"--param {value!r}: expected NAME=VALUE")
        out[key.strip()] = val
    return out


@main.command()
@click.argument("sql_or_name", required=False)
@catalog_option
@click.option("--list", "list_queries", is_flag=True, help="List the named queries and their parameters.")
@click.option("--param", "-p", "params", multiple=True, help="NAME=VALUE for a named query (repeatable).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@user_errors
def query(sql_or_name: str | None, catalog_path: str, list_queries: bool, params: tuple[str, ...], fmt: str) -> None:
    """Run SQL, or a named query from queries/, against the catalog (opened read-only)."""
    queries = named_queries()
    if list_queries:
        rows = [(q.name, q.description, ", ".join(f"{p.name}{'' if p.default is None else '?'}" for p in q.params))
                for q in queries.values()]
        click.echo(render(("name", "answers", "params (? = optional)"), rows, fmt))
        return
    if not sql_or_name:
        raise UserError("give SQL or a query name (`orgsync query --list` shows the names)")
    named = queries.get(sql_or_name)
    try:
        bound = named.bind(_params(params)) if named else None
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if named is None and params:
        raise UserError("--param applies to named queries only")
    sql = named.sql if named else sql_or_name
    with open_reader(catalog_path) as con:
        try:
            cursor = con.execute(sql, bound) if bound is not None else con.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            raise UserError(f"query failed: {exc}") from exc
    click.echo(render(columns, rows, fmt))
