"""Which scope an ARN belongs to (pure), for `orgsync sync --arn`."""

from __future__ import annotations

from collections.abc import Collection

from sync.plan import ScopeKey
from sync.sources.model import GLOBAL_REGION


class UnknownArn(ValueError):
    pass


def scope_of_arn(arn: str, supported: Collection[str], global_types: Collection[str]) -> ScopeKey:
    """arn:partition:service:region:account:resource -> (account, region or 'global', type).

    The type is the supported `service:name` whose name starts the resource part
    (`instance/i-1`, `db:orders`, `role/admin`); an S3 ARN is a bucket.
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise UnknownArn(f"{arn!r} is not an ARN (arn:partition:service:region:account:resource)")
    _, _, service, region, account, resource = parts
    if service == "s3" and "s3:bucket" in supported and "/" not in resource:
        raise UnknownArn(f"{arn!r}: an S3 bucket ARN has no account; use --accounts with --types s3:bucket")
    for resource_type in sorted(supported):
        svc, name = resource_type.split(":", 1)
        if svc == service and (resource.startswith(f"{name}/") or resource.startswith(f"{name}:")):
            return ScopeKey(account, GLOBAL_REGION if resource_type in global_types else region, resource_type)
    raise UnknownArn(f"{arn!r}: not a resource type orgsync syncs ({', '.join(sorted(supported))})")
