"""`orgsync owners ARN | --unresolved`: who approves access to a resource, and why."""

from __future__ import annotations

from dataclasses import asdict

import click
import orjson

from sync.cli.app import UserError, catalog_option, main, user_errors
from sync.cli.output import FORMATS, render
from sync.owners.api import (
    AmbiguousResource,
    ResourceNotFound,
    access_details,
    resolve_owners,
    unresolved,
)
from sync.owners.model import AccessDetails, OwnerResolution

_APPROVER_COLUMNS = ("user_name", "display_name", "email", "via", "matched")


def _approver_rows(resolution: OwnerResolution) -> list[tuple[object, ...]]:
    return [
        (a.user_name or a.user_id, a.display_name, a.email,
         ", ".join((["direct"] if a.direct else []) + [f"group {g}" for g in a.via_groups]),
         ", ".join(a.matched_values))
        for a in resolution.approvers
    ]


def _text(resolution: OwnerResolution, access: AccessDetails) -> str:
    tag = f"{resolution.tag_key}={resolution.tag_value!r}" if resolution.tag_key else "no resource owner tag key"
    lines = [
        resolution.arn,
        (f"  integration {resolution.integration}, account {resolution.account_id}, {resolution.region}, "
         f"{resolution.resource_type}"),
        f"  rule: {resolution.source} ({tag})",
        *(f"  {line}" for line in resolution.explain().splitlines()),
    ]
    if access.custom_access_details:
        lines.append(f"  access details: {access.custom_access_details}")
    if access.sign_in_url:
        lines.append(f"  sign-in link: {access.sign_in_url}")
    if resolution.approvers:
        lines.append(render(_APPROVER_COLUMNS, _approver_rows(resolution), "table", title="approvers"))
    return "\n".join(lines)


@main.command()
@click.argument("arn", required=False)
@click.option("--unresolved", "show_unresolved", is_flag=True,
              help="List resources that fall back to the integration owner or resolve to nobody, by account and type.")
@click.option("--integration", "integration_name", default=None,
              help="The integration the ARN belongs to (needed when several sync it); filters --unresolved.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table or json for an ARN; table, json or csv for --unresolved.")
@catalog_option
@user_errors
def owners(arn: str | None, show_unresolved: bool, integration_name: str | None, fmt: str,
           catalog_path: str) -> None:
    """Show who approves access to ARN, by which rule, and the problems found on the way.

    Approvers come from the resource's owner tag looked up in the identity directory (see
    `orgsync idp sync`), else from the integration owner. Reads the catalog only.
    """
    if show_unresolved == (arn is not None):
        raise UserError("give either an ARN or --unresolved")
    if show_unresolved:
        groups = unresolved(catalog=catalog_path, integration=integration_name)
        columns = ("integration", "account_id", "account_name", "resource_type", "owner_source", "problem",
                   "resources", "problem_values", "example_arns")
        rows = [tuple(list(v) if isinstance(v, tuple) else v for v in asdict(g).values()) for g in groups]
        click.echo(render(columns, rows, fmt, title="resources without a resource owner"))
        return
    assert arn is not None  # checked above; narrows the type
    if fmt == "csv":
        raise UserError("--format csv applies to --unresolved only; use table or json for an ARN")
    try:
        resolution = resolve_owners(arn, catalog=catalog_path, integration=integration_name)
        access = access_details(arn, catalog=catalog_path, integration=resolution.integration)
    except (ResourceNotFound, AmbiguousResource) as exc:
        raise UserError(str(exc)) from exc
    if fmt == "json":
        data = {**asdict(resolution), "explanation": resolution.explain(), "access": asdict(access)}
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(_text(resolution, access))
