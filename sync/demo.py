"""`make demo`: a real sync of the built-in simulated organization, then a tour of the catalog.

No AWS credentials and no network: orgsim serves a ~50-account organization on 127.0.0.1 in the
real AWS wire protocols, and the unmodified engine syncs it through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import duckdb

import orgsim
from sync.cli import main as cli
from sync.cli.output import render

SCENARIO = "demo"
CONFIG = Path("demo.toml")
CATALOG = Path("demo.duckdb")

DEMO_CONFIG = """# Written by `make demo`: the simulated organization served by orgsim.
[[integration]]
name = "demo-org"
type = "aws-organization"
region = "us-east-1"
sso_region = "us-east-1"
sso_portal = "https://demo-org.awsapps.com/start"
custom_access_details = "Request access in the portal; approvals go to the resource's owner."
integration_owner = { attribute = "group", values = ["platform-admins"] }
resource_owner = { tag_key = "owner", attribute = "user" }
"""

REPORTS = (
    ("Accounts", """SELECT status, count(*) AS accounts, any_value(status_reason) AS example_reason
                    FROM accounts GROUP BY ALL ORDER BY accounts DESC"""),
    ("Resources by type and region", """PIVOT (SELECT resource_type, region FROM current_resources)
                    ON region USING count(*) GROUP BY resource_type ORDER BY resource_type"""),
    ("Resources without an owner tag (top 10 account x type)", """SELECT account_id, resource_type, count(*) AS resources
                    FROM current_resources WHERE owner_tag_value IS NULL GROUP BY ALL ORDER BY resources DESC LIMIT 10"""),
    ("Which source covered what", """SELECT source, status, coalesce(error_code, '') AS error_code, count(*) AS scopes,
                    sum(resources) AS resources, any_value(reason) AS example_reason
                    FROM sync_scopes GROUP BY ALL ORDER BY scopes DESC"""),
    ("Who approves access (owner resolution)", """SELECT owner_source, coalesce(split_part(problem, ':', 1), '') AS problem,
                    count(*) AS resources FROM resource_owner_summary GROUP BY ALL ORDER BY resources DESC"""),
)

NEXT_STEPS = f"""
Try next:
  .venv/bin/orgsync query --list --catalog {CATALOG}
  .venv/bin/orgsync query resources-without-owner --catalog {CATALOG}
  .venv/bin/orgsync query "SELECT arn, tags->>'owner' AS owner FROM current_resources WHERE resource_type = 'rds:db' LIMIT 5" --catalog {CATALOG}
  .venv/bin/orgsync status --catalog {CATALOG}
  .venv/bin/orgsync owners --unresolved --catalog {CATALOG}
"""


def _run_cli(args: list[str]) -> int:
    try:
        cli.main(args, standalone_mode=False)
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def _report(path: Path) -> None:
    with duckdb.connect(str(path), read_only=True) as con:
        for title, sql in REPORTS:
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            click.echo(f"\n== {title}")
            click.echo(render(columns, cursor.fetchall(), "table"))


def run_demo() -> int:
    CONFIG.write_text(DEMO_CONFIG)
    CATALOG.unlink(missing_ok=True)
    click.echo(f"Starting the simulated organization ({SCENARIO!r} scenario) on 127.0.0.1 ...")
    with orgsim.run_in_thread(SCENARIO) as sim:
        os.environ.update(sim.env())
        click.echo(f"Syncing it: orgsync sync {CONFIG} --catalog {CATALOG}\n")
        code = _run_cli(["sync", str(CONFIG), "--catalog", str(CATALOG)])
        # 1 means some scopes failed: the demo scenario injects faults on purpose.
        if code not in (0, 1):
            return code
        click.echo(f"\nLoading the identity directory for owner resolution: orgsync idp sync {CONFIG} ...")
        code = _run_cli(["idp", "sync", str(CONFIG), "--catalog", str(CATALOG),
                         "--identity-store-id", sim.world.scenario.organization.identity_store_id])
        if code != 0:
            return code
    _report(CATALOG)
    click.echo(NEXT_STEPS)
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
