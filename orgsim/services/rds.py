"""Amazon RDS (query): DescribeDBInstances with inline TagList."""

from __future__ import annotations

from collections.abc import Callable

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.hashing import mix
from orgsim.inventory import Res, ScopeInfo, position_of
from orgsim.org import BASE_EPOCH
from orgsim.paging import scope_listing
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
        signing_name="rds",
        protocol="query",
        xmlns="http://rds.amazonaws.com/doc/2014-10-31/",
        throttle=("Throttling", 400),
        server_error=("InternalFailure", 500),
        access_denied=("AccessDenied", 403),
        validation=("InvalidParameterValue", 400),
        # RDS meters its API per account and region with a token bucket; describe calls get a
        # modest burst and refill.
        quotas={"*": (10.0, 40.0)},
    )
)

_ENGINES = (("postgres", "16.3", 5432), ("mysql", "8.0.36", 3306), ("mariadb", "10.11.6", 3306))
_CLASSES = ("db.t3.micro", "db.t3.medium", "db.m5.large", "db.r6g.xlarge")


def db_name(info: ScopeInfo, pos: int, h: int) -> str:
    return f"db-{pos:06d}-{h & 0xFFFF:04x}"


register_type(
    ResourceType(
        rtype="rds:db", weight=4.0, arn_prefix="arn:aws:rds:{region}:{account}:db:", name=db_name
    )
)


def _tag_xml(ts: TagSet) -> str:
    items = "".join(f"<Tag><Key>{esc(k)}</Key><Value>{esc(v)}</Value></Tag>" for k, v in ts)
    return f"<TagList>{items}</TagList>"


def _db_xml(info: ScopeInfo, res: Res, tags: list[str]) -> str:
    h = res.h
    engine, version, port = _ENGINES[(h >> 8) % len(_ENGINES)]
    az = info.region + "abc"[(h >> 12) % 3]
    return (
        f"<DBInstance><DBInstanceIdentifier>{res.name}</DBInstanceIdentifier>"
        f"<DBInstanceClass>{_CLASSES[(h >> 16) % len(_CLASSES)]}</DBInstanceClass>"
        f"<Engine>{engine}</Engine><DBInstanceStatus>available</DBInstanceStatus>"
        f"<MasterUsername>admin</MasterUsername>"
        f"<Endpoint><Address>{res.name}.c{info.key & 0xFFFFFFFFFF:010x}.{info.region}"
        f".rds.amazonaws.com</Address><Port>{port}</Port>"
        f"<HostedZoneId>Z2R2ITUGPM61AM</HostedZoneId></Endpoint>"
        f"<AllocatedStorage>{20 * (1 + (h >> 20) % 50)}</AllocatedStorage>"
        f"<InstanceCreateTime>{iso(BASE_EPOCH + (h >> 24) % (3 * 365 * 86400), True)}"
        f"</InstanceCreateTime>"
        f"<PreferredBackupWindow>03:00-03:30</PreferredBackupWindow>"
        f"<BackupRetentionPeriod>7</BackupRetentionPeriod>"
        f"<AvailabilityZone>{az}</AvailabilityZone>"
        f"<PreferredMaintenanceWindow>sun:05:00-sun:05:30</PreferredMaintenanceWindow>"
        f"<MultiAZ>{'true' if (h >> 28) % 4 == 0 else 'false'}</MultiAZ>"
        f"<EngineVersion>{version}</EngineVersion>"
        f"<AutoMinorVersionUpgrade>true</AutoMinorVersionUpgrade>"
        f"<LicenseModel>general-public-license</LicenseModel>"
        f"<PubliclyAccessible>false</PubliclyAccessible><StorageType>gp3</StorageType>"
        f"<StorageEncrypted>true</StorageEncrypted>"
        f"<DbiResourceId>db-{mix(h) & 0xFFFFFFFFFFFFFFFF:016X}</DbiResourceId>"
        f"<DBInstanceArn>{res.arn}</DBInstanceArn>{tags[res.tagset]}"
        f"<DeletionProtection>false</DeletionProtection></DBInstance>"
    )


def _filters(call: Call) -> Callable[[Res], bool] | None:
    raw = call.query_filters("Filters.Filter", "Values.Value")
    if not raw:
        return None
    checks: list[Callable[[Res], bool]] = []
    for name, values in raw.items():
        vals = set(values)
        if name in ("db-instance-id", "dbi-resource-id"):
            checks.append(lambda r, v=vals: r.name in v or r.arn in v)
        elif name == "engine":
            checks.append(lambda r, v=vals: _ENGINES[(r.h >> 8) % len(_ENGINES)][0] in v)
        else:
            raise AwsError("InvalidParameterValue", f"Unrecognized filter name: {name}")
    return lambda r: all(c(r) for c in checks)


@operation("rds", "DescribeDBInstances")
def describe_db_instances(call: Call) -> str:
    inv = call.inv
    s = inv.account_scopes(call.caller.account, call.region, "rds:db")
    limit = call.int_param("MaxRecords", 100, 20, 100)
    ident = call.str_param("DBInstanceIdentifier")
    tags = call.world.tags.render("rds", _tag_xml)
    marker = None
    if ident:
        name = ident.rsplit(":", 1)[-1]
        pos = position_of(name)
        res = inv.find_by_name(s, name, pos, call.generation) if s is not None else None
        if res is None:
            raise AwsError("DBInstanceNotFound", f"DBInstance {ident} not found.", 404)
        items = [res]
    else:
        bad = AwsError("InvalidParameterValue", "Invalid marker")
        items, marker = scope_listing(
            inv, s, call.str_param("Marker"), "rdsdb", limit, call.generation, bad, _filters(call)
        )
    call.stats.items["rds:DescribeDBInstances"] += len(items)
    body = "".join(_db_xml(inv.info(r.scope), r, tags) for r in items)
    return f"<DBInstances>{body}</DBInstances>" + (el("Marker", marker) if marker else "")
