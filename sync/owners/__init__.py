"""Owner resolution for the access-flow layer (docs/owners.md).

Public surface: `resolve_owners`, `resolve_many`, `access_details`, `unresolved` and the frozen
records they return. The identity directory they look owners up in is loaded by `orgsync idp sync`.
"""

from sync.owners.api import (
    AmbiguousResource,
    CatalogRef,
    ResourceNotFound,
    UnresolvedGroup,
    access_details,
    resolve_many,
    resolve_owners,
    unresolved,
)
from sync.owners.model import (
    PROBLEM_MESSAGES,
    AccessDetails,
    Approver,
    OwnerProblem,
    OwnerResolution,
    OwnerSource,
    portal_console_link,
)

__all__ = [
    "PROBLEM_MESSAGES",
    "AccessDetails",
    "AmbiguousResource",
    "Approver",
    "CatalogRef",
    "OwnerProblem",
    "OwnerResolution",
    "OwnerSource",
    "ResourceNotFound",
    "UnresolvedGroup",
    "access_details",
    "portal_console_link",
    "resolve_many",
    "resolve_owners",
    "unresolved",
]
