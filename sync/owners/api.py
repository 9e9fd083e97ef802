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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

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


# The resources asked for, read once: the only pass over the resource table (a hash semi-join
# whose build side also filters the scan).
_WANTED = ("SELECT integration, arn, account_id, region, resource_type, owner_tag_value FROM current_resources "
           "WHERE arn IN (SELECT arn FROM {table}) AND ($integration IS NULL OR integration = $integration)")

# Everything in a resolution but the resource's own columns depends only on its integration and
# owner tag value, so the stages run once per distinct pair (an "outcome", ~2,500 for 10,000 ARNs
# of a large catalog), not per resource; the columns a resource row needs are NULL here.
_OUTCOME_KEYS = ("SELECT DISTINCT integration, NULL::VARCHAR AS arn, NULL::VARCHAR AS account_id, "
                 "NULL::VARCHAR AS region, NULL::VARCHAR AS resource_type, owner_tag_value FROM wanted")

_AFTER = (
    ("outcomes", "SELECT row_number() OVER () AS outcome, * FROM resource_owner_outcome"),
    # Outcomes that share approvers (every fallback shares the integration owner's) share one set.
    ("approver_sets", f"""
        SELECT row_number() OVER () AS approver_set, integration, approver_origin, approver_set AS set_value
        FROM (SELECT DISTINCT integration, approver_origin, approver_set FROM outcomes
              WHERE owner_source <> '{SOURCE_NONE}')"""),
)

# Three kinds of rows in one result (one statement, so one snapshot of the catalog): a row per
# resource naming its outcome, a row per outcome naming its approver set, a row per approver of
# each set. Flat columns: Arrow hands each over as one column, no nested Python objects; an
# approver's two lists travel as JSON text, which Python turns into one tuple per distinct list.
_RESOLVE = f"""
SELECT 'resource' AS part, w.integration, w.arn, w.account_id, w.region, w.resource_type, o.outcome
FROM wanted w JOIN outcomes o ON o.integration = w.integration AND o.owner_value IS NOT DISTINCT FROM w.owner_tag_value
UNION ALL BY NAME
SELECT 'outcome' AS part, o.outcome, o.owner_source, o.attribute, o.tag_key, o.tag_value, o.problems, s.approver_set
FROM outcomes o
LEFT JOIN approver_sets s ON s.integration = o.integration AND s.approver_origin = o.approver_origin
 AND s.set_value = o.approver_set AND o.owner_source <> '{SOURCE_NONE}'
UNION ALL BY NAME
SELECT 'approver' AS part, s.approver_set, a.user_id, u.user_name, u.display_name, u.primary_email AS email,
       a.direct, to_json(a.via_groups)::VARCHAR AS via_groups, to_json(a.matched_values)::VARCHAR AS matched_values
FROM approver_sets s
JOIN owner_approvers a ON a.integration = s.integration AND a.origin = s.approver_origin AND a.tag_value = s.set_value
JOIN idp_users u ON u.integration = a.integration AND u.user_id = a.user_id
"""


def resolution_table(con: duckdb.DuckDBPyConnection, arns: Sequence[str], integration: str | None) -> pa.Table:
    """The SQL half of resolve_many: the rows `resolutions` assembles (exposed for the benchmark)."""
    with _registered(con, arns) as table:
        sql = with_stages(_RESOLVE, resources=_OUTCOME_KEYS, missing=missing_identity_tables(con),
                          before=(("wanted", _WANTED.format(table=table)),), after=_AFTER,
                          materialized=frozenset({"wanted", "outcomes", "approver_sets"}))
        # A relation fetched whole into Arrow: nothing is left unread on the connection.
        return con.sql(sql, params={"integration": integration}).to_arrow_table()


def _columns(table: pa.Table, part: str, names: Sequence[str], order: Sequence[str] = ()) -> list[list[Any]]:
    rows = table.filter(pc.equal(table["part"], part))
    # Sorted by Arrow rather than by the query: an ORDER BY over the whole union (all three parts,
    # every column as payload) was 20 ms of the query; this is 2 ms.
    if order:
        rows = rows.sort_by([(name, "ascending") for name in order])
    return [rows[name].to_pylist() for name in names]


def _approver_order(approver: Approver) -> tuple[str, str]:
    return (approver.user_name or approver.user_id).lower(), approver.user_id


def _interned_lists() -> Callable[[str | None], tuple[str, ...]]:
    """JSON list text -> tuple, each distinct text parsed once.

    Most approvers share their group and value lists with others; parsing each distinct list
    once and sharing the tuple took building 19,000 approvers from 128 to 73 ms, most of the
    saving being garbage collector passes over objects that are no longer created.
    """
    seen: dict[str | None, tuple[str, ...]] = {None: ()}

    def get(text: str | None) -> tuple[str, ...]:
        found = seen.get(text)
        if found is None:
            found = seen[text] = tuple(orjson.loads(text or "[]") or ())
        return found

    return get


def _approver_sets(table: pa.Table) -> dict[int, tuple[Approver, ...]]:
    members: dict[int, list[Approver]] = {}
    lists = _interned_lists()
    columns = _columns(table, "approver", ("approver_set", "user_id", "user_name", "display_name", "email", "direct",
                                           "via_groups", "matched_values"))
    for set_id, user_id, user_name, display_name, email, direct, via_groups, matched in zip(*columns):
        members.setdefault(set_id, []).append(Approver(
            user_id=user_id, user_name=user_name, display_name=display_name, email=email, direct=bool(direct),
            via_groups=lists(via_groups), matched_values=lists(matched)))
    # Sorted here, not in SQL, so that the order is Python's lower() whatever the connection's collation.
    return {set_id: tuple(sorted(approvers, key=_approver_order)) for set_id, approvers in members.items()}


# The OwnerResolution fields an outcome fixes, in field order: source, attribute, tag_key,
# tag_value, approvers, problems. Passed positionally after the resource's five fields (arn,
# integration, account_id, region, resource_type): keyword arguments cost a third more on 10,000
# resolutions, and fields are only ever appended, so the positions hold.
Outcome = tuple[OwnerSource, str | None, str | None, str | None, tuple[Approver, ...], tuple[OwnerProblem, ...]]


def _outcomes(table: pa.Table) -> dict[int, Outcome]:
    sets = _approver_sets(table)
    columns = _columns(table, "outcome", ("outcome", "owner_source", "attribute", "tag_key", "tag_value", "problems",
                                          "approver_set"))
    return {
        outcome: (cast(OwnerSource, source), attribute, tag_key, tag_value,
                  sets.get(set_id, ()) if source != SOURCE_NONE else (),
                  tuple(OwnerProblem(code=p["code"], value=p["value"]) for p in problems or ()))
        for outcome, source, attribute, tag_key, tag_value, problems, set_id in zip(*columns)
    }


def resolutions(table: pa.Table) -> list[OwnerResolution]:
    """The Python half of resolve_many: one resolution per resource row of `resolution_table`."""
    outcomes = _outcomes(table)
    columns = _columns(table, "resource", ("integration", "arn", "account_id", "region", "resource_type", "outcome"),
                       order=("arn", "integration"))
    return [OwnerResolution(arn, integration, account_id, region, resource_type, *outcomes[outcome])
            for integration, arn, account_id, region, resource_type, outcome in zip(*columns)]


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
    with _connection(catalog) as con:
        table = resolution_table(con, wanted, integration)
    found: dict[str, OwnerResolution] = {}
    clashes: dict[str, list[str]] = {}
    for resolution in resolutions(table):
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
