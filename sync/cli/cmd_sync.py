"""`orgsync sync CONFIG`: run a sync of one or every integration into the catalog."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import asdict

import click
import orjson

from catalog.connect import sync_lock
from catalog.state import previous_scopes
from catalog.records import MergeCounts, RunRecord
from catalog.writer import commit_run
from sync.cli.app import (EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, UserError, catalog_option, fail, main,
                          split_csv, user_errors)
from sync.config import Integration, load_config
from sync.engine import SyncOptions, sync_integration
from sync.heap import long_lived_heap
from sync.explorer.planner import SOURCES
from sync.progress import LiveProgress, LogProgress, Progress
from sync.arns import UnknownArn, scope_of_arn
from sync.sources.model import GLOBAL_REGION
from sync.sources.registry import service_specs, supported_types

MAX_FAILURES_SHOWN = 20


def _progress(quiet: bool) -> Progress:
    if quiet:
        return Progress()
    return LiveProgress() if sys.stderr.isatty() else LogProgress()


def _check_types(types: frozenset[str] | None, integrations: tuple[Integration, ...]) -> None:
    if types is None:
        return
    unknown = sorted(types - set(supported_types()))
    if unknown:
        raise UserError(f"--types: unknown resource type(s) {', '.join(unknown)}; "
                        f"supported: {', '.join(supported_types())}")
    for integration in integrations:
        if not types & set(integration.resource_types):
            raise UserError(f"--types: integration {integration.name!r} syncs none of "
                            f"{', '.join(sorted(types))} (its resource_types: {', '.join(integration.resource_types)})")


def summary(run: RunRecord, counts: MergeCounts) -> dict[str, object]:
    scopes = run.scopes
    return {
        "integration": run.integration,
        "sync_id": counts.sync_id,
        "status": run.status,
        "error": run.error,
        "started_at": run.started_at.isoformat(),
        "seconds": round((run.finished_at - run.started_at).total_seconds(), 3),
        "accounts": {s: sum(1 for a in run.accounts if a.status == s)
                     for s in ("selected", "failed", "excluded", "inactive")},
        "scopes": {s: sum(1 for x in scopes if x.status == s) for s in ("complete", "skipped", "failed")},
        "resources": asdict(counts),
        "api_calls": run.api_calls,
        "throttles": run.throttles,
        "retries": run.retries,
        "failed_accounts": [{"account_id": a.account_id, "reason": a.status_reason}
                            for a in run.accounts if a.status == "failed"],
        "failed_scopes": [{"account_id": s.account_id, "region": s.region, "resource_type": s.resource_type,
                           "error_code": s.error_code, "error_message": s.error_message}
                          for s in scopes if s.status == "failed"],
        "skipped_scopes": [{"account_id": s.account_id, "region": s.region, "resource_type": s.resource_type,
                            "error_code": s.error_code} for s in scopes if s.status == "skipped"],
        "warnings": run.warnings,
        "mode": run.mode,
        "refresh": run.options.get("refresh", {}),
    }


def _print_summary(data: dict[str, object]) -> None:
    res = data["resources"]
    assert isinstance(res, dict)
    lines = [
        f"{data['integration']}: sync {data['sync_id']} {data['status']} in {data['seconds']}s",
        f"  accounts: {data['accounts']}",
        f"  scopes:   {data['scopes']}",
        f"  resources seen {res['seen']}: +{res['added']} added, ~{res['modified']} modified, "
        f"-{res['deleted']} deleted, {res['restored']} restored",
        f"  API calls {data['api_calls']}, throttled {data['throttles']}, retries {data['retries']}",
    ]
    refresh = data["refresh"]
    assert isinstance(refresh, dict)
    for label, count in refresh.items():
        lines.append(f"  {label}: {count} scope(s)")
    if data["error"]:
        lines.append(f"  error: {data['error']}")
    for a in data["failed_accounts"]:  # type: ignore[attr-defined]
        lines.append(f"  account failed: {a['account_id']}: {a['reason']}")
    failed = data["failed_scopes"]
    assert isinstance(failed, list)
    for s in failed[:MAX_FAILURES_SHOWN]:
        lines.append(f"  scope failed: {s['account_id']} {s['region']} {s['resource_type']}: "
                     f"{s['error_code']}: {s['error_message']}")
    if len(failed) > MAX_FAILURES_SHOWN:
        lines.append(f"  ... {len(failed) - MAX_FAILURES_SHOWN} more failed scopes: "
                     f"`orgsync query failed-scopes`")
    skipped = data["skipped_scopes"]
    assert isinstance(skipped, list)
    if skipped:
        codes = sorted({str(s["error_code"]) for s in skipped})
        lines.append(f"  {len(skipped)} scope(s) skipped ({', '.join(codes)}); their rows were kept")
    for w in data["warnings"]:  # type: ignore[attr-defined]
        lines.append(f"  warning: {w}")
    click.echo("\n".join(lines))


@main.command()
@click.argument("config", type=click.Path(dir_okay=False))
@catalog_option
@click.option("--integration", "integration_name", default=None, help="Sync only this integration.")
@click.option("--accounts", multiple=True, help="Only these account IDs (comma-separated, repeatable).")
@click.option("--regions", multiple=True, help="Only these regions (comma-separated, repeatable).")
@click.option("--types", multiple=True, help="Only these resource types (comma-separated, repeatable).")
@click.option("--incremental", is_flag=True,
              help="Refresh only scopes older than their type's refresh_minutes (default 60) or never "
                   "completed, and Resource Explorer scopes whose Search count changed. The rest keep their rows.")
@click.option("--arn", default=None, help="Refresh only the scope (account x region x type) of this resource.")
@click.option("--source", type=click.Choice(SOURCES), default="auto", show_default=True,
              help="auto: Resource Explorer where it can prove a scope complete and is faster, service APIs "
                   "elsewhere; explorer: Resource Explorer wherever possible; services: service APIs only.")
@click.option("--max-attempts", type=click.IntRange(1, 20), default=8, show_default=True,
              help="Attempts per API call for throttling and server errors, with jittered backoff.")
@click.option("--rate-scale", type=click.FloatRange(0.01, 100), default=1.0, show_default=True,
              help="Multiply every built-in request rate limit (lower it to be gentler on a busy account).")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON (implies --quiet).")
@user_errors
def sync(config: str, catalog_path: str, integration_name: str | None, accounts: tuple[str, ...],
         regions: tuple[str, ...], types: tuple[str, ...], incremental: bool, arn: str | None, source: str,
         max_attempts: int, rate_scale: float,
         quiet: bool, as_json: bool) -> None:
    """Sync resources of the configured integrations into the catalog.

    Exit code 0 when every scope completed or was legitimately skipped (access denied, region
    not enabled), 1 when some scope or account failed, 2 for usage and config errors.
    """
    loaded = load_config(config, supported_types=supported_types())
    integrations = loaded.select(integration_name)
    only_accounts, only_regions, only_types = split_csv(accounts), split_csv(regions), split_csv(types)
    if arn:
        if only_accounts or only_regions or only_types:
            raise UserError("--arn names one scope; it cannot be combined with --accounts, --regions or --types")
        specs = service_specs()
        try:
            key = scope_of_arn(arn, specs, {t for t, s in specs.items() if s.is_global})
        except UnknownArn as exc:
            raise UserError(f"--arn: {exc}") from exc
        only_accounts, only_types = frozenset({key.account_id}), frozenset({key.resource_type})
        only_regions = frozenset() if key.region == GLOBAL_REGION else frozenset({key.region})
    options = SyncOptions(accounts=only_accounts, regions=only_regions, types=only_types,
                          mode="incremental" if incremental else "full",
                          max_attempts=max_attempts, max_backoff=2.0 if max_attempts <= 2 else 20.0,
                          rate_scale=rate_scale, source=source)
    _check_types(options.types, integrations)
    exit_code = EXIT_OK
    summaries = []
    with sync_lock(catalog_path):
        for integration in integrations:
            try:
                with _progress(quiet or as_json) as progress:
                    previous = previous_scopes(catalog_path, integration.name)
                    with long_lived_heap():
                        run = asyncio.run(sync_integration(integration, options, progress, previous))
                counts = commit_run(catalog_path, run)
            except KeyboardInterrupt:
                # asyncio.run cancels the sync's tasks on Ctrl-C; commit_run rolls its transaction back.
                done = [str(s["integration"]) for s in summaries]
                fail(f"interrupted: the sync of {integration.name!r} was not committed, the catalog keeps its last "
                     f"committed state" + (f" (committed before: {', '.join(done)})" if done else ""),
                     EXIT_INTERRUPTED)
            data = summary(run, counts)
            summaries.append(data)
            if not as_json:
                _print_summary(data)
            if run.status != "complete":
                exit_code = EXIT_PARTIAL
    if as_json:
        click.echo(orjson.dumps(summaries, option=orjson.OPT_INDENT_2).decode())
    sys.exit(exit_code)
