"""Service control policy evidence, and calls refused by the roles' own IAM policies.

The documented cause of Quick Setup failures is an SCP that denies CloudFormation in some
regions (often through aws:RequestedRegion); the same SCP denies orgsync's own calls there, with
a message saying "explicit deny in a service control policy". The evidence comes from the
doctor's probing calls and from the last sync's scopes in the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from catalog.connect import open_reader
from sync.doctor.model import (
    CallError,
    CheckResult,
    Status,
    group_pairs,
    ok,
    short_list,
)

SCP_FIX = ("An SCP denies these calls there. If it restricts regions (aws:RequestedRegion), allow the regions or "
           "exempt the needed services (for Quick Setup: `cloudformation:*`) through NotAction; or relax the SCP, "
           "then re-run Systems Manager Quick Setup for Resource Explorer. Otherwise drop the regions from the "
           "integration's `regions`.")

_CATALOG_SQL = """
SELECT s.account_id, s.region, s.resource_type, s.error_code, s.error_message
FROM sync_scopes s JOIN integrations i ON i.name = s.integration AND i.last_sync_id = s.sync_id
WHERE s.integration = ? AND s.status <> 'complete'
ORDER BY 1, 2, 3
"""
_BASELINE_SQL = "SELECT resource_type, count(*) FROM current_resources WHERE integration = ? GROUP BY 1 ORDER BY 1"
_LAST_SYNC_SQL = "SELECT last_sync_id FROM integrations WHERE name = ?"


@dataclass(frozen=True)
class CatalogEvidence:
    path: str
    sync_id: int | None = None  # the integration's last sync; None when it was never synced here
    failed_scopes: tuple[CallError, ...] = ()  # skipped or failed scopes of that sync
    baseline: dict[str, int] = field(default_factory=dict)  # resource type -> current resources


def read_catalog(path: str, integration: str) -> CatalogEvidence | None:
    """The integration's last sync, read-only; None when there is no catalog file."""
    if not Path(path).exists():
        return None
    with open_reader(path) as con:
        row = con.execute(_LAST_SYNC_SQL, [integration]).fetchone()
        if row is None or row[0] is None:
            return CatalogEvidence(path)
        scopes = tuple(CallError(f"sync scope {t}", a, r, code or "", message or "")
                       for a, r, t, code, message in con.execute(_CATALOG_SQL, [integration]).fetchall())
        baseline = {str(t): int(n) for t, n in con.execute(_BASELINE_SQL, [integration]).fetchall()}
    return CatalogEvidence(path, int(row[0]), scopes, baseline)


def scp_check(errors: Iterable[CallError], catalog: CatalogEvidence | None,
              configured_regions: Sequence[str] | None) -> CheckResult:
    title = "No service control policy denies orgsync's calls"
    probed = [e for e in errors if e.scp_denied]
    synced = [e for e in (catalog.failed_scopes if catalog else ()) if e.scp_denied]
    if catalog is None:
        source = "probing calls (no catalog to read the last sync from)"
    elif catalog.sync_id is None:
        source = f"probing calls (no previous sync of this integration in {catalog.path})"
    else:
        source = f"probing calls and the last sync in {catalog.path}"
    denied = probed + synced
    if not denied:
        return ok("scp.denied", title, f"no explicit SCP deny seen in {source}")
    grouped = group_pairs((e.account_id, e.region) for e in denied)
    # A region the config asks for that an SCP closes is a misconfiguration; a discovered one is only skipped.
    asked = [r for r in grouped["by_region"] if configured_regions and r in configured_regions]
    status = Status.ERROR if asked else Status.WARNING
    per_region = "; ".join(f"{r}: {short_list(a, 3)}" for r, a in grouped["by_region"].items())
    calls = sorted({e.call for e in denied})
    return CheckResult(
        "scp.denied", title, status,
        f"explicit SCP denies in {len(grouped['by_region'])} regions ({per_region}); calls: {short_list(calls, 4)}",
        accounts=tuple(grouped["by_account"]), regions=tuple(grouped["by_region"]),
        evidence=tuple(e.describe() for e in denied[:20]), remediation=SCP_FIX,
        details={**grouped, "from_probes": len(probed), "from_last_sync": len(synced)})


def permissions_check(errors: Iterable[CallError]) -> CheckResult:
    title = "The roles allow every read-only call orgsync makes"
    refused = [e for e in errors if e.access_denied and not e.scp_denied]
    if not refused:
        return ok("access.permissions", title, "no call was refused by an IAM policy")
    grouped = group_pairs((e.account_id, e.region) for e in refused)
    calls = sorted({e.call for e in refused})
    return CheckResult(
        "access.permissions", title, Status.WARNING,
        f"{len(refused)} calls refused ({short_list(calls, 6)})",
        accounts=tuple(grouped["by_account"]), regions=tuple(grouped["by_region"]),
        evidence=tuple(e.describe() for e in refused[:20]),
        remediation="Attach the policies from `orgsync iam-policy CONFIG --role connector|management|member "
                    "--with-doctor` to the roles.",
        details={**grouped, "calls": calls})
