from django.db import models

from touchpoint.core.models import WorkspaceScopedQuerySet


class Audience(models.TextChoices):
    """Who may ever see a live event. Only `public` events may one day reach a customer's widget;
    everything else (notes, assignments, internal changes) stays with the workspace's agents."""

    AGENTS = "agents", "Agents only"
    PUBLIC = "public", "Agents and the customer"


class LiveEvent(models.Model):
    """The workspace's live-event log. The id is the resume point: a socket that reconnects with
    `last_event_id=N` is sent every later event of its workspace, so nothing is lost or doubled."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    type = models.CharField(max_length=64)
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.AGENTS)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "id"], name="live_event_resume")]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"

    def as_message(self) -> dict:
        """What a socket sends for this event: ids and names only, never message content. The client
        fetches what it shows through the authenticated views."""
        return {
            "type": "event",
            "id": self.pk,
            "event": self.type,
            "conversation_id": self.conversation_id,
            "payload": self.payload,
            "at": self.created_at.isoformat(),
        }
