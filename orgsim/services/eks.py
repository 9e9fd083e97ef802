"""Amazon EKS (rest-json): ListClusters and DescribeCluster (tags live in the description)."""

from __future__ import annotations

from typing import Any

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.hashing import mix
from orgsim.inventory import ScopeInfo, position_of
from orgsim.org import BASE_EPOCH
from orgsim.paging import scope_listing
from orgsim.registry import (
    ResourceType,
    ServiceSpec,
    operation,
    register_service,
    register_type,
)

SPEC = register_service(
    ServiceSpec(
        signing_name="eks",
        protocol="rest-json",
        throttle=("ThrottlingException", 429),
        server_error=("ServerException", 500),
        access_denied=("AccessDeniedException", 403),
        validation=("InvalidParameterException", 400),
        # EKS control-plane APIs are rate limited per account and region (order of 10/s).
        quotas={"*": (10.0, 20.0)},
    )
)

_VERSIONS = ("1.28", "1.29", "1.30", "1.31")


def cluster_name(info: ScopeInfo, pos: int, h: int) -> str:
    return f"eks-{pos:05d}-{('prod', 'stage', 'dev', 'ml')[h % 4]}"


register_type(
    ResourceType(
        rtype="eks:cluster",
        weight=1.0,
        arn_prefix="arn:aws:eks:{region}:{account}:cluster/",
        name=cluster_name,
    )
)


@operation("eks", "ListClusters", method="GET", path="/clusters")
def list_clusters(call: Call) -> dict[str, Any]:
    inv = call.inv
    s = inv.account_scopes(call.caller.account, call.region, "eks:cluster")
    limit = call.int_param("maxResults", 100, 1, 100)
    bad = AwsError("InvalidParameterException", "The nextToken is invalid.")
    items, token = scope_listing(
        inv, s, call.str_param("nextToken"), "eks", limit, call.generation, bad
    )
    call.stats.items["eks:ListClusters"] += len(items)
    out: dict[str, Any] = {"clusters": [r.name for r in items]}
    if token:
        out["nextToken"] = token
    return out


@operation("eks", "DescribeCluster", method="GET", path="/clusters/{name}")
def describe_cluster(call: Call) -> dict[str, Any]:
    inv = call.inv
    name = str(call.params.get("name", ""))
    s = inv.account_scopes(call.caller.account, call.region, "eks:cluster")
    res = inv.find_by_name(s, name, position_of(name), call.generation) if s is not None else None
    if res is None:
        raise AwsError("ResourceNotFoundException", f"No cluster found for name: {name}.", 404)
    info = inv.info(s)  # type: ignore[arg-type]
    h = res.h
    acct = info.account_id
    oidc = f"{mix(h) & 0xFFFFFFFFFFFFFFFFFFFFFFFF:024X}"
    return {
        "cluster": {
            "name": res.name,
            "arn": res.arn,
            "createdAt": float(BASE_EPOCH + (h >> 24) % (3 * 365 * 86400)),
            "version": _VERSIONS[(h >> 8) % len(_VERSIONS)],
            "endpoint": f"https://{oidc}.gr7.{info.region}.eks.amazonaws.com",
            "roleArn": f"arn:aws:iam::{acct}:role/eks-cluster-role",
            "resourcesVpcConfig": {
                "subnetIds": [f"subnet-0{(h >> 4) & 0xFFFFFFFFFFFFFFFF:016x}"],
                "securityGroupIds": [],
                "clusterSecurityGroupId": f"sg-0{(h >> 6) & 0xFFFFFFFFFFFFFFFF:016x}",
                "vpcId": f"vpc-0{(info.key >> 5) & 0xFFFFFFFFFFFFFFFF:016x}",
                "endpointPublicAccess": False,
                "endpointPrivateAccess": True,
                "publicAccessCidrs": [],
            },
            "kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4"},
            "logging": {"clusterLogging": [{"types": ["api", "audit"], "enabled": False}]},
            "identity": {"oidc": {"issuer": f"https://oidc.eks.{info.region}.amazonaws.com/id/{oidc}"}},
            "status": "ACTIVE",
            "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="},
            "platformVersion": "eks.7",
            "tags": call.world.tags.dicts[res.tagset],
            "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"},
        }
    }
