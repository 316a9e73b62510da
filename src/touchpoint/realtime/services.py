"""Writes to the live-event log."""

from datetime import timedelta

from touchpoint.core.clock import now
from touchpoint.realtime.models import LiveEvent

RETENTION = timedelta(days=3)  # a socket away longer than this reloads instead of replaying


def append_events(events: list[LiveEvent]) -> list[LiveEvent]:
    """Log unsaved events with one write; their ids, in this order, are the resume points."""
    at = now()
    for event in events:
        event.created_at = at
    return LiveEvent.objects.bulk_create(events)


def prune_live_events() -> int:
    """Drop events older than the retention. Idempotent: several workers may run it at once."""
    deleted, _ = LiveEvent.objects.filter(created_at__lt=now() - RETENTION).delete()
    return deleted
