"""What owner resolution returns to the access-flow layer: small frozen, documented records.

These types are the stable surface of `sync.owners`; fields are only ever added, with defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

OwnerSource = Literal["resource-owner-tag", "integration-owner-fallback", "none"]

# Problem codes, each with the sentence `OwnerProblem.message` renders ({value} is the problem's value).
PROBLEM_MESSAGES: dict[str, str] = {
    "idp-not-synced": "no identity directory is synced for integration {value}: run `orgsync idp sync`",
    "owner-tag-missing": "the resource has no '{value}' tag, or its value names nobody",
    "owner-not-in-idp": "owner '{value}' named by the tag is not in the IdP",
    "owner-group-empty": "group '{value}' named by the tag has no members",
    "owner-ambiguous": "owner '{value}' named by the tag matches several IdP principals; all of them approve",
    "integration-owner-not-in-idp": "integration owner '{value}' is not in the IdP",
    "integration-owner-group-empty": "integration owner group '{value}' has no members",
    "integration-owner-ambiguous": "integration owner '{value}' matches several IdP principals; all of them approve",
    "no-integration-owner": "the integration has no integration owner to fall back to",
}


@dataclass(frozen=True)
class OwnerProblem:
    """Something that kept resolution from finding the approvers it was meant to."""

    code: str  # a key of PROBLEM_MESSAGES
    value: str | None  # the owner value, tag key or integration the problem is about

    @property
    def message(self) -> str:
        template = PROBLEM_MESSAGES.get(self.code, self.code + ": {value}")
        return template.format(value=self.value)

    def __str__(self) -> str:
        return self.code if self.value is None else f"{self.code}: {self.value}"


@dataclass(frozen=True)
class Approver:
    """One IdP user who may approve access to the resource."""

    user_id: str
    user_name: str | None
    display_name: str | None
    email: str | None  # the primary email
    direct: bool  # named directly (attribute "user") rather than only through a group
    via_groups: tuple[str, ...]  # display names of the groups this user approves through
    matched_values: tuple[str, ...]  # the owner values (tag tokens or integration owners) that led here


@dataclass(frozen=True)
class OwnerResolution:
    """Who approves access to one resource, by which rule, and what went wrong on the way.

    `source` is the rule that produced `approvers`: `resource-owner-tag` (the owner tag named
    someone in the IdP), `integration-owner-fallback` (it did not; the integration owner
    approves), or `none` (nobody can approve; `problems` says why). `problems` may be non-empty
    even when approvers were found, e.g. one of two owners in a tag is unknown to the IdP.
    """

    arn: str
    integration: str
    account_id: str
    region: str
    resource_type: str
    source: OwnerSource
    attribute: str | None  # "user" | "group": how the rule's values were matched; None for `none`
    tag_key: str | None  # the integration's resource owner tag key; None when it has none
    tag_value: str | None  # the resource's value of that tag
    approvers: tuple[Approver, ...]
    problems: tuple[OwnerProblem, ...]

    @property
    def resolved(self) -> bool:
        return self.source != "none"

    def explain(self) -> str:
        """A few sentences for a person: the rule applied, who approves, what went wrong."""
        names = ", ".join(a.user_name or a.user_id for a in self.approvers)
        values = sorted({v for a in self.approvers for v in a.matched_values})
        if self.source == "resource-owner-tag":
            lines = [(f"Tag {self.tag_key}={self.tag_value!r} names {', '.join(values)} "
                      f"(matched as IdP {self.attribute}s): {len(self.approvers)} approver(s): {names}.")]
        elif self.source == "integration-owner-fallback":
            reason = "no resource owner was found" if self.tag_key else "the integration defines no resource owner"
            lines = [(f"Falls back to the integration owner because {reason}: {', '.join(values)} "
                      f"(IdP {self.attribute}s): {len(self.approvers)} approver(s): {names}.")]
        else:
            lines = ["Nobody can approve access to this resource."]
        lines.extend(f"Problem: {p.message}." for p in self.problems)
        return "\n".join(lines)


@dataclass(frozen=True)
class AccessDetails:
    """What an end user is shown when they access the resource."""

    arn: str
    integration: str
    kind: str  # aws-account | aws-organization
    account_id: str
    custom_access_details: str | None  # the integration's instructions, at most 400 characters
    sso_portal: str | None  # organization integrations: the access portal URL
    sign_in_url: str | None  # organization integrations: the portal's shortcut link to the account


def portal_console_link(portal: str, account_id: str, *, role_name: str | None = None,
                        destination: str | None = None) -> str:
    """The AWS access portal shortcut link that signs the user in to `account_id`'s console.

    The access portal's shortcut format is `{portal}/#/console?account_id=...`, optionally with
    `role_name` (a permission set) and a URL-encoded console `destination`; without a role the
    portal lets the user pick one of the roles assigned to them in that account.
    """
    link = f"{portal.rstrip('/')}/#/console?account_id={quote(account_id, safe='')}"
    if role_name:
        link += f"&role_name={quote(role_name, safe='')}"
    if destination:
        link += f"&destination={quote(destination, safe='')}"
    return link
