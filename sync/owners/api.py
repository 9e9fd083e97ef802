"""The owner API of the access-flow layer: who approves access to a resource, and what to show.

    from sync.owners import resolve_owners, resolve_many, access_details

    resolution = resolve_owners("arn:aws:ec2:...", catalog="orgsync.duckdb")
    resolution.source, [a.email for a in resolution.approvers], resolution.problems

`catalog` is a catalog path (opened read-only for the call) or an open DuckDB connection (for a
long-lived service that keeps one). Each call is one SQL query whatever the number of ARNs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import duckdb
import orjson
import pyarrow as pa

from catalog.connect import default_catalog_path, open_reader
from catalog.identity import missing_identity_tables
from catalog.sql import execute
from sync.owners.model import (
    AccessDetails,
    Approver,
    OwnerProblem,
    OwnerResolution,
    OwnerSource,
    portal_console_link,
)
from sync.owners.sql import SOURCE_NONE, SOURCE_TAG, with_stages

CatalogRef = str | os.PathLike[str] | duckdb.DuckDBPyConnection | None


class ResourceNotFound(LookupError):
    """The ARN is not a current resource of the catalog (never synced, or deleted)."""


class AmbiguousResource(LookupError):
    """The ARN belongs to several integrations: name the one meant with `integration=`."""


@contextmanager
def _connection(catalog: CatalogRef) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(catalog, duckdb.DuckDBPyConnection):
        yield catalog
        return
    with open_reader(os.fspath(catalog) if catalog is not None else default_catalog_path()) as con:
        yield con


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, arns: Sequence[str]) -> Iterator[str]:
    # A unique name: a caller may share one connection between several resolutions.
    name = f"wanted_arns_{uuid.uuid4().hex}"
    con.register(name, pa.table({"arn": pa.array(arns, pa.string())}))
    try:
        yield name
    finally:
        con.unregister(name)


def _scoped(table: str) -> str:
    return ("SELECT integration, arn, account_id, region, resource_type, owner_tag_value FROM current_resources "
            f"WHERE arn IN (SELECT arn FROM {table}) AND ($integration IS NULL OR integration = $integration)")


# Resources sharing an owner tag value share one approver set: each set travels once (on its
# first resource) and becomes Python objects once, which is most of the cost of a large batch.
_RESOLVE = f"""
SELECT s.integration, s.arn, s.account_id, s.region, s.resource_type, s.owner_source, s.attribute,
       s.tag_key, s.tag_value, s.problems,
       CASE WHEN row_number() OVER (PARTITION BY s.integration, s.owner_source, x.tag_value ORDER BY s.arn) = 1
            THEN x.approvers END AS approvers
FROM resource_owner_summary s
LEFT JOIN (SELECT a.integration, a.origin, a.tag_value,
                  list({{'user_id': a.user_id, 'user_name': u.user_name, 'display_name': u.display_name,
                        'email': u.primary_email, 'direct': a.direct, 'via_groups': a.via_groups,
                        'matched_values': a.matched_values}}) AS approvers
           FROM owner_approvers a JOIN idp_users u ON u.integration = a.integration AND u.user_id = a.user_id
           GROUP BY ALL) x
  ON x.integration = s.integration AND s.owner_source <> '{SOURCE_NONE}'
 AND x.origin = CASE s.owner_source WHEN '{SOURCE_TAG}' THEN 'tag' ELSE 'integration-owner' END
 AND x.tag_value = CASE s.owner_source WHEN '{SOURCE_TAG}' THEN s.tag_value ELSE '' END
ORDER BY s.arn, s.integration
"""

ApproverSetKey = tuple[str, str, str | None]  # (integration, owner source, tag value for the tag rule)


def _set_key(row: tuple[Any, ...]) -> ApproverSetKey:
    source, tag_value = row[5], row[8]
    return row[0], source, tag_value if source == SOURCE_TAG else None


def _approvers(items: list[dict[str, Any]]) -> tuple[Approver, ...]:
    # Sorted here, not in SQL: an ordered list() aggregate was most of a 10,000-ARN query's time.
    approvers = (
        Approver(user_id=a["user_id"], user_name=a["user_name"], display_name=a["display_name"], email=a["email"],
                 direct=bool(a["direct"]), via_groups=tuple(a["via_groups"] or ()),
                 matched_values=tuple(a["matched_values"] or ()))
        for a in items
    )
    return tuple(sorted(approvers, key=lambda a: ((a.user_name or a.user_id).lower(), a.user_id)))


def _resolution(row: tuple[Any, ...], sets: dict[ApproverSetKey, tuple[Approver, ...]]) -> OwnerResolution:
    (integration, arn, account_id, region, resource_type, source, attribute, tag_key, tag_value, problems, _) = row
    return OwnerResolution(
        arn=arn, integration=integration, account_id=account_id, region=region, resource_type=resource_type,
        source=cast(OwnerSource, source), attribute=attribute, tag_key=tag_key, tag_value=tag_value,
        approvers=sets.get(_set_key(row), ()) if source != SOURCE_NONE else (),
        problems=tuple(OwnerProblem(code=p["code"], value=p["value"]) for p in problems or ()),
    )


def _resolutions(rows: list[tuple[Any, ...]]) -> list[OwnerResolution]:
    sets = {_set_key(row): _approvers(row[10]) for row in rows if row[10] is not None}
    return [_resolution(row, sets) for row in rows]


def _unique(arns: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(arns))


def resolve_many(arns: Iterable[str], *, catalog: CatalogRef = None,
                 integration: str | None = None) -> dict[str, OwnerResolution]:
    """Resolve many resources in one query: {arn: resolution}.

    ARNs that are not current resources of the catalog are absent from the result. An ARN found
    in several integrations raises AmbiguousResource unless `integration` names one.
    """
    wanted = _unique(arns)
    if not wanted:
        return {}
    with _connection(catalog) as con, _registered(con, wanted) as table:
        sql = with_stages(_RESOLVE, resources=_scoped(table), missing=missing_identity_tables(con))
        rows = execute(con, sql, {"integration": integration})
    found: dict[str, OwnerResolution] = {}
    clashes: dict[str, list[str]] = {}
    for resolution in _resolutions(rows):
        if resolution.arn in found:
            clashes.setdefault(resolution.arn, [found[resolution.arn].integration]).append(resolution.integration)
        found[resolution.arn] = resolution
    if clashes:
        arn, names = next(iter(clashes.items()))
        raise AmbiguousResource(f"{arn} is in integrations {', '.join(names)}; pass integration= to choose"
                                + (f" ({len(clashes) - 1} more ARNs alike)" if len(clashes) > 1 else ""))
    return found


def resolve_owners(arn: str, *, catalog: CatalogRef = None, integration: str | None = None) -> OwnerResolution:
    """Resolve one resource; raises ResourceNotFound or AmbiguousResource."""
    found = resolve_many([arn], catalog=catalog, integration=integration)
    if arn not in found:
        where = f" in integration {integration!r}" if integration else ""
        raise ResourceNotFound(f"{arn} is not a current resource of the catalog{where}")
    return found[arn]


def access_details(arn: str, *, catalog: CatalogRef = None, integration: str | None = None,
                   role_name: str | None = None) -> AccessDetails:
    """The integration's custom access details and, for an organization, the portal sign-in link.

    `role_name` (a permission set name) is added to the link when given.
    """
    with _connection(catalog) as con:
        rows = execute(con, """
            SELECT r.integration, i.kind, r.account_id, i.settings FROM current_resources r
            JOIN integrations i ON i.name = r.integration
            WHERE r.arn = $arn AND ($integration IS NULL OR r.integration = $integration)
            ORDER BY r.integration""", {"arn": arn, "integration": integration})
    if not rows:
        raise ResourceNotFound(f"{arn} is not a current resource of the catalog")
    if len(rows) > 1:
        raise AmbiguousResource(f"{arn} is in integrations {', '.join(r[0] for r in rows)}; pass integration=")
    name, kind, account_id, settings = rows[0]
    parsed: dict[str, Any] = orjson.loads(settings) if settings else {}
    portal = parsed.get("sso_portal") if kind == "aws-organization" else None
    return AccessDetails(
        arn=arn, integration=name, kind=kind, account_id=account_id,
        custom_access_details=parsed.get("custom_access_details"), sso_portal=portal,
        sign_in_url=portal_console_link(portal, account_id, role_name=role_name) if portal else None,
    )


@dataclass(frozen=True)
class UnresolvedGroup:
    """Resources of one account and type that fall back or resolve to nobody, for one reason."""

    integration: str
    account_id: str
    account_name: str | None
    resource_type: str
    owner_source: OwnerSource
    problem: str | None  # the code of the first problem
    resources: int
    problem_values: tuple[str, ...]  # up to 5 values the problem is about (unknown owners, ...)
    example_arns: tuple[str, ...]  # up to 3


_UNRESOLVED = f"""
SELECT s.integration, s.account_id, any_value(a.name) AS account_name, s.resource_type, s.owner_source,
       s.problems[1].code AS problem, count(*) AS resources,
       list_sort(list_distinct(list(s.problems[1].value)))[1:5] AS problem_values,
       list(s.arn ORDER BY s.arn)[1:3] AS example_arns
FROM resource_owner_summary s
LEFT JOIN accounts a ON a.integration = s.integration AND a.account_id = s.account_id
WHERE s.owner_source <> '{SOURCE_TAG}'
GROUP BY s.integration, s.account_id, s.resource_type, s.owner_source, s.problems[1].code
ORDER BY s.integration, s.account_id, s.resource_type, s.owner_source, problem NULLS FIRST
"""


def unresolved(*, catalog: CatalogRef = None, integration: str | None = None) -> list[UnresolvedGroup]:
    """Resources that fall back to the integration owner or resolve to nobody, by account and type."""
    resources = ("SELECT integration, arn, account_id, region, resource_type, owner_tag_value FROM current_resources "
                 "WHERE $integration IS NULL OR integration = $integration")
    with _connection(catalog) as con:
        sql = with_stages(_UNRESOLVED, resources=resources, missing=missing_identity_tables(con))
        rows = execute(con, sql, {"integration": integration})
    return [
        UnresolvedGroup(integration=r[0], account_id=r[1], account_name=r[2], resource_type=r[3],
                        owner_source=cast(OwnerSource, r[4]), problem=r[5], resources=int(r[6]),
                        problem_values=tuple(v for v in r[7] if v is not None), example_arns=tuple(r[8]))
        for r in rows
    ]
