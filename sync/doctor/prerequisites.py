"""The product's prerequisites: EC2 instances managed by Systems Manager, EKS access entries.

The product documentation: to manage EC2 servers the connector's role needs
`AmazonSSMManagedInstanceCore` (so an instance that SSM does not manage cannot be reached), and
EKS needs one or more access entries for the connector. Gathering (I/O) first, checks (pure) after.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sync.doctor.explorer_gather import bounded
from sync.doctor.model import (
    CallError,
    CheckResult,
    Status,
    group_pairs,
    ok,
    plural,
    short_list,
)
from sync.doctor.probe import Prober

RUNNING = [{"Name": "instance-state-name", "Values": ["running"]}]
_PRINCIPAL = re.compile(r"arn:[^:]+:(?:iam|sts)::(\d{12}):(role|user|assumed-role)/(.+)")


@dataclass(frozen=True)
class Ec2Scope:
    account_id: str
    region: str
    running: tuple[str, ...] | CallError
    managed: frozenset[str] | CallError = frozenset()


@dataclass(frozen=True)
class EksCluster:
    account_id: str
    region: str
    name: str
    principals: tuple[str, ...] | CallError


@dataclass
class PrereqEvidence:
    check_ec2: bool
    check_eks: bool
    connector_roles: Mapping[str, str]  # account -> the connector's principal ARN there
    ec2: list[Ec2Scope] = field(default_factory=list)
    eks: list[EksCluster] = field(default_factory=list)
    eks_errors: list[CallError] = field(default_factory=list)  # ListClusters itself failed


# ---- gathering (I/O) ---------------------------------------------------------------------------

async def _ec2(prober: Prober, ev: PrereqEvidence, account_id: str, region: str) -> None:
    found = await prober.pages(account_id, region, "ec2", "DescribeInstances",
                               {"Filters": RUNNING, "MaxResults": 1000}, "Reservations")
    if isinstance(found, CallError):
        ev.ec2.append(Ec2Scope(account_id, region, found))
        return
    running = tuple(i["InstanceId"] for r in found[0] for i in r.get("Instances") or ())
    if not running:
        ev.ec2.append(Ec2Scope(account_id, region, running))
        return
    info = await prober.pages(account_id, region, "ssm", "DescribeInstanceInformation", {"MaxResults": 50},
                              "InstanceInformationList")
    managed = info if isinstance(info, CallError) else frozenset(str(i.get("InstanceId")) for i in info[0])
    ev.ec2.append(Ec2Scope(account_id, region, running, managed))


async def _eks(prober: Prober, ev: PrereqEvidence, account_id: str, region: str) -> None:
    names = await prober.pages(account_id, region, "eks", "ListClusters", {"maxResults": 100}, "clusters",
                               token="nextToken")
    if isinstance(names, CallError):
        ev.eks_errors.append(names)
        return
    for name in names[0]:
        entries = await prober.pages(account_id, region, "eks", "ListAccessEntries",
                                     {"clusterName": name, "maxResults": 100}, "accessEntries", token="nextToken")
        principals = entries if isinstance(entries, CallError) else tuple(str(e) for e in entries[0])
        ev.eks.append(EksCluster(account_id, region, name, principals))


async def gather_prerequisites(prober: Prober, ev: PrereqEvidence, ready: Mapping[str, tuple[str, ...]],
                               concurrency: int = 16) -> PrereqEvidence:
    jobs = []
    for account_id, regions in ready.items():
        for region in regions:
            if ev.check_ec2:
                jobs.append(lambda a=account_id, r=region: _ec2(prober, ev, a, r))
            if ev.check_eks:
                jobs.append(lambda a=account_id, r=region: _eks(prober, ev, a, r))
    await bounded(jobs, concurrency)
    ev.ec2.sort(key=lambda s: (s.account_id, s.region))
    ev.eks.sort(key=lambda c: (c.account_id, c.region, c.name))
    return ev


# ---- checks (pure) -----------------------------------------------------------------------------

def principal_key(arn: str) -> tuple[str, str, str] | None:
    """(account, role|user, name) of an IAM or STS principal ARN; an assumed role is its role."""
    found = _PRINCIPAL.fullmatch(arn)
    if found is None:
        return None
    account, kind, rest = found.groups()
    if kind == "assumed-role":
        return account, "role", rest.split("/", 1)[0]
    return account, kind, rest.rsplit("/", 1)[-1]  # access entries keep the path; assumed roles lose it


def ec2_ssm_check(ev: PrereqEvidence) -> CheckResult:
    title = "Running EC2 instances are managed by Systems Manager"
    unmanaged: list[tuple[Ec2Scope, list[str]]] = []
    failures: list[CallError] = []
    running = 0
    for scope in ev.ec2:
        for value in (scope.running, scope.managed):
            if isinstance(value, CallError):
                failures.append(value)
        if isinstance(scope.running, CallError) or isinstance(scope.managed, CallError):
            continue
        running += len(scope.running)
        missing = [i for i in scope.running if i not in scope.managed]
        if missing:
            unmanaged.append((scope, missing))
    fix = ("Add the AmazonSSMManagedInstanceCore policy to the connector's IAM role, and make sure these instances "
           "run the SSM Agent with an instance profile that lets Systems Manager manage them.")
    if unmanaged:
        count = sum(len(m) for _, m in unmanaged)
        grouped = group_pairs((s.account_id, s.region) for s, _ in unmanaged)
        evidence = tuple(f"ec2:DescribeInstances in {s.account_id}:{s.region} -> {len(s.running)} running; "
                         f"ssm:DescribeInstanceInformation -> not managed: {short_list(m)}" for s, m in unmanaged[:20])
        return CheckResult("prereq.ec2-ssm", title, Status.WARNING,
                           f"{count} of {running} running instances are not managed by Systems Manager",
                           accounts=tuple(grouped["by_account"]), regions=tuple(grouped["by_region"]),
                           evidence=evidence + tuple(f.describe() for f in failures[:10]), remediation=fix,
                           details={**grouped, "instances": {f"{s.account_id}:{s.region}": m for s, m in unmanaged}})
    if failures:
        return CheckResult("prereq.ec2-ssm", title, Status.WARNING,
                           f"{plural(len(failures), 'account x region pair')} could not be checked",
                           accounts=tuple(sorted({f.account_id for f in failures})),
                           regions=tuple(sorted({f.region for f in failures})),
                           evidence=tuple(f.describe() for f in failures[:20]),
                           remediation="Allow ec2:DescribeInstances and ssm:DescribeInstanceInformation "
                                       "(`orgsync iam-policy --with-doctor`). " + fix)
    return ok("prereq.ec2-ssm", title, f"all {plural(running, 'running instance')} in "
              f"{plural(len(ev.ec2), 'account x region pair')} are managed by Systems Manager")


def _has_entry(cluster: EksCluster, connector_arn: str | None) -> bool:
    wanted = principal_key(connector_arn or "")
    return wanted is not None and not isinstance(cluster.principals, CallError) and \
        any(principal_key(p) == wanted for p in cluster.principals)


def eks_access_check(ev: PrereqEvidence) -> CheckResult:
    title = "EKS clusters have an access entry for the connector"
    unchecked = [c for c in ev.eks if isinstance(c.principals, CallError)]
    lacking = [c for c in ev.eks if c not in unchecked and not _has_entry(c, ev.connector_roles.get(c.account_id))]
    fix = ("Create an EKS access entry for the connector's role in each cluster (and associate an access policy); "
           "clusters whose authentication mode is CONFIG_MAP must first be switched to allow access entries (API).")
    if not (lacking or unchecked or ev.eks_errors):
        return ok("prereq.eks-access", title,
                  f"all {plural(len(ev.eks), 'cluster')} have an access entry for the connector")
    evidence = [f"eks:ListAccessEntries {c.name} in {c.account_id}:{c.region} -> no entry for "
                f"{ev.connector_roles.get(c.account_id)} among: {short_list(c.principals, 3) or 'none'}"
                for c in lacking[:20] if not isinstance(c.principals, CallError)]
    evidence += [c.principals.describe() for c in unchecked[:10] if isinstance(c.principals, CallError)]
    evidence += [e.describe() for e in ev.eks_errors[:10]]
    parts = []
    if lacking:
        parts.append(f"{len(lacking)} of {plural(len(ev.eks), 'cluster')} have no access entry for the connector")
    if unchecked:
        parts.append(f"the access entries of {plural(len(unchecked), 'cluster')} could not be read")
    if ev.eks_errors:
        parts.append(f"clusters could not be listed in {plural(len(ev.eks_errors), 'account x region pair')}")
    where = [(c.account_id, c.region) for c in lacking + unchecked] + [(e.account_id, e.region) for e in ev.eks_errors]
    grouped = group_pairs(where)
    return CheckResult("prereq.eks-access", title, Status.WARNING, "; ".join(parts),
                       accounts=tuple(grouped["by_account"]), regions=tuple(grouped["by_region"]),
                       evidence=tuple(evidence), remediation=fix,
                       details={**grouped, "clusters": [f"{c.account_id}:{c.region}:{c.name}" for c in lacking],
                                "unchecked": [f"{c.account_id}:{c.region}:{c.name}" for c in unchecked]})


def prerequisite_checks(ev: PrereqEvidence) -> list[CheckResult]:
    return ([ec2_ssm_check(ev)] if ev.check_ec2 else []) + ([eks_access_check(ev)] if ev.check_eks else [])
