"""Amazon EC2 (its own query/XML flavour): DescribeRegions and DescribeInstances.

Instance ids are invertible (scope salt + a bijection of the position), so DescribeInstances
with InstanceIds resolves an id without any lookup table.
"""

from __future__ import annotations

from collections.abc import Callable

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.hashing import mix
from orgsim.inventory import Res, ScopeInfo
from orgsim.org import BASE_EPOCH
from orgsim.paging import cursor_token, read_cursor, walk
from orgsim.registry import (
    ResourceType,
    ServiceSpec,
    operation,
    register_service,
    register_type,
)
from orgsim.tags import TagSet
from orgsim.wire import el, esc, iso

SPEC = register_service(
    ServiceSpec(
        signing_name="ec2",
        protocol="ec2",
        throttle=("RequestLimitExceeded", 503),
        server_error=("InternalError", 500),
        access_denied=("UnauthorizedOperation", 403),
        validation=("InvalidParameterValue", 400),
        # EC2 request-rate token buckets, per API action per account per region: describe
        # ("non-mutating") actions refill at 20/s with a bucket of 100.
        quotas={"*": (20.0, 100.0)},
        scp_exempt=frozenset({"DescribeRegions"}),
    )
)

_MASK36 = (1 << 36) - 1
_MUL = 0x9E3779B97  # odd: invertible modulo 2**36
_INV = pow(_MUL, -1, 1 << 36)
_TYPES = ("t3.micro", "t3.medium", "m5.large", "m5.xlarge", "c5.2xlarge", "r5.large", "m6g.large")
_THREE_YEARS = 3 * 365 * 86400


def instance_id(info: ScopeInfo, pos: int, h: int) -> str:
    return f"i-{info.salt_hex}{(pos * _MUL + (info.key >> 28)) & _MASK36:09x}"


def instance_pos(info: ScopeInfo, iid: str) -> int | None:
    if len(iid) != 19 or not iid.startswith("i-") or iid[2:10] != info.salt_hex:
        return None
    try:
        x = int(iid[10:], 16)
    except ValueError:
        return None
    return ((x - (info.key >> 28)) * _INV) & _MASK36


register_type(
    ResourceType(
        rtype="ec2:instance",
        weight=30.0,
        arn_prefix="arn:aws:ec2:{region}:{account}:instance/",
        name=instance_id,
    )
)


def _tag_xml(ts: TagSet) -> str:
    if not ts:
        return ""
    items = "".join(f"<item><key>{esc(k)}</key><value>{esc(v)}</value></item>" for k, v in ts)
    return f"<tagSet>{items}</tagSet>"


def _state(h: int) -> tuple[int, str]:
    return (80, "stopped") if (h >> 4) % 5 == 0 else (16, "running")


def _instance_xml(call: Call, info: ScopeInfo, res: Res, tags: list[str]) -> str:
    h = res.h
    code, state = _state(h)
    az = info.region + "abc"[(h >> 30) % 3]
    ip = f"10.{(h >> 8) & 255}.{(h >> 16) & 255}.{(h >> 24) & 255 or 1}"
    k = info.key
    return (
        f"<item><instanceId>{res.name}</instanceId>"
        f"<imageId>ami-0{mix(k) & 0xFFFFFFFFFFFFFFFF:016x}</imageId>"
        f"<instanceState><code>{code}</code><name>{state}</name></instanceState>"
        f"<privateDnsName>ip-{ip.replace('.', '-')}.{info.region}.compute.internal</privateDnsName>"
        f"<dnsName></dnsName><reason></reason><amiLaunchIndex>0</amiLaunchIndex><productCodes/>"
        f"<instanceType>{_TYPES[(h >> 8) % len(_TYPES)]}</instanceType>"
        f"<launchTime>{iso(BASE_EPOCH + (h >> 20) % _THREE_YEARS, millis=True)}</launchTime>"
        f"<placement><availabilityZone>{az}</availabilityZone><groupName></groupName>"
        f"<tenancy>default</tenancy></placement>"
        f"<monitoring><state>disabled</state></monitoring>"
        f"<subnetId>subnet-0{(k >> 3) & 0xFFFFFFFFFFFFFFF:015x}{(h >> 30) % 3}</subnetId>"
        f"<vpcId>vpc-0{(k >> 5) & 0xFFFFFFFFFFFFFFFF:016x}</vpcId>"
        f"<privateIpAddress>{ip}</privateIpAddress>"
        f"<architecture>{'arm64' if (h >> 8) % len(_TYPES) == 6 else 'x86_64'}</architecture>"
        f"<rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName>"
        f"<virtualizationType>hvm</virtualizationType>{tags[res.tagset]}"
        f"<hypervisor>xen</hypervisor><ebsOptimized>false</ebsOptimized>"
        f"<enaSupport>true</enaSupport><platformDetails>Linux/UNIX</platformDetails>"
        f"<usageOperation>RunInstances</usageOperation></item>"
    )


def _filters(call: Call, info: ScopeInfo) -> Callable[[Res], bool] | None:
    raw = call.query_filters("Filter")
    if not raw:
        return None
    sets = call.world.tags.dicts
    checks: list[Callable[[Res], bool]] = []
    for name, values in raw.items():
        vals = set(values)
        if name == "instance-state-name":
            checks.append(lambda r, v=vals: _state(r.h)[1] in v)
        elif name == "instance-id":
            checks.append(lambda r, v=vals: r.name in v)
        elif name == "instance-type":
            checks.append(lambda r, v=vals: _TYPES[(r.h >> 8) % len(_TYPES)] in v)
        elif name == "availability-zone":
            checks.append(lambda r, v=vals: info.region + "abc"[(r.h >> 30) % 3] in v)
        elif name == "tag-key":
            checks.append(lambda r, v=vals: any(k in v for k in sets[r.tagset]))
        elif name.startswith("tag:"):
            key = name[4:]
            checks.append(lambda r, v=vals, k=key: sets[r.tagset].get(k) in v)
        else:
            raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
    return lambda r: all(c(r) for c in checks)


@operation("ec2", "DescribeInstances")
def describe_instances(call: Call) -> str:
    inv = call.inv
    s = inv.account_scopes(call.caller.account, call.region, "ec2:instance")
    ids = call.list_param("InstanceId")
    if ids and "MaxResults" in call.params:
        raise AwsError(
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        )
    limit = call.int_param("MaxResults", 1000, 5, 1000)
    tags = call.world.tags.render("ec2", _tag_xml)
    results: list[Res] = []
    next_token = None
    if s is not None:
        info = inv.info(s)
        if ids:
            for iid in ids:
                pos = instance_pos(info, iid)
                res = inv.resource(s, pos, call.generation) if pos is not None else None
                if res is None or res.name != iid:
                    raise AwsError(
                        "InvalidInstanceID.NotFound", f"The instance ID '{iid}' does not exist"
                    )
                results.append(res)
        else:
            bad = AwsError("InvalidNextToken", "The token is invalid or has expired")
            cursor = read_cursor(call.params.get("NextToken"), "ec2i", bad)
            if cursor[0] not in (-1, s):
                raise bad
            accept = _filters(call, info)
            results, nxt = walk(inv, [s], cursor, limit, call.generation, accept, budget=50_000)
            if nxt is not None:
                next_token = cursor_token("ec2i", *nxt)
    elif ids:
        raise AwsError("InvalidInstanceID.NotFound", f"The instance ID '{ids[0]}' does not exist")
    call.stats.items["ec2:DescribeInstances"] += len(results)
    parts = ["<reservationSet>"]
    if results:
        info = inv.info(results[0].scope)
        owner = info.account_id
        group = -1
        for res in results:
            g = res.pos // 3  # instances launched together share a reservation
            if g != group:
                if group >= 0:
                    parts.append("</instancesSet></item>")
                group = g
                rid = mix(info.key ^ (g + 1)) & 0xFFFFFFFFFFFFFFFF
                parts.append(
                    f"<item><reservationId>r-0{rid:016x}</reservationId><ownerId>{owner}</ownerId>"
                    f"<groupSet/><instancesSet>"
                )
            parts.append(_instance_xml(call, info, res, tags))
        parts.append("</instancesSet></item>")
    parts.append("</reservationSet>")
    if next_token:
        parts.append(el("nextToken", next_token))
    return "".join(parts)


@operation("ec2", "DescribeRegions")
def describe_regions(call: Call) -> str:
    org = call.world.org
    acct = call.account
    opt_in = set(call.world.scenario.organization.opt_in_regions)
    all_regions = call.bool_param("AllRegions")
    wanted = call.list_param("RegionName")
    unknown = [r for r in wanted if r not in org.regions]
    if unknown:
        raise AwsError("InvalidParameterValue", f"Invalid region: {unknown[0]}")
    filters = call.query_filters("Filter")
    items = []
    for region in org.regions:
        enabled = region in acct.regions
        if not enabled and not all_regions and region not in wanted:
            continue
        if wanted and region not in wanted:
            continue
        status = (
            "opt-in-not-required" if region not in opt_in else "opted-in" if enabled
            else "not-opted-in"
        )
        if "opt-in-status" in filters and status not in filters["opt-in-status"]:
            continue
        if "region-name" in filters and region not in filters["region-name"]:
            continue
        items.append(
            f"<item><regionName>{region}</regionName>"
            f"<regionEndpoint>ec2.{region}.amazonaws.com</regionEndpoint>"
            f"<optInStatus>{status}</optInStatus></item>"
        )
    return f"<regionInfo>{''.join(items)}</regionInfo>"
