"""Reads of the live-event log, always inside one workspace."""

from touchpoint.realtime.models import LiveEvent

REPLAY_LIMIT = 500  # a socket that missed more than this reloads its page instead of replaying


def latest_event_id(workspace_id: int) -> int:
    """The resume point to hand a page as it renders: events after it are replayed on connect."""
    return LiveEvent.objects.in_workspace(workspace_id).order_by("-id").values_list("id", flat=True).first() or 0


def events_after(workspace_id: int, after_id: int, *, limit: int = REPLAY_LIMIT) -> list[LiveEvent]:
    """The workspace's events after `after_id`, oldest first, at most `limit` + 1 (one more tells
    the caller that it missed too many)."""
    return list(LiveEvent.objects.in_workspace(workspace_id).filter(id__gt=after_id).order_by("id")[: limit + 1])
