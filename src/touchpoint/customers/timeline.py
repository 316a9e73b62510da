"""The customer's one timeline. Each app that knows something about a customer registers a source;
the timeline merges them in time order. Orders, journey events and survey answers plug in here."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "conversation.opened", "message.incoming", "order.placed", ...
    title: str
    body: str = ""
    ref: dict[str, Any] = field(default_factory=dict)  # ids to link to, e.g. {"conversation_id": 3}


# (customer_id, before, limit) -> entries newer-first, at most `limit`, all strictly before `before`.
TimelineSource = Callable[[int, datetime | None, int], list[TimelineEntry]]
_sources: list[TimelineSource] = []


def register_source(source: TimelineSource) -> None:
    if source not in _sources:
        _sources.append(source)


def customer_timeline(customer_id: int, *, before: datetime | None = None, limit: int = 50) -> list[TimelineEntry]:
    """Newest first. Page with `before` = the `at` of the last entry received."""
    entries = [entry for source in _sources for entry in source(customer_id, before, limit)]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
