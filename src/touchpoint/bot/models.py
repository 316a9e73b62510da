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
