"""The bot's configuration per workspace, the intents it is taught, and the models trained from them.

Written only through services.py, which validates intents (name format, enough examples, no example
taught as two intents), so every row here can be trained on."""

from django.db import models

from touchpoint.core.models import WorkspaceScopedQuerySet

DEFAULT_GREETING = "Hi! I'm the store's assistant. Ask me about an order, a return, or a product."
DEFAULT_NOT_UNDERSTOOD = "Sorry, I did not get that. Could you say it another way?"
DEFAULT_HANDOFF = "I'm passing you to a colleague who can help; they will see what we said."
DEFAULT_HANDOFF_OFFLINE = "Our team is away right now; leave your question here and we will reply as soon as we are back."
DEFAULT_NAME = "Assistant"
BOT_CHANNELS = ("webchat", "sms", "whatsapp", "api")  # where a bot can answer first: text, live


def default_channels() -> list[str]:
    return ["webchat", "sms", "whatsapp"]


class BotMode(models.TextChoices):
    LINEAR = "linear", "Word and character n-grams"
    ML = "ml", "N-grams and sentence embeddings"


class BotSettings(models.Model):
    """Whether the bot answers first in this workspace, and how it speaks. One row per workspace, made
    when it is first changed (until then the defaults below apply)."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=False)
    name = models.CharField(max_length=80, default=DEFAULT_NAME)  # how the bot signs its messages
    channels = models.JSONField(default=default_channels)  # of BOT_CHANNELS: where it answers first
    # Below this confidence the bot does not guess; null: the threshold calibrated with the model.
    confidence_threshold = models.FloatField(null=True, blank=True)
    greeting = models.TextField(default=DEFAULT_GREETING)
    not_understood_message = models.TextField(default=DEFAULT_NOT_UNDERSTOOD)
    handoff_message = models.TextField(default=DEFAULT_HANDOFF)
    handoff_offline_message = models.TextField(default=DEFAULT_HANDOFF_OFFLINE)
    # Misunderstood messages in a row before the bot offers a person.
    max_failures = models.PositiveSmallIntegerField(default=2)
    # The store's order-number prefix ("NW" for NW-100234), so "nw100234" is read as that order.
    order_number_prefix = models.CharField(max_length=8, blank=True)
    # When the shipped commerce intents were added (on first enable); null: never.
    default_intents_loaded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"bot settings of workspace {self.workspace_id}"


class Intent(models.Model):
    """What a customer may want ("order_status"), taught by example utterances."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=64)  # snake_case; what the dialogue and the reports use
    description = models.CharField(max_length=300, blank=True)
    examples = models.JSONField(default=list)  # list[str], distinct
    # The skill an agent needs when the bot hands this intent over (routing reads it); none: any agent.
    handoff_skill = models.ForeignKey("accounts.Skill", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    built_in = models.BooleanField(default=False)  # from the shipped commerce set, not written by the workspace
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="bot_intent_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TrainedModel(models.Model):
    """One training of a workspace's classifier. The newest row is the one the bot uses; a few older ones
    are kept to compare. `blob` is IntentClassifier.to_bytes(): trusted input, written only by us."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    mode = models.CharField(max_length=16, choices=BotMode.choices)
    source = models.CharField(max_length=200, default="intents")  # "intents", or the CSV file it came from
    intents = models.JSONField(default=list)  # the intent names it knows
    examples_digest = models.CharField(max_length=64)  # of the training examples: tells whether it is stale
    metrics = models.JSONField(default=dict)
    size_bytes = models.PositiveIntegerField(default=0)
    blob = models.BinaryField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at", "-id"], name="bot_model_latest")]

    def __str__(self) -> str:
        return f"intent model {self.pk} ({self.mode})"


# ---- the bot in a conversation (dialogue, handoff, measurement) ------------------------------------


class SessionState(models.TextChoices):
    ACTIVE = "active", "The bot answers"
    HANDED_OFF = "handed_off", "Handed to a person"
    TAKEN_OVER = "taken_over", "An agent took over"
    RESOLVED = "resolved", "Resolved"


class Resolution(models.TextChoices):
    CONFIRMED = "confirmed", "The customer said that was all"
    INACTIVITY = "inactivity", "The customer did not write again"
    AGENT = "agent", "An agent resolved it"


class BotSession(models.Model):
    """The bot's part of one conversation: what it understood and asked, what it tried, how the customer
    was verified, and how it ended (resolved by the bot, handed off, taken over). One per conversation;
    the transcript is the conversation's thread itself."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    conversation = models.OneToOneField("conversations.Conversation", on_delete=models.CASCADE,
                                        related_name="bot_session")
    channel = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=SessionState.choices, default=SessionState.ACTIVE)
    started_at = models.DateTimeField()
    last_turn_at = models.DateTimeField()
    last_read_message_id = models.BigIntegerField(default=0)  # the customer's latest message the bot read
    turns = models.PositiveIntegerField(default=0)
    # The dialogue's memory (dialogue.State): task, pending question, slots, counters, what it tried.
    memory = models.JSONField(default=dict, blank=True)
    intent = models.CharField(max_length=64, blank=True)  # the task's intent (or the last one understood)
    confidence = models.FloatField(null=True, blank=True)
    verification = models.CharField(max_length=16, blank=True)  # "", verified_user, order_email
    handoff_reason = models.CharField(max_length=32, blank=True)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    corrected_intent = models.CharField(max_length=64, blank=True)  # what an agent says it was really about
    summary = models.JSONField(default=dict, blank=True)  # the structured handoff summary, as agents saw it

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "started_at"], name="bot_session_started"),
            models.Index(fields=["state", "last_turn_at"], name="bot_session_idle"),
        ]

    def __str__(self) -> str:
        return f"bot in conversation {self.conversation_id}: {self.state}"

    @property
    def contained(self) -> bool:
        """Resolved by the bot (confirmed or left idle), not by a person (KPIS.md bot containment)."""
        return self.state == SessionState.RESOLVED and self.resolution in (Resolution.CONFIRMED, Resolution.INACTIVITY)


class BotTurn(models.Model):
    """One reading of the customer by the bot: what it understood and what it did. Per-intent counts,
    the fallback rate and the summary come from these. `message` is the customer's latest message the
    turn read (a turn reads every unread line at once), so a message is read once however often its
    task runs."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(BotSession, on_delete=models.CASCADE, related_name="turn_log")
    message = models.OneToOneField("conversations.Message", on_delete=models.CASCADE, related_name="+")
    intent = models.CharField(max_length=64, blank=True)
    confidence = models.FloatField(default=0.0)
    out_of_scope = models.BooleanField(default=False)
    action = models.CharField(max_length=32, blank=True)
    at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "at"], name="bot_turn_at")]

    def __str__(self) -> str:
        return f"{self.intent or 'out of scope'} → {self.action}"
