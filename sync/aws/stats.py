"""Counters of API traffic, kept per scope and summed per run."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class CallStats:
    api_calls: int = 0
    throttles: int = 0
    retries: int = 0
    errors: int = 0
    pages: int = 0
    unread_tags: int = 0  # resources kept with unknown tags (TagCall.unreadable_on)

    def add(self, other: "CallStats") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
