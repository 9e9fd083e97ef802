"""Resource Explorer query syntax: filter prefixes, negation, suffix wildcards, keywords.

``region:us-east-1 service:ec2 -tag:env=prod tag.key:owner resourcetype:iam:*`` — terms with
the same prefix are ORed, different prefixes ANDed, negated terms exclude. Matching is case
insensitive, like the service. Keywords (Search only) match a substring of the ARN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orgsim.tags import TagSet

PREFIXES = ("region", "service", "resourcetype", "accountid", "tag.key", "tag.value", "tag", "id")


class QueryError(ValueError):
    """The query string is not valid Resource Explorer syntax."""


@dataclass(frozen=True)
class Term:
    prefix: str  # one of PREFIXES, or "" for a keyword
    value: str  # lowercased, without the wildcard star
    negate: bool
    wildcard: bool

    def match(self, text: str) -> bool:
        t = text.lower()
        return t.startswith(self.value) if self.wildcard else t == self.value

    def match_tags(self, ts: TagSet) -> bool:
        if self.prefix == "tag.key":
            return any(self.match(k) for k, _ in ts)
        if self.prefix == "tag.value":
            return any(self.match(v) for _, v in ts)
        # tag:key=value, tag:key (any value), tag:none (untagged), tag:all (tagged)
        if self.value == "none" and not self.wildcard:
            return not ts
        if self.value == "all" and not self.wildcard:
            return bool(ts)
        key, sep, val = self.value.partition("=")
        for k, v in ts:
            if k.lower() != key:
                continue
            if not sep:
                return True
            vv = v.lower()
            if (vv.startswith(val) if self.wildcard else vv == val):
                return True
        return False


_SCOPE_PREFIXES = ("region", "service", "resourcetype", "accountid")
_TAG_PREFIXES = ("tag.key", "tag.value", "tag")


class Query:
    def __init__(self, terms: list[Term]) -> None:
        self.terms = terms
        self.scope_terms = [t for t in terms if t.prefix in _SCOPE_PREFIXES]
        self.tag_terms = [t for t in terms if t.prefix in _TAG_PREFIXES]
        self.text_terms = [t for t in terms if t.prefix in ("", "id")]
        self.key = " ".join(
            f"{'-' if t.negate else ''}{t.prefix}:{t.value}{'*' if t.wildcard else ''}"
            for t in terms
        )

    def __bool__(self) -> bool:
        return bool(self.terms)

    @staticmethod
    def _groups(terms: list[Term], test: Callable[[Term], bool]) -> bool:
        positives: dict[str, bool] = {}
        for t in terms:
            hit = test(t)
            if t.negate:
                if hit:
                    return False
            else:
                positives[t.prefix] = positives.get(t.prefix, False) or hit
        return all(positives.values())

    def scope_ok(self, account_id: str, region: str, rtype: str, service: str) -> bool:
        if not self.scope_terms:
            return True
        fields = {"region": region, "service": service, "resourcetype": rtype,
                  "accountid": account_id}
        return self._groups(self.scope_terms, lambda t: t.match(fields[t.prefix]))

    def tags_ok(self, ts: TagSet) -> bool:
        if not self.tag_terms:
            return True
        return self._groups(self.tag_terms, lambda t: t.match_tags(ts))

    def text_ok(self, arn: str) -> bool:
        if not self.text_terms:
            return True
        low = arn.lower()

        def hit(t: Term) -> bool:
            if t.prefix == "id":
                return t.match(arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1])
            return t.value in low

        return self._groups(self.text_terms, hit)


def parse(text: str, keywords: bool) -> Query:
    """Parse a FilterString (keywords=False) or a Search QueryString (keywords=True)."""
    terms: list[Term] = []
    for raw in _split(text):
        negate = raw.startswith("-") and len(raw) > 1
        body = raw[1:] if negate else raw
        prefix, sep, value = body.partition(":")
        prefix = prefix.lower()
        if not sep or prefix not in PREFIXES:
            if not keywords:
                raise QueryError(
                    f"Invalid filter string: '{raw}'. This operation supports only filter "
                    "prefixes, not free-form text."
                )
            prefix, value = "", body
        value = value.strip('"').lower()
        wildcard = value.endswith("*")
        if wildcard:
            value = value[:-1]
        if not value and not wildcard:
            raise QueryError(f"Invalid filter string: '{raw}' has no value")
        terms.append(Term(prefix, value, negate, wildcard))
    return Query(terms)


def _split(text: str) -> list[str]:
    """Whitespace split that keeps double-quoted values together."""
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch.isspace() and not quoted:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out
