"""Writes to the live-event log."""

from datetime import timedelta

from touchpoint.core.clock import now
from touchpoint.realtime.models import Audience, LiveEvent

RETENTION = timedelta(days=3)  # a socket away longer than this reloads instead of replaying


def append_event(
    *, workspace_id: int, type: str, payload: dict, conversation_id: int | None = None, audience: str = Audience.AGENTS
) -> LiveEvent:
    return LiveEvent.objects.create(
        workspace_id=workspace_id, conversation_id=conversation_id, type=type, audience=audience, payload=payload,
        created_at=now(),
    )


def prune_live_events() -> int:
    """Drop events older than the retention. Idempotent: several workers may run it at once."""
    deleted, _ = LiveEvent.objects.filter(created_at__lt=now() - RETENTION).delete()
    return deleted
