"""`idp sync`: read an integration's identity directory and replace it in the catalog atomically.

Reading (AWS or a file) happens before the catalog is opened, as a resource sync does, so the
catalog is held only for the short commit. The owner views are refreshed in the same transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from aiobotocore.session import AioSession

from catalog.connect import open_writer
from catalog.identity import DirectoryCounts, replace_directory
from sync.aws.calls import MAX_ATTEMPTS
from sync.aws.clients import ClientPool
from sync.aws.errors import classify
from sync.aws.limits import Limiters
from sync.aws.sessions import assumed_role_session, new_session
from sync.aws.stats import CallStats
from sync.config import Integration, OrganizationIntegration
from sync.owners.directory import Directory, directory_tables
from sync.owners.identity_store import find_identity_store, read_identity_store
from sync.owners.sql import install_views

_LABEL = "@idp"  # the ClientPool account label of the directory's session
_BASE = "@base"


class IdpSourceError(Exception):
    """The directory could not be read from AWS; the catalog was left as it was."""


@dataclass(frozen=True)
class IdpSyncResult:
    integration: str
    source: str
    source_ref: str | None
    users: int
    groups: int
    memberships: int
    api_calls: int
    seconds: float
    warnings: tuple[str, ...]
    idp_sync_id: int = 0  # the sync's row in idp_sources
    added: int = 0  # users, groups and memberships added since the previous directory sync
    modified: int = 0
    removed: int = 0


def identity_store_region(integration: Integration) -> str:
    """Where Identity Center lives: the SSO region of an organization, else the integration's region."""
    return integration.sso_region if isinstance(integration, OrganizationIntegration) else integration.region


async def _session(integration: Integration, pool: ClientPool, stats: CallStats) -> AioSession:
    if not isinstance(integration, OrganizationIntegration):
        return new_session(integration.aws_profile)
    base = new_session()
    if not integration.management_account_role_arn:
        return base
    pool.register_account(_BASE, base)
    sts = await pool.caller(_BASE, integration.region, "sts")

    async def assume(params: dict[str, Any]) -> dict[str, Any]:
        return await sts.call("AssumeRole", params, stats)

    try:
        return await assumed_role_session(assume, role_arn=integration.management_account_role_arn,
                                          external_id=integration.external_id)
    except Exception as exc:
        error = classify(exc)
        raise IdpSourceError(f"sts:AssumeRole {integration.management_account_role_arn}: "
                             f"{error.code}: {error.message}") from exc


async def fetch_identity_store(integration: Integration, *, identity_store_id: str | None = None,
                               max_attempts: int = MAX_ATTEMPTS) -> tuple[Directory, CallStats]:
    """The integration's Identity Store as a Directory, and the API traffic it took."""
    region = identity_store_region(integration)
    stats = CallStats()
    async with ClientPool(Limiters(), max_attempts=max_attempts,
                          max_backoff=2.0 if max_attempts <= 2 else 20.0) as pool:
        pool.register_account(_LABEL, await _session(integration, pool, stats))

        async def call(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            try:
                return await (await pool.caller(_LABEL, region, service)).call(operation, params, stats)
            except Exception as exc:
                error = classify(exc)
                raise IdpSourceError(f"{service}:{operation} in {region}: {error.code}: {error.message}") from exc

        store_id = identity_store_id
        if store_id is None:
            try:
                store_id = await find_identity_store(call, region)
            except IdpSourceError as exc:
                raise IdpSourceError(f"{exc} (pass --identity-store-id to skip ListInstances)") from exc
        try:
            directory = await read_identity_store(call, store_id)
        except* IdpSourceError as group:
            # Concurrent membership reads fail together; the first failure says what went wrong.
            raise group.exceptions[0] from group
    return directory, stats


def commit_directory(catalog_path: str, integration: str, directory: Directory) -> DirectoryCounts:
    """Replace the integration's directory, record the sync and its changes, and refresh the owner
    views, in one transaction."""
    tables = directory_tables(directory)
    with open_writer(catalog_path) as con:
        con.execute("BEGIN").fetchall()
        try:
            counts = replace_directory(con, integration, tables, datetime.now(timezone.utc))
            install_views(con)
            con.execute("COMMIT").fetchall()
        except BaseException:
            con.execute("ROLLBACK").fetchall()
            raise
    return counts


def sync_result(integration: str, directory: Directory, counts: DirectoryCounts, api_calls: int,
                started: float) -> IdpSyncResult:
    return IdpSyncResult(
        integration=integration, source=directory.source, source_ref=directory.source_ref,
        users=counts.users, groups=counts.groups, memberships=counts.memberships, api_calls=api_calls,
        seconds=round(time.monotonic() - started, 3), warnings=directory.warnings,
        idp_sync_id=counts.idp_sync_id, added=counts.added, modified=counts.modified, removed=counts.removed,
    )
