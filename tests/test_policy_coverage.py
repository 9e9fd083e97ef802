"""Every AWS operation the engine can call is in the policy: a new call without a policy entry fails here.

The operations come from two places: the specs (calls made through a spec's fields) and a scan
of the sync/ package source for string literals passed to a call that are operation names of an
AWS service the source names (`caller.call("GetIndex", ...)`, `_call(..., "sts", "AssumeRole")`,
`DescribeCall(operation="GetBucketLocation")`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import botocore.session

import sync
from sync.policy import ROLES, PolicyError, role_grants, widest_integration
from sync.policy.actions import policy_action
from sync.sources.registry import service_specs, supported_types

SYNC_ROOT = Path(sync.__file__).parent
# Calls that name an operation without making it: the rate-limit table declares quotas.
DECLARATIONS = frozenset({"RateLimit"})


def full_policy_actions() -> set[str]:
    actions: set[str] = set()
    for kind in ("account", "organization"):
        for role in ROLES:
            try:
                grants = role_grants(widest_integration(kind, supported_types()), role, service_specs(), with_doctor=True)
            except PolicyError:
                continue
            actions |= {g.action for g in grants}
    return actions


def _trees(root: Path) -> Iterator[ast.AST]:
    for path in sorted(root.rglob("*.py")):
        yield ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


@cache
def _operations(service: str) -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_service_model(service).operation_names)


def engine_operations(root: Path = SYNC_ROOT) -> dict[str, set[str]]:
    """operation name -> the services (named in the source) that have it, for every call site."""
    session = botocore.session.get_session()
    available = set(session.get_available_services())
    trees = list(_trees(root))
    literals = {n.value for t in trees for n in ast.walk(t) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    services = sorted((literals & available) | {s.service for s in service_specs().values()})
    found: dict[str, set[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _callee(node) in DECLARATIONS:
                continue
            args = [*node.args, *(k.value for k in node.keywords)]
            strings = [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            named = [s for s in strings if s in services] or services
            for text in strings:
                owners = {svc for svc in named if text in _operations(svc)}
                if owners:
                    found.setdefault(text, set()).update(owners)
    return found


def test_scan_finds_the_known_call_sites() -> None:
    found = engine_operations()
    # One from each call style in the engine: targets._call, org.walk_organization, a spec's item call.
    assert "sts" in found["GetCallerIdentity"] and "sts" in found["AssumeRole"]
    assert "organizations" in found["ListRoots"]
    assert "s3" in found["GetBucketLocation"]


def missing_from_policy(found: dict[str, set[str]], policy: set[str]) -> list[str]:
    return sorted(f"{op} ({', '.join(sorted(svcs))})" for op, svcs in found.items()
                  if not any(policy_action(svc, op) in policy for svc in svcs))


def test_every_operation_the_engine_calls_is_in_the_policy() -> None:
    missing = missing_from_policy(engine_operations(), full_policy_actions())
    assert not missing, f"operations called in sync/ but missing from the IAM policy: {missing}"


def test_a_new_call_without_a_policy_entry_is_caught(tmp_path: Path) -> None:
    (tmp_path / "new_source.py").write_text(
        'async def volumes(pool, stats):\n'
        '    caller = await pool.caller("111111111111", "us-east-1", "ec2")\n'
        '    return await caller.call("DescribeVolumes", {}, stats)\n'
    )
    assert missing_from_policy(engine_operations(tmp_path), full_policy_actions()) == ["DescribeVolumes (ec2)"]


def test_every_spec_action_is_in_the_policy() -> None:
    policy = full_policy_actions()
    for spec in service_specs().values():
        assert set(spec.actions) <= policy, spec.resource_type
