"""AWS IAM (query, global): roles, users, groups, customer managed policies and their tags.

Like AWS, the list calls leave tags out (ListRoleTags & co. carry them), groups have no tags at
all, and ListPolicies without Scope=Local also returns AWS managed policies, which belong to no
account and are not part of the inventory. GetAccountAuthorizationDetails, like AWS, returns
users and roles with their tags inline (up to 1,000 entities a page) and policies without them.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from orgsim.call import Call
from orgsim.errors import AwsError
from orgsim.hashing import alnum, mix
from orgsim.inventory import Res, ScopeInfo, position_of
from orgsim.org import BASE_EPOCH
from orgsim.paging import cursor_token, read_cursor, scope_listing, walk
from orgsim.registry import (
    ResourceType,
    ServiceSpec,
    operation,
    register_service,
    register_type,
)
from orgsim.wire import decode_token, el, encode_token, esc, iso

SPEC = register_service(
    ServiceSpec(
        signing_name="iam",
        protocol="query",
        xmlns="https://iam.amazonaws.com/doc/2010-05-08/",
        regional=False,
        throttle=("Throttling", 400),
        server_error=("ServiceFailure", 500),
        access_denied=("AccessDenied", 403),
        validation=("ValidationError", 400),
        # IAM's control plane is global and throttles account-wide at a low rate.
        quotas={"*": (20.0, 40.0)},
        quota_per_op=False,
    )
)

_WORDS = ("app", "deploy", "ci", "lambda-exec", "readonly", "admin", "etl", "monitoring", "backup")
_AWS_POLICIES = (
    "AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "SecurityAudit",
    "AmazonS3ReadOnlyAccess", "AmazonEC2ReadOnlyAccess", "AWSLambdaBasicExecutionRole",
    "AmazonRDSReadOnlyAccess", "CloudWatchReadOnlyAccess", "AmazonDynamoDBReadOnlyAccess",
    "IAMReadOnlyAccess", "ViewOnlyAccess",
)
_TRUST = quote('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
               '{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}')


def _namer(kind: str) -> Callable[[ScopeInfo, int, int], str]:
    def name(info: ScopeInfo, pos: int, h: int) -> str:
        return f"{kind}-{pos:06d}-{_WORDS[h % len(_WORDS)]}"

    return name


# The per-account maxima are AWS's: 5,000 roles and customer managed policies (the highest quota
# Service Quotas grants), 5,000 users (fixed) and 500 groups, from "IAM object quotas" in
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
for _kind, _weight, _taggable, _most in (("role", 10.0, True, 5000), ("user", 3.0, True, 5000),
                                         ("group", 1.0, False, 500), ("policy", 4.0, True, 5000)):
    register_type(
        ResourceType(
            rtype=f"iam:{_kind}",
            weight=_weight,
            arn_prefix="arn:aws:iam::{account}:" + _kind + "/",
            name=_namer(_kind),
            is_global=True,
            taggable=_taggable,
            mutable=_taggable,  # groups have no tags to change; they stay as generated
            tags_in_explorer=False,
            # "The GetResources operation does not currently support IAM users and roles"; it
            # does serve the other taggable IAM resources, customer managed policies among them.
            in_tagging_api=_kind == "policy",
            per_account_max=_most,
        )
    )


def _id(prefix: str, h: int) -> str:
    return prefix + alnum(mix(h), 17).upper()


def _created(h: int) -> str:
    return iso(BASE_EPOCH + (h >> 24) % (3 * 365 * 86400))


def _role(res: Res) -> str:
    return (
        f"<member><Path>/</Path><RoleName>{res.name}</RoleName>"
        f"<RoleId>{_id('AROA', res.h)}</RoleId><Arn>{res.arn}</Arn>"
        f"<CreateDate>{_created(res.h)}</CreateDate>"
        f"<AssumeRolePolicyDocument>{_TRUST}</AssumeRolePolicyDocument>"
        f"<Description>orgsim role</Description><MaxSessionDuration>3600</MaxSessionDuration>"
        f"</member>"
    )


def _user(res: Res) -> str:
    return (
        f"<member><Path>/</Path><UserName>{res.name}</UserName>"
        f"<UserId>{_id('AIDA', res.h)}</UserId><Arn>{res.arn}</Arn>"
        f"<CreateDate>{_created(res.h)}</CreateDate></member>"
    )


def _group(res: Res) -> str:
    return (
        f"<member><Path>/</Path><GroupName>{res.name}</GroupName>"
        f"<GroupId>{_id('AGPA', res.h)}</GroupId><Arn>{res.arn}</Arn>"
        f"<CreateDate>{_created(res.h)}</CreateDate></member>"
    )


def _policy(name: str, arn: str, h: int, attachments: int) -> str:
    return (
        f"<member><PolicyName>{name}</PolicyName><PolicyId>{_id('ANPA', h)}</PolicyId>"
        f"<Arn>{arn}</Arn><Path>/</Path><DefaultVersionId>v1</DefaultVersionId>"
        f"<AttachmentCount>{attachments}</AttachmentCount>"
        f"<PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount>"
        f"<IsAttachable>true</IsAttachable><CreateDate>{_created(h)}</CreateDate>"
        f"<UpdateDate>{_created(h)}</UpdateDate></member>"
    )


def _bad_marker() -> AwsError:
    return AwsError("ValidationError", "Invalid Marker.", 400)


def _scope(call: Call, rtype: str) -> int | None:
    return call.inv.account_scopes(call.caller.account, "global", rtype)


def _list(call: Call, rtype: str, tag: str, render: Callable[[Res], str], key: str) -> str:
    limit = call.int_param("MaxItems", 100, 1, 1000)
    items, marker = scope_listing(
        call.inv, _scope(call, rtype), call.str_param("Marker"), tag, limit, call.generation,
        _bad_marker(),
    )
    call.stats.items[f"iam:{call.op}"] += len(items)
    return _finish(f"<{key}>{''.join(render(r) for r in items)}</{key}>", marker)


def _finish(body: str, marker: str | None) -> str:
    if marker:
        return body + "<IsTruncated>true</IsTruncated>" + el("Marker", marker)
    return body + "<IsTruncated>false</IsTruncated>"


@operation("iam", "ListRoles")
def list_roles(call: Call) -> str:
    return _list(call, "iam:role", "iamr", _role, "Roles")


@operation("iam", "ListUsers")
def list_users(call: Call) -> str:
    return _list(call, "iam:user", "iamu", _user, "Users")


@operation("iam", "ListGroups")
def list_groups(call: Call) -> str:
    return _list(call, "iam:group", "iamg", _group, "Groups")


@operation("iam", "ListPolicies")
def list_policies(call: Call) -> str:
    scope = call.str_param("Scope", "All")
    if scope not in ("All", "AWS", "Local"):
        raise call.invalid(f"Invalid Scope: {scope}")
    limit = call.int_param("MaxItems", 100, 1, 1000)
    token = call.str_param("Marker")
    # Marker: (stage, ...): stage 0 walks AWS managed policies, stage 1 the local ones.
    stage, offset = (0 if scope != "Local" else 1), 0
    local_token = None
    if token:
        parts = decode_token(token, 3)
        if parts is None or parts[0] != "iamp" or parts[1] not in (0, 1):
            raise _bad_marker()
        stage = int(parts[1])
        if stage == 0:
            offset = int(parts[2])
        else:
            local_token = str(parts[2]) or None
    out: list[str] = []
    marker = None
    if stage == 0:
        chunk = _AWS_POLICIES[offset : offset + limit]
        for i, name in enumerate(chunk):
            h = mix(offset + i + 7)
            out.append(_policy(name, f"arn:aws:iam::aws:policy/{name}", h, (h >> 8) % 20))
        offset += len(chunk)
        if offset < len(_AWS_POLICIES):
            marker = encode_token("iamp", 0, offset)
        elif scope == "All" and len(out) < limit:
            stage = 1
        elif scope == "All":
            marker = encode_token("iamp", 1, "")
    if stage == 1 and marker is None:
        s = _scope(call, "iam:policy")
        inner = read_cursor(local_token, "iamp-l", _bad_marker()) if local_token else (-1, 0)
        scopes = [s] if s is not None else []
        items, nxt = walk(call.inv, scopes, inner, limit - len(out), call.generation)
        out.extend(_policy(r.name, r.arn, r.h, (r.h >> 8) % 5) for r in items)
        call.stats.items["iam:ListPolicies"] += len(items)
        if nxt is not None:
            marker = encode_token("iamp", 1, cursor_token("iamp-l", *nxt))
    return _finish(f"<Policies>{''.join(out)}</Policies>", marker)


def _tags_of(call: Call, rtype: str, name: str, what: str) -> str:
    s = _scope(call, rtype)
    res = (call.inv.find_by_name(s, name, position_of(name), call.generation)
           if s is not None else None)
    if res is None:
        raise AwsError("NoSuchEntity", f"The {what} with name {name} cannot be found.", 404)
    limit = call.int_param("MaxItems", 100, 1, 1000)
    pairs = call.world.tags.sets[res.tagset]
    start = 0
    token = call.str_param("Marker")
    if token:
        parts = decode_token(token, 2)
        if parts is None or parts[0] != "iamt" or not isinstance(parts[1], int):
            raise _bad_marker()
        start = parts[1]
    chunk = pairs[start : start + limit]
    body = "".join(
        f"<member><Key>{esc(k)}</Key><Value>{esc(v)}</Value></member>" for k, v in chunk
    )
    end = start + len(chunk)
    return _finish(f"<Tags>{body}</Tags>", encode_token("iamt", end) if end < len(pairs) else None)


@operation("iam", "ListRoleTags")
def list_role_tags(call: Call) -> str:
    return _tags_of(call, "iam:role", call.str_param("RoleName", required=True) or "", "role")


@operation("iam", "ListUserTags")
def list_user_tags(call: Call) -> str:
    return _tags_of(call, "iam:user", call.str_param("UserName", required=True) or "", "user")


@operation("iam", "ListPolicyTags")
def list_policy_tags(call: Call) -> str:
    arn = call.str_param("PolicyArn", required=True) or ""
    prefix = f"arn:aws:iam::{call.caller.account_id}:policy/"
    if not arn.startswith(prefix):
        if arn.startswith("arn:aws:iam::aws:policy/"):
            return _finish("<Tags></Tags>", None)
        raise AwsError("NoSuchEntity", f"Policy {arn} does not exist or is not attachable.", 404)
    return _tags_of(call, "iam:policy", arn[len(prefix):], "policy")


# GetAccountAuthorizationDetails walks the entity kinds in this order; its Marker is
# (stage, inner cursor) so that one page can span the end of one kind and the start of the next.
_DETAIL_KINDS = (
    ("User", "iam:user", "UserDetailList"),
    ("Group", "iam:group", "GroupDetailList"),
    ("Role", "iam:role", "RoleDetailList"),
    ("LocalManagedPolicy", "iam:policy", "Policies"),
)
_FILTERS = {kind for kind, _, _ in _DETAIL_KINDS} | {"AWSManagedPolicy"}


def _tag_xml(call: Call, res: Res) -> str:
    pairs = call.world.tags.sets[res.tagset]
    body = "".join(f"<member><Key>{esc(k)}</Key><Value>{esc(v)}</Value></member>" for k, v in pairs)
    return f"<Tags>{body}</Tags>"


def _detail(call: Call, rtype: str, res: Res) -> str:
    if rtype == "iam:role":
        return (_role(res)[: -len("</member>")] + "<InstanceProfileList/><RolePolicyList/>"
                "<AttachedManagedPolicies/>" + _tag_xml(call, res) + "<RoleLastUsed/></member>")
    if rtype == "iam:user":
        return (_user(res)[: -len("</member>")] + "<UserPolicyList/><GroupList/><AttachedManagedPolicies/>"
                + _tag_xml(call, res) + "</member>")
    if rtype == "iam:group":
        return _group(res)[: -len("</member>")] + "<GroupPolicyList/><AttachedManagedPolicies/></member>"
    return _policy(res.name, res.arn, res.h, (res.h >> 8) % 5)


@operation("iam", "GetAccountAuthorizationDetails")
def get_account_authorization_details(call: Call) -> str:
    wanted = call.list_param("Filter.member") or sorted(_FILTERS)
    unknown = [f for f in wanted if f not in _FILTERS]
    if unknown:
        raise call.invalid(f"Invalid Filter: {unknown[0]}")
    limit = call.int_param("MaxItems", 100, 1, 1000)
    stage, inner = 0, None
    token = call.str_param("Marker")
    if token:
        parts = decode_token(token, 3)
        if parts is None or parts[0] != "iamd" or not isinstance(parts[1], int):
            raise _bad_marker()
        stage, inner = parts[1], str(parts[2]) or None
    lists: dict[str, list[str]] = {key: [] for _, _, key in _DETAIL_KINDS}
    taken, marker = 0, None
    for i, (kind, rtype, key) in enumerate(_DETAIL_KINDS):
        if i < stage or kind not in wanted:
            continue
        if taken == limit:
            marker = encode_token("iamd", i, "")
            break
        items, nxt = scope_listing(call.inv, _scope(call, rtype), inner if i == stage else None,
                                   f"iamd{i}", limit - taken, call.generation, _bad_marker())
        lists[key].extend(_detail(call, rtype, r) for r in items)
        call.stats.items[f"iam:GetAccountAuthorizationDetails:{kind}"] += len(items)
        taken += len(items)
        if nxt is not None:
            marker = encode_token("iamd", i, nxt)
            break
    if marker is None and "AWSManagedPolicy" in wanted:
        # AWS managed policies are few and fixed: they ride on the last page.
        lists["Policies"].extend(_policy(n, f"arn:aws:iam::aws:policy/{n}", mix(j + 7), 0)
                                 for j, n in enumerate(_AWS_POLICIES))
    body = "".join(f"<{key}>{''.join(items)}</{key}>" for key, items in lists.items())
    return _finish(body, marker)
