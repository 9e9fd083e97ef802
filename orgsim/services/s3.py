"""Amazon S3 (rest-xml, path-style): ListBuckets and GetBucketTagging.

Bucket names spell their owner, region and position (``orgsim-ACCT-rNN-POS``), which keeps
them globally unique, sorted the way ListBuckets sorts, and resolvable without a table.
"""

from __future__ import annotations

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.hashing import mix
from orgsim.inventory import Res, ScopeInfo
from orgsim.org import BASE_EPOCH
from orgsim.paging import cursor_token, read_cursor, walk
from orgsim.protocols import S3_NS
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
        signing_name="s3",
        protocol="rest-xml",
        throttle=("SlowDown", 503),
        server_error=("InternalError", 500),
        access_denied=("AccessDenied", 403),
        validation=("InvalidArgument", 400),
        # S3 bucket-level APIs are metered far above what a discovery run needs (thousands per
        # second per prefix); this bucket only bites in throttle storms.
        quotas={"*": (100.0, 200.0)},
        scp_exempt=frozenset({"ListBuckets"}),
    )
)


def bucket_name(info: ScopeInfo, pos: int, h: int) -> str:
    return f"orgsim-{info.account_id}-r{info.region_index:02d}-{pos:07d}"


register_type(
    ResourceType(rtype="s3:bucket", weight=6.0, arn_prefix="arn:aws:s3:::", name=bucket_name,
                 listed_globally=True)
)


def _tag_xml(ts: TagSet) -> str:
    return "".join(f"<Tag><Key>{esc(k)}</Key><Value>{esc(v)}</Value></Tag>" for k, v in ts)


def _account_scopes(call: Call, region: str | None) -> list[int]:
    inv = call.inv
    out = []
    for r in call.account.regions:
        if region and r != region:
            continue
        s = inv.account_scopes(call.caller.account, r, "s3:bucket")
        if s is not None and inv.counts[s]:
            out.append(s)
    return sorted(out)


@operation("s3", "ListBuckets", method="GET", path="/")
def list_buckets(call: Call) -> str:
    inv = call.inv
    params = call.params
    paged = any(k in params for k in ("max-buckets", "continuation-token", "prefix", "bucket-region"))
    limit = call.int_param("max-buckets", 10000, 1, 10000)
    prefix = params.get("prefix") or ""
    scopes = _account_scopes(call, params.get("bucket-region"))
    bad = AwsError("InvalidArgument", "The continuation token provided is incorrect")
    cursor = read_cursor(params.get("continuation-token"), "s3b", bad)
    accept = (lambda r: r.name.startswith(prefix)) if prefix else None
    items, nxt = walk(inv, scopes, cursor, limit, call.generation, accept)
    call.stats.items["s3:ListBuckets"] += len(items)
    acct = call.account
    owner = f"<ID>{mix(int(acct.account_id)):016x}</ID><DisplayName>{esc(acct.name)}</DisplayName>"
    parts = [f'<ListAllMyBucketsResult xmlns="{S3_NS}"><Owner>{owner}</Owner><Buckets>']
    for res in items:
        info = inv.info(res.scope)
        created = iso(BASE_EPOCH + (res.h >> 24) % (3 * 365 * 86400), millis=True)
        region = f"<BucketRegion>{info.region}</BucketRegion>" if paged else ""
        parts.append(f"<Bucket><Name>{res.name}</Name><CreationDate>{created}</CreationDate>"
                     f"{region}</Bucket>")
    parts.append("</Buckets>")
    if nxt is not None:
        parts.append(el("ContinuationToken", cursor_token("s3b", *nxt)))
    if prefix:
        parts.append(el("Prefix", prefix))
    parts.append("</ListAllMyBucketsResult>")
    return "".join(parts)


def find_bucket(call: Call, name: str) -> Res | None:
    """The bucket of that name if it exists (in any account)."""
    parts = name.split("-")
    if len(parts) != 4 or parts[0] != "orgsim" or not parts[2].startswith("r"):
        return None
    acct = call.world.org.by_id.get(parts[1])
    if acct is None or not parts[2][1:].isdigit() or not parts[3].isdigit():
        return None
    inv = call.inv
    ri = int(parts[2][1:])
    if ri >= len(inv.regions) - 1:
        return None
    s = inv.account_scopes(acct.index, inv.regions[ri], "s3:bucket")
    if s is None:
        return None
    res = inv.resource(s, int(parts[3]), call.generation)
    return res if res is not None and res.name == name else None


@operation("s3", "GetBucketTagging", method="GET", path="/{Bucket}?tagging")
def get_bucket_tagging(call: Call) -> str:
    name = str(call.params.get("Bucket", ""))
    res = find_bucket(call, name)
    if res is None:
        raise AwsError("NoSuchBucket", "The specified bucket does not exist", 404)
    info = call.inv.info(res.scope)
    if info.account != call.caller.account:
        raise AwsError("AccessDenied", "Access Denied", 403)
    if call.caller.account != 0 and info.region in call.account.scp_denied:
        # The request lands on the bucket's regional endpoint, so its region's SCP applies.
        raise AwsError(
            "AccessDenied",
            f"User: {call.caller.arn} is not authorized to perform: s3:GetBucketTagging on "
            f"resource: \"arn:aws:s3:::{name}\" with an explicit deny in a service control policy",
            403,
        )
    if res.tagset == 0:
        raise AwsError("NoSuchTagSet", "The TagSet does not exist", 404)
    tags = call.world.tags.render("s3", _tag_xml)[res.tagset]
    return f'<Tagging xmlns="{S3_NS}"><TagSet>{tags}</TagSet></Tagging>'


@operation("s3", "GetBucketLocation", method="GET", path="/{Bucket}?location")
def get_bucket_location(call: Call) -> str:
    name = str(call.params.get("Bucket", ""))
    res = find_bucket(call, name)
    if res is None:
        raise AwsError("NoSuchBucket", "The specified bucket does not exist", 404)
    info = call.inv.info(res.scope)
    if info.account != call.caller.account:
        raise AwsError("AccessDenied", "Access Denied", 403)
    # us-east-1 buckets answer with an empty constraint, as S3 always has.
    if info.region == "us-east-1":
        return f'<LocationConstraint xmlns="{S3_NS}"/>'
    return f'<LocationConstraint xmlns="{S3_NS}">{info.region}</LocationConstraint>'
