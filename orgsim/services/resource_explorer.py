"""AWS Resource Explorer (rest-json): indexes, views and service configuration.

The query operations (ListResources, Search) live in ``resource_explorer_query``.
"""

from __future__ import annotations

from typing import Any

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.explorer import Explorer, View
from orgsim.paging import offset_page
from orgsim.registry import ServiceSpec, operation, register_service
from orgsim.wire import iso

SPEC = register_service(
    ServiceSpec(
        signing_name="resource-explorer-2",
        protocol="rest-json",
        throttle=("ThrottlingException", 429),
        server_error=("InternalServerException", 500),
        access_denied=("AccessDeniedException", 403),
        validation=("ValidationException", 400),
        # Resource Explorer quotas, per account per region, not adjustable: Search 5/s, every
        # other operation 3/s together.
        quotas={"Search": (5.0, 5.0), "*": (3.0, 3.0)},
        quota_per_op=False,
    )
)


def explorer(call: Call) -> Explorer:
    ex: Explorer = call.world.explorer
    return ex


def bad_token() -> AwsError:
    return AwsError("ValidationException", "The NextToken is invalid.")


def resolve_view(call: Call) -> View:
    """The view a query runs against: ViewArn, or the Region's default view (else 401)."""
    ex = explorer(call)
    arn = call.str_param("ViewArn")
    if arn:
        view = ex.view_by_arn.get(arn)
        if view is None:
            raise AwsError("ResourceNotFoundException", f"View {arn} not found.", 404)
        if view.account != call.caller.account or view.region != call.region:
            raise AwsError("UnauthorizedException",
                           "You don't have permission to use the specified view.", 401)
        return view
    view = ex.default_view(call.caller.account, call.region)
    if view is None:
        raise AwsError(
            "UnauthorizedException",
            "The Region has no default view or you don't have permission to use it.",
            401,
        )
    return view


def view_json(call: Call, view: View) -> dict[str, Any]:
    ex = explorer(call)
    out: dict[str, Any] = {
        "ViewArn": view.arn,
        "Owner": call.world.org.accounts[view.account].account_id,
        "LastUpdatedAt": iso(1_650_000_000, millis=True),
        "Scope": ex.scope_arn(view),
        "IncludedProperties": [{"Name": "tags"}] if view.include_tags else [],
        "Filters": {"FilterString": view.filter},
    }
    return out


@operation("resource-explorer-2", "ListIndexes", method="POST", path="/ListIndexes")
def list_indexes(call: Call) -> dict[str, Any]:
    ex = explorer(call)
    kind = call.str_param("Type")
    regions = call.params.get("Regions") or None
    limit = call.int_param("MaxResults", 100, 1, 100)
    items = [
        {"Region": idx.region, "Arn": idx.arn, "Type": idx.type}
        for (a, _), idx in sorted(ex.indexes.items())
        if a == call.caller.account and (not kind or idx.type == kind)
        and (regions is None or idx.region in regions)
    ]
    page, token = offset_page(items, call.str_param("NextToken"), limit, "li", bad_token())
    out: dict[str, Any] = {"Indexes": list(page)}
    if token:
        out["NextToken"] = token
    return out


@operation("resource-explorer-2", "ListIndexesForMembers", method="POST",
           path="/ListIndexesForMembers")
def list_indexes_for_members(call: Call) -> dict[str, Any]:
    ex = explorer(call)
    org = call.world.org
    if not call.is_management or not org.enabled:
        raise AwsError("AccessDeniedException", "Only the management account or a delegated "
                       "administrator can list member indexes.", 403)
    if not ex.cfg.trusted_access:
        raise AwsError("AccessDeniedException", "Trusted access for Resource Explorer is not "
                       "enabled for the organization.", 403)
    ids = call.params.get("AccountIdList")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 10:
        raise call.invalid("AccountIdList must contain between 1 and 10 account IDs.")
    limit = call.int_param("MaxResults", 10, 1, 10)
    items = []
    for acct_id in ids:
        acct = org.by_id.get(str(acct_id))
        if acct is None:
            continue
        for region in acct.regions:
            idx = ex.indexes.get((acct.index, region))
            if idx is not None:
                items.append({"AccountId": acct.account_id, "Region": region, "Arn": idx.arn,
                              "Type": idx.type})
    page, token = offset_page(items, call.str_param("NextToken"), limit, "lim", bad_token())
    out: dict[str, Any] = {"Indexes": list(page)}
    if token:
        out["NextToken"] = token
    return out


@operation("resource-explorer-2", "GetIndex", method="POST", path="/GetIndex")
def get_index(call: Call) -> dict[str, Any]:
    ex = explorer(call)
    idx = ex.indexes.get((call.caller.account, call.region))
    if idx is None:
        raise AwsError("ResourceNotFoundException",
                       f"Resource Explorer has no index in {call.region}.", 404)
    others = sorted(r for (a, r) in ex.indexes if a == call.caller.account and r != idx.region)
    agg = ex.aggregator_of(call.caller.account)
    out: dict[str, Any] = {
        "Arn": idx.arn,
        "Type": idx.type,
        "State": idx.state,
        "CreatedAt": iso(idx.created),
        "LastUpdatedAt": iso(idx.created + 3600),
        "Tags": {},
    }
    if idx.type == "AGGREGATOR":
        out["ReplicatingFrom"] = others
    elif agg is not None:
        out["ReplicatingTo"] = [agg.region]
    return out


@operation("resource-explorer-2", "GetDefaultView", method="POST", path="/GetDefaultView")
def get_default_view(call: Call) -> dict[str, Any]:
    ex = explorer(call)
    if (call.caller.account, call.region) not in ex.indexes:
        raise AwsError("ResourceNotFoundException",
                       f"Resource Explorer has no index in {call.region}.", 404)
    view = ex.default_view(call.caller.account, call.region)
    return {"ViewArn": view.arn} if view else {}


@operation("resource-explorer-2", "ListViews", method="POST", path="/ListViews")
def list_views(call: Call) -> dict[str, Any]:
    views = [v.arn for v in explorer(call).views.get((call.caller.account, call.region), [])]
    limit = call.int_param("MaxResults", 50, 1, 50)
    page, token = offset_page(views, call.str_param("NextToken"), limit, "lv", bad_token())
    out: dict[str, Any] = {"Views": list(page)}
    if token:
        out["NextToken"] = token
    return out


@operation("resource-explorer-2", "GetView", method="POST", path="/GetView")
def get_view(call: Call) -> dict[str, Any]:
    if not call.str_param("ViewArn"):
        raise call.invalid("ViewArn is required.")
    return {"View": view_json(call, resolve_view(call)), "Tags": {}}


@operation("resource-explorer-2", "BatchGetView", method="POST", path="/BatchGetView")
def batch_get_view(call: Call) -> dict[str, Any]:
    ex = explorer(call)
    views, errors = [], []
    for arn in call.params.get("ViewArns") or []:
        view = ex.view_by_arn.get(str(arn))
        if view is None or view.account != call.caller.account or view.region != call.region:
            errors.append({"ViewArn": str(arn), "ErrorMessage": "View not found"})
        else:
            views.append(view_json(call, view))
    return {"Views": views, "Errors": errors}


@operation("resource-explorer-2", "ListSupportedResourceTypes", method="POST",
           path="/ListSupportedResourceTypes")
def list_supported_resource_types(call: Call) -> dict[str, Any]:
    items = [{"Service": t.split(":", 1)[0], "ResourceType": t} for t in explorer(call).supported]
    limit = call.int_param("MaxResults", 100, 1, 1000)
    page, token = offset_page(items, call.str_param("NextToken"), limit, "lst", bad_token())
    out: dict[str, Any] = {"ResourceTypes": list(page)}
    if token:
        out["NextToken"] = token
    return out


@operation("resource-explorer-2", "GetAccountLevelServiceConfiguration", method="POST",
           path="/GetAccountLevelServiceConfiguration")
def get_account_level_service_configuration(call: Call) -> dict[str, Any]:
    org = call.world.org
    if not org.enabled:
        raise AwsError("ResourceNotFoundException", "The account is not part of an "
                       "organization.", 404)
    on = explorer(call).cfg.trusted_access
    return {
        "OrgConfiguration": {
            "AWSServiceAccessStatus": "ENABLED" if on else "DISABLED",
            "ServiceLinkedRole": (
                f"arn:aws:iam::{call.account.account_id}:role/aws-service-role/"
                "resource-explorer-2.amazonaws.com/AWSServiceRoleForResourceExplorer"
            ),
        }
    }
