from django.db import models

from touchpoint.core.models import WorkspaceScopedQuerySet


class Channel(models.TextChoices):
    WEBCHAT = "webchat", "Web chat"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"
    VOICE = "voice", "Voice"
    API = "api", "API"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"  # waiting on the customer
    SNOOZED = "snoozed", "Snoozed"  # parked until `snoozed_until`
    RESOLVED = "resolved", "Resolved"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Tag(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=50)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    """One thread with one customer about one matter, on any channel (it may move between channels)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="conversations")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # The mailbox, number or widget it came in through: replies leave from the same one.
    channel_account = models.ForeignKey(
        "channel_accounts.ChannelAccount", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    tags = models.ManyToManyField(Tag, blank=True, related_name="conversations")
    custom_fields = models.JSONField(default=dict, blank=True)
    # Since when the customer has been waiting for a human reply; null while nobody waits.
    waiting_since = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    # A bot answers first (the bot app decides when): while it holds the conversation nobody queues it
    # and no response clock runs; the human part, and its first-response clock, start at the handoff.
    held_by_bot = models.BooleanField(default=False)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    first_resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField()
    # Kept on the row so the inbox lists conversations without reading their messages.
    last_message_preview = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "status", "-last_message_at", "-id"], name="conv_inbox"),
            models.Index(fields=["workspace", "assignee", "status", "-last_message_at"], name="conv_inbox_assignee"),
            models.Index(fields=["workspace", "team", "status", "-last_message_at"], name="conv_inbox_team"),
            models.Index(fields=["workspace", "channel", "status", "-last_message_at"], name="conv_inbox_channel"),
            models.Index(fields=["workspace", "-updated_at", "-id"], name="conv_updated"),
            models.Index(fields=["customer", "-created_at"], name="conv_customer"),
            models.Index(fields=["status", "snoozed_until"], name="conv_snoozed"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}".strip()


class MessageKind(models.TextChoices):
    INCOMING = "incoming", "Incoming"
    OUTGOING = "outgoing", "Outgoing"
    NOTE = "note", "Internal note"  # never shown or sent to the customer
    EVENT = "event", "System event"


class SenderType(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Agent"
    BOT = "bot", "Bot"
    SYSTEM = "system", "System"


class Message(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # Denormalized from the conversation so the customer timeline reads one index.
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    sender_type = models.CharField(max_length=16, choices=SenderType.choices)
    author = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    content_html = models.TextField(blank=True)  # sanitized on the way in
    content_text = models.TextField(blank=True)  # for search, previews and text-only channels
    external_id = models.CharField(max_length=255, blank=True)
    delivery_status = models.CharField(max_length=16, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel", "external_id"], condition=~models.Q(external_id=""),
                name="message_unique_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at", "id"], name="msg_thread"),
            models.Index(fields=["customer", "-created_at"], name="msg_customer"),
            # Search lists matches newest first: walking this index stops after the first page of matches,
            # where sorting every match of a common word reads a third of the table (PostgreSQL).
            models.Index(fields=["workspace", "-created_at", "-id"], name="msg_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def is_public(self) -> bool:
        return self.kind in (MessageKind.INCOMING, MessageKind.OUTGOING)


class Attachment(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()

    objects = WorkspaceScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return self.filename
