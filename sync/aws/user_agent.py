"""botocore's User-Agent string built once per client and feature set, not once per request.

botocore rebuilds the whole User-Agent header before sending every request (platform, Python,
config and feature components, each sanitized), so that features used by that request appear in
it: 4.7% of an org-500 sync's CPU in a py-spy profile. Everything but the feature ids is fixed
once the client exists, so the per-request rebuild is answered from a cache per client's
User-Agent object and the set of features in play.
"""

from __future__ import annotations

import weakref
from typing import Any

from botocore.context import get_context
from botocore.useragent import UserAgentString

_BUILT: weakref.WeakKeyDictionary[UserAgentString, dict[Any, str]] = weakref.WeakKeyDictionary()


def user_agent(ua: UserAgentString) -> str:
    """ua.to_string(), built once per client features x request-context features."""
    ctx = get_context()
    key = (frozenset(getattr(ua, "_client_features", None) or ()),
           frozenset(ctx.features) if ctx is not None else frozenset())
    built = _BUILT.get(ua)
    if built is None:
        built = _BUILT[ua] = {}
    found = built.get(key)
    if found is None:
        found = built[key] = ua.to_string()
    return found


def cache_user_agent_strings() -> None:
    original = UserAgentString.rebuild_and_replace_user_agent_handler
    if getattr(original, "_orgsync_cached", False):
        return

    def rebuild(self: UserAgentString, operation_name: str, request: Any, **kwargs: Any) -> None:
        if request.headers.get("User-Agent"):
            request.headers.replace_header("User-Agent", user_agent(self))

    rebuild._orgsync_cached = True  # type: ignore[attr-defined]
    UserAgentString.rebuild_and_replace_user_agent_handler = rebuild  # type: ignore[method-assign]
