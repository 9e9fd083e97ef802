"""Owner resolution cost: `resolve_many` of N random ARNs on a catalog of M resources.

The catalog is built the way a sync builds it: resource rows from benchmarks.catalog_write's
generator (account, region, type, ARN) committed through `catalog.writer.commit_run`, with an
organization integration whose `resource_owner` tag names IdP groups and whose integration owner
is a group; then an identity directory committed through `idp sync`'s own `commit_directory`.
Owner tags: ~2,500 distinct values, most naming one group, some two (comma-separated, mixed
case), some unknown, a tenth of the resources untagged (they fall back to the integration owner).

Timed (median of --runs, each on a fresh random sample of ARNs, 1% of them unknown):
  cold   resolve_many(arns, catalog=PATH): opens the catalog read-only for the call
  warm   resolve_many(arns, catalog=con) on a connection kept open (after one warm-up call)
  one    resolve_owners(arn, catalog=con): a single ARN on the warm connection
and, for where the time goes, the warm call split into the SQL and the Python assembly.

    .venv/bin/python -m benchmarks.owners_resolve                         # 1M resources, 10,000 ARNs
    .venv/bin/python -m benchmarks.owners_resolve --resources 200000 --keep /tmp/owners.duckdb
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.catalog_write import ACCOUNTS, REGIONS, START, TYPES, _run, make_rows
from catalog.writer import commit_run
from sync.config import IntegrationOwner, OrganizationIntegration, ResourceOwner
from sync.owners import api
from sync.owners.directory import SOURCE_FILE, Directory, IdpGroup, IdpUser, Membership
from sync.owners.idp_sync import commit_directory

INTEGRATION = "bench"  # the integration catalog_write's runs commit to
ADMINS = "platform-admins"


def integration() -> OrganizationIntegration:
    return OrganizationIntegration(
        name=INTEGRATION, kind="aws-organization", region="us-east-1", regions=REGIONS, resource_types=TYPES,
        sso_region="us-east-1", sso_portal="https://bench.awsapps.com/start",
        integration_owner=IntegrationOwner(attribute="group", values=(ADMINS,)),
        resource_owner=ResourceOwner(tag_key="owner", attribute="group"),
    )


def owner_values(distinct: int, groups: int) -> list[str | None]:
    """The owner tag values resources draw from; None: the resource has no owner tag."""
    values: list[str | None] = []
    for i in range(distinct):
        group = f"grp-{(i * 37) % groups:05d}"
        if i % 10 == 0:
            values.append(None)
        elif i % 20 == 1:
            values.append(f"gone-team-{i}")  # nobody in the IdP: falls back, reported
        elif i % 7 == 2:
            values.append(f"{group}, GRP-{(i * 53 + 11) % groups:05d}")
        elif i % 50 == 3:
            values.append(f"{group},gone-team-{i}")  # one known, one unknown
        elif i % 13 == 4:
            values.append(group.upper())
        else:
            values.append(group)
    return values


def resource_rows(ids: pa.Array, distinct: int, groups: int) -> pa.Table:
    """catalog_write's rows with their owner tag drawn from owner_values (untagged rows lose it)."""
    rows = make_rows(ids, pa.array([0] * len(ids), pa.int64()))
    owner = pc.take(pa.array(owner_values(distinct, groups), pa.string()), pc.modulo(pc.multiply(ids, 7919), distinct))
    rid = rows["resource_id"]
    tagged = pc.binary_join_element_wise('{"env":"prod","owner":"', owner, '","project":"p', rid, '"}', "")
    untagged = pc.binary_join_element_wise('{"env":"prod","project":"p', rid, '"}', "")
    tags = pc.if_else(pc.is_null(owner), untagged, tagged)
    rows = rows.set_column(rows.schema.get_field_index("tags"), "tags", tags)
    return rows.set_column(rows.schema.get_field_index("owner_tag_value"), "owner_tag_value", owner)


def directory(users: int, groups: int) -> Directory:
    """`users` users, each in two of `groups` groups (~2 x users / groups members each); 25 admins."""
    people = tuple(IdpUser(user_id=f"u-{u:06d}", user_name=f"user-{u:06d}", display_name=f"User {u}",
                           emails=(f"user-{u:06d}@bench.example",)) for u in range(users))
    teams = tuple(IdpGroup(group_id=f"g-{g:05d}", display_name=f"grp-{g:05d}") for g in range(groups))
    admins = IdpGroup(group_id="g-admins", display_name=ADMINS)
    members = [Membership(group_id=f"g-{g:05d}", user_id=f"u-{u:06d}")
               for u in range(users) for g in {u % groups, (u * 7 + 3) % groups}]
    members += [Membership(group_id="g-admins", user_id=f"u-{u:06d}") for u in range(0, users, max(1, users // 25))]
    return Directory(source=SOURCE_FILE, source_ref="benchmark", users=people, groups=(*teams, admins),
                     memberships=tuple(members))


def build(path: str, resources: int, distinct: int, users: int, groups: int) -> float:
    """Commit the resources and the directory; returns the seconds it took."""
    started = time.perf_counter()
    ids = pa.array(range(resources), pa.int64())
    scopes = {(a, r, t) for a in range(ACCOUNTS) for r in range(len(REGIONS)) for t in range(len(TYPES))}
    # catalog_write's run record (its scopes and counts), carrying the owner settings and tags.
    run = dataclasses.replace(_run(ids, pa.array([0] * resources, pa.int64()), scopes, START, "full"),
                              settings=dataclasses.asdict(integration()),
                              rows=resource_rows(ids, distinct, groups).to_batches(max_chunksize=50_000))
    commit_run(path, run)
    commit_directory(path, INTEGRATION, directory(users, groups))
    return time.perf_counter() - started


def sample_arns(resources: int, count: int, seed: int, unknown: float) -> list[str]:
    rng = random.Random(seed)
    missing = int(count * unknown)
    ids = rng.sample(range(resources), count - missing) + list(range(resources, resources + missing))
    rng.shuffle(ids)
    return [str(a) for a in make_rows(pa.array(ids, pa.int64()), pa.array([0] * len(ids), pa.int64()))["arn"]]


@dataclasses.dataclass(frozen=True)
class Timing:
    seconds: float  # wall
    cpu_seconds: float  # of the whole process, DuckDB's threads included: steadier on a shared machine


def timed(call: Callable[[], object]) -> Timing:
    # The result is dropped: results kept from one run to the next would make the garbage
    # collector's full passes, and so the next run, slower.
    started, cpu = time.perf_counter(), time.process_time()
    call()
    return Timing(time.perf_counter() - started, time.process_time() - cpu)


def median(timings: list[Timing]) -> str:
    return (f"{statistics.median(t.seconds for t in timings):8.3f} s wall "
            f"{statistics.median(t.cpu_seconds for t in timings):8.3f} s CPU")


def split_call(con: duckdb.DuckDBPyConnection, arns: list[str]) -> dict[str, Timing]:
    """Where a warm resolve_many's time goes: the SQL (into Arrow) and the Python records."""
    started, cpu = time.perf_counter(), time.process_time()
    table = api.resolution_table(con, arns, None)
    sql = Timing(time.perf_counter() - started, time.process_time() - cpu)
    return {"SQL to Arrow": sql, "Python records": timed(lambda: api.resolutions(table))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=1_000_000)
    parser.add_argument("--arns", type=int, default=10_000, help="ARNs per resolve_many call")
    parser.add_argument("--runs", type=int, default=5, help="timed calls per figure (the median is printed)")
    parser.add_argument("--distinct-owners", type=int, default=2_500)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--groups", type=int, default=5_000)
    parser.add_argument("--unknown", type=float, default=0.01, help="share of the ARNs that are not in the catalog")
    parser.add_argument("--keep", help="catalog path; reused as is when it exists (skips the build)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or str(Path(tmp) / "owners.duckdb")
        if Path(path).exists():
            print(f"catalog: {path} (reused)")
        else:
            seconds = build(path, args.resources, args.distinct_owners, args.users, args.groups)
            print(f"catalog: {args.resources:,} resources, {args.distinct_owners:,} owner values, {args.users:,} users, "
                  f"{args.groups:,} groups built in {seconds:.1f} s")
        samples = [sample_arns(args.resources, args.arns, seed, args.unknown) for seed in range(args.runs + 1)]

        cold = [timed(lambda arns=arns: api.resolve_many(arns, catalog=path)) for arns in samples[1:]]
        with duckdb.connect(path, read_only=True) as con:
            # Warm-up: file pages in the cache; its answer gives the counts printed below.
            found = api.resolve_many(samples[0], catalog=con)
            warm = [timed(lambda arns=arns: api.resolve_many(arns, catalog=con)) for arns in samples[1:]]
            split = [split_call(con, arns) for arns in samples[1:]]
            known = [a for a in samples[0] if a in found][: args.runs]
            one = [timed(lambda a=a: api.resolve_owners(a, catalog=con)) for a in known]

        pairs = sum(len(r.approvers) for r in found.values())
        print(f"resolve_many of {args.arns:,} ARNs ({len(found):,} found, {pairs:,} approver pairs), "
              f"median of {args.runs}:")
        print(f"  cold (catalog path) {median(cold)}")
        print(f"  warm (connection)   {median(warm)}")
        for stage in split[0]:
            print(f"    {stage:17} {median([s[stage] for s in split])}")
        print(f"resolve_owners of one ARN, warm: {median(one)}")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
