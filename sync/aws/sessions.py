"""Sessions and credentials: the SDK's default chain or a profile, and assumed roles.

Assumed-role credentials are refreshable: aiobotocore refreshes them before they expire, which
matters because role chaining caps a session at one hour and a large sync can outlast that.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from functools import cache
from typing import Any

from aiobotocore.credentials import AioRefreshableCredentials
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider
from botocore.loaders import Loader, create_loader
from botocore.utils import parse_timestamp

SESSION_NAME = "orgsync"


def fast_timestamp(value: Any) -> datetime:
    """botocore's default timestamp parser (dateutil) is ~90% of response parsing CPU.

    AWS sends ISO 8601 in XML and rest protocols; datetime.fromisoformat reads those ~10x faster.
    Anything else (epoch numbers from JSON protocols, odd formats) goes to botocore's parser.
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return parse_timestamp(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return parse_timestamp(value)


@cache
def _shared_loader() -> Loader:
    # Every account has its own session; without a shared loader each one re-reads and re-parses
    # the service model JSON files (measured: the largest CPU cost of a 50-account sync).
    return create_loader()


def new_session(profile: str | None = None) -> AioSession:
    """A session on the standard SDK configuration (env, profiles, AWS_ENDPOINT_URL*, ...)."""
    session = AioSession(profile=profile)
    session.register_component("data_loader", _shared_loader())
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=fast_timestamp)
    return session


def _utc_now() -> datetime:
    # botocore's default clock asks for the local timezone on every credential check, which costs
    # ~0.5 ms each; expiry times here are UTC, so UTC is enough.
    return datetime.now(timezone.utc)


class _StaticProvider(CredentialProvider):
    METHOD = "orgsync-assume-role"
    CANONICAL_NAME = "orgsync-assume-role"

    def __init__(self, credentials: AioRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    async def load(self) -> AioRefreshableCredentials:  # type: ignore[override]
        return self._credentials


AssumeRoleCall = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


async def assumed_role_session(
    assume_role: AssumeRoleCall,
    *,
    role_arn: str,
    external_id: str | None,
    session_name: str = SESSION_NAME,
    duration_seconds: int = 3600,
) -> AioSession:
    """A session whose credentials come from AssumeRole, refreshed before expiry.

    `assume_role` performs the STS call (rate limited and retried by the caller's machinery);
    the first call happens here so that an account whose role cannot be assumed fails now,
    with its AWS error code, instead of inside every scope.
    """
    params: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name[:64],
        "DurationSeconds": duration_seconds,
    }
    if external_id:
        params["ExternalId"] = external_id

    async def fetch() -> dict[str, str]:
        response = await assume_role(params)
        creds = response["Credentials"]
        expiration = creds["Expiration"]
        if isinstance(expiration, datetime):
            expiration = expiration.astimezone(timezone.utc).isoformat()
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": str(expiration),
        }

    first = await fetch()
    credentials = AioRefreshableCredentials(
        access_key=first["access_key"], secret_key=first["secret_key"], token=first["token"],
        expiry_time=fast_timestamp(first["expiry_time"]), refresh_using=fetch,
        method=_StaticProvider.METHOD, time_fetcher=_utc_now,
    )
    session = new_session()
    session.get_component("credential_provider").insert_before("env", _StaticProvider(credentials))
    return session
