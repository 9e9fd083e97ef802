"""AWS Organizations (json 1.1): the org tree, accounts and their states.

Like AWS, list calls take MaxResults 1-20 and may hand back an empty page with a NextToken
(scenario ``organization.empty_page_every``); the TPS is low and shared by every operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.org import OU, Account
from orgsim.registry import ServiceSpec, operation, register_service
from orgsim.wire import decode_token, encode_token

SPEC = register_service(
    ServiceSpec(
        signing_name="organizations",
        protocol="json",
        target_prefix="AWSOrganizationsV20161128",
        regional=False,
        throttle=("TooManyRequestsException", 400),
        server_error=("ServiceException", 500),
        access_denied=("AccessDeniedException", 400),
        validation=("InvalidInputException", 400),
        # Organizations throttles hard and account-wide; a shared ~2/s bucket forces callers
        # to serialize, which is what the AWS docs recommend.
        quotas={"*": (2.0, 2.0)},
        quota_per_op=False,
    )
)

_POLICY_TYPES = [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]


def _check(call: Call, management_only: bool = True) -> None:
    if not call.world.org.enabled:
        raise AwsError(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
    if management_only and not call.is_management:
        raise AwsError(
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        )


def _bad_token() -> AwsError:
    return AwsError("InvalidInputException", "You specified an invalid value for nextToken.")


def _page(call: Call, items: Sequence[Any], tag: str) -> tuple[Sequence[Any], str | None]:
    """A page with AWS's habit of occasional empty pages that still carry a NextToken."""
    limit = call.int_param("MaxResults", 20, 1, 20)
    every = call.world.scenario.organization.empty_page_every
    offset, served = 0, 0
    token = call.params.get("NextToken")
    if token:
        parts = decode_token(str(token), 3)
        if parts is None or parts[0] != tag or not isinstance(parts[1], int):
            raise _bad_token()
        offset, served = int(parts[1]), int(parts[2])
    if offset >= len(items):
        return [], None
    if every and not served and (offset // limit + 1) % every == 0:
        return [], encode_token(tag, offset, 1)
    page = items[offset : offset + limit]
    end = offset + len(page)
    if end < len(items):
        return page, encode_token(tag, end, 0)
    if every and (end // limit) % every == 0:
        return page, encode_token(tag, end, 0)  # a trailing token to an empty last page
    return page, None


def _account(call: Call, a: Account) -> dict[str, Any]:
    org = call.world.org
    return {
        "Id": a.account_id,
        "Arn": f"arn:aws:organizations::{org.management_id}:account/{org.org_id}/{a.account_id}",
        "Email": a.email,
        "Name": a.name,
        "Status": a.status,
        "State": a.state,
        "JoinedMethod": "CREATED" if a.index else "INVITED",
        "JoinedTimestamp": a.joined,
    }


def _ou(call: Call, ou: OU) -> dict[str, str]:
    org = call.world.org
    return {
        "Id": ou.ou_id,
        "Arn": f"arn:aws:organizations::{org.management_id}:ou/{org.org_id}/{ou.ou_id}",
        "Name": ou.name,
    }


def _parent(call: Call) -> str:
    parent = call.str_param("ParentId", required=True) or ""
    org = call.world.org
    if parent != org.root_id and parent not in org.ou_by_id:
        raise AwsError("ParentNotFoundException", "We can't find a root or OU with the ParentId "
                       "that you specified.")
    return parent


def _with_token(body: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token:
        body["NextToken"] = token
    return body


@operation("organizations", "DescribeOrganization")
def describe_organization(call: Call) -> dict[str, Any]:
    _check(call, management_only=False)
    org = call.world.org
    mgmt = org.management
    return {
        "Organization": {
            "Id": org.org_id,
            "Arn": org.org_arn,
            "FeatureSet": "ALL",
            "MasterAccountArn": (
                f"arn:aws:organizations::{mgmt.account_id}:account/{org.org_id}/{mgmt.account_id}"
            ),
            "MasterAccountId": mgmt.account_id,
            "MasterAccountEmail": mgmt.email,
            "AvailablePolicyTypes": _POLICY_TYPES,
        }
    }


@operation("organizations", "ListRoots")
def list_roots(call: Call) -> dict[str, Any]:
    _check(call)
    org = call.world.org
    root = {
        "Id": org.root_id,
        "Arn": f"arn:aws:organizations::{org.management_id}:root/{org.org_id}/{org.root_id}",
        "Name": "Root",
        "PolicyTypes": _POLICY_TYPES,
    }
    page, token = _page(call, [root], "roots")
    return _with_token({"Roots": list(page)}, token)


@operation("organizations", "ListOrganizationalUnitsForParent")
def list_ous_for_parent(call: Call) -> dict[str, Any]:
    _check(call)
    parent = _parent(call)
    ous = call.world.org.children_ous.get(parent, [])
    page, token = _page(call, ous, f"ous:{parent}")
    return _with_token({"OrganizationalUnits": [_ou(call, o) for o in page]}, token)


@operation("organizations", "ListAccountsForParent")
def list_accounts_for_parent(call: Call) -> dict[str, Any]:
    _check(call)
    parent = _parent(call)
    accounts = call.world.org.children_accounts.get(parent, [])
    page, token = _page(call, accounts, f"acc:{parent}")
    return _with_token({"Accounts": [_account(call, a) for a in page]}, token)


@operation("organizations", "ListAccounts")
def list_accounts(call: Call) -> dict[str, Any]:
    _check(call)
    page, token = _page(call, call.world.org.accounts, "accounts")
    return _with_token({"Accounts": [_account(call, a) for a in page]}, token)
