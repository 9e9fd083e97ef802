"""Who is calling: the SigV4 credential scope and the simulator's own temporary credentials.

Signatures are never verified. Any access key the simulator did not issue acts as the
management account. ``sts:AssumeRole`` issues stateless keys: the access key id spells the
target account (``ASIA`` + 12 digits + 4-hex check) and the session token carries the role,
session name and expiry under an HMAC, so credentials survive without server-side state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

import orjson

from orgsim.errors import AwsError, expired, invalid_token
from orgsim.org import Organization
from orgsim.registry import ServiceSpec

ADMIN_USER = "orgsim-admin"


@dataclass(frozen=True)
class Scope:
    access_key: str
    date: str
    region: str
    service: str


@dataclass(frozen=True)
class Caller:
    account: int  # index into the organization's accounts
    account_id: str
    access_key: str
    assumed: bool
    role: str = ""
    session: str = ""
    expires: float = 0.0

    @property
    def arn(self) -> str:
        if self.assumed:
            return f"arn:aws:sts::{self.account_id}:assumed-role/{self.role}/{self.session}"
        return f"arn:aws:iam::{self.account_id}:user/{ADMIN_USER}"

    @property
    def user_id(self) -> str:
        if self.assumed:
            return f"AROA{self.account_id}ORGSIM:{self.session}"
        return f"AIDA{self.account_id}ORGSIM"


def parse_authorization(header: str | None) -> Scope | None:
    """Credential scope of ``AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request``."""
    if not header:
        return None
    start = header.find("Credential=")
    if start < 0:
        return None
    end = header.find(",", start)
    cred = header[start + 11 : end if end >= 0 else None].strip()
    parts = cred.split("/")
    if len(parts) != 5:
        return None
    return Scope(parts[0], parts[1], parts[2], parts[3])


class CredentialIssuer:
    def __init__(self, org: Organization, secret: bytes) -> None:
        self.org = org
        self.secret = secret

    def _check(self, account_id: str) -> str:
        return hmac.new(self.secret, account_id.encode(), hashlib.sha256).hexdigest()[:4].upper()

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self.secret, payload, hashlib.sha256).hexdigest()[:24]

    def issue(
        self, account_id: str, role: str, session: str, duration: int, now: float | None = None
    ) -> dict[str, object]:
        exp = int((time.time() if now is None else now) + duration)
        akid = f"ASIA{account_id}{self._check(account_id)}"
        payload = base64.urlsafe_b64encode(orjson.dumps([account_id, exp, role, session]))
        token = "orgsim." + payload.decode() + "." + self._sign(payload)
        secret = hashlib.sha256(self.secret + token.encode()).hexdigest()[:40]
        return {"AccessKeyId": akid, "SecretAccessKey": secret, "SessionToken": token, "Expiration": exp}

    def is_ours(self, akid: str) -> bool:
        return (
            len(akid) == 20
            and akid.startswith("ASIA")
            and akid[4:16].isdigit()
            and akid[16:] == self._check(akid[4:16])
        )

    def resolve(self, akid: str, token: str | None, spec: ServiceSpec) -> Caller:
        if not self.is_ours(akid):
            mgmt = self.org.management
            return Caller(mgmt.index, mgmt.account_id, akid, assumed=False)
        account_id = akid[4:16]
        if not token or not token.startswith("orgsim."):
            raise invalid_token(spec)
        try:
            _, payload, sig = token.split(".")
        except ValueError:
            raise invalid_token(spec) from None
        if not hmac.compare_digest(sig, self._sign(payload.encode())):
            raise invalid_token(spec)
        acct, exp, role, session = orjson.loads(base64.urlsafe_b64decode(payload))
        if acct != account_id:
            raise invalid_token(spec)
        if time.time() >= exp:
            raise expired(spec)
        account = self.org.by_id.get(account_id)
        if account is None:
            raise invalid_token(spec)
        return Caller(account.index, account_id, akid, True, role, session, float(exp))


def role_denied(message: str) -> AwsError:
    return AwsError("AccessDenied", message, 403)
