import secrets
from datetime import timedelta

from django.db import models

from touchpoint.conversations.models import Channel
from touchpoint.core.models import WorkspaceScopedQuerySet


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class ChannelAccount(models.Model):
    """A configured way in and out for one workspace: a mailbox, a phone number, a website's widget.

    `address` routes inbound traffic to its workspace (the mailbox address, the E.164 number, the
    widget's public key), so it is unique per kind across all workspaces.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="channel_accounts")
    kind = models.CharField(max_length=16, choices=Channel.choices)
    name = models.CharField(max_length=120)
    address = models.CharField(max_length=255)
    # Non-secret settings: IMAP host and folder, Twilio account SID, pre-chat form, team for a topic...
    config = models.JSONField(default=dict, blank=True)
    # The shared secret of this account: widget identity-verification key, Twilio auth token,
    # voice webhook signing key, IMAP password. Never shown after creation.
    secret = models.CharField(max_length=255, default=new_secret)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "address"], name="channelaccount_unique_address")]
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


# ---- voice: calls reported by a telephony system ----------------------------------------------


class CallEventKind(models.TextChoices):
    OFFERED = "offered", "Entered a queue"
    RINGING = "ringing", "Ringing an agent"
    ANSWERED = "answered", "Answered"
    HOLD = "hold", "Put on hold"
    UNHOLD = "unhold", "Taken off hold"
    TRANSFERRED = "transferred", "Transferred"
    ENDED = "ended", "Ended"
    ABANDONED = "abandoned", "Abandoned"
    WRAP_UP_FINISHED = "wrap_up_finished", "After-call work finished"


class CallState(models.TextChoices):
    IVR = "ivr", "Not yet in a queue"
    QUEUED = "queued", "Waiting in a queue"
    RINGING = "ringing", "Ringing"
    TALKING = "talking", "Talking"
    ON_HOLD = "on_hold", "On hold"
    WRAP_UP = "wrap_up", "After-call work"
    DONE = "done", "Done"
    ABANDONED = "abandoned", "Abandoned"


class Call(models.Model):
    """One phone call: one contact, however many agents it was transferred between.

    Every figure is recomputed from the call's events in time order whenever one arrives, so events
    reported late or twice give the same result. Durations follow KPIS.md: queue time counts from
    entering an agent queue (IVR time excluded), talk time excludes hold time, after-call work runs
    from the end of the agent's part of the call to their wrap-up.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="calls")
    conversation = models.OneToOneField("conversations.Conversation", on_delete=models.CASCADE, related_name="call")
    external_id = models.CharField(max_length=128)  # the telephony system's call id
    caller = models.CharField(max_length=64)  # "from", as the telephony system sent it
    called = models.CharField(max_length=64, blank=True)  # "to"
    state = models.CharField(max_length=16, choices=CallState.choices, default=CallState.IVR)
    started_at = models.DateTimeField()  # the earliest event
    queued_at = models.DateTimeField(null=True, blank=True)  # first entered an agent queue ("offered")
    answered_at = models.DateTimeField(null=True, blank=True)  # first connected to an agent
    ended_at = models.DateTimeField(null=True, blank=True)
    wrap_up_finished_at = models.DateTimeField(null=True, blank=True)
    abandoned = models.BooleanField(default=False)  # queued, then left before any agent connected
    # Totals over the legs; null until the part they measure is over.
    queue_time = models.DurationField(null=True, blank=True)
    ring_time = models.DurationField(null=True, blank=True)  # part of queue time, kept apart for ASA variants
    talk_time = models.DurationField(null=True, blank=True)
    hold_time = models.DurationField(null=True, blank=True)
    after_call_work = models.DurationField(null=True, blank=True)
    disposition = models.CharField(max_length=120, blank=True)
    disposition_by = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="call_unique_external_id")]
        indexes = [models.Index(fields=["workspace", "-started_at"], name="call_recent")]

    def __str__(self) -> str:
        return f"Call {self.external_id} from {self.caller}"

    @property
    def handle_time(self) -> timedelta | None:
        """Talk + hold + after-call work, once all three are known (average handle time's numerator)."""
        if self.talk_time is None or self.hold_time is None or self.after_call_work is None:
            return None
        return self.talk_time + self.hold_time + self.after_call_work


class CallLeg(models.Model):
    """One agent's part of a call: the wait for them, their talk, hold and after-call work.
    A call transferred once has two legs."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="legs")
    position = models.PositiveSmallIntegerField()  # 1, 2, ... in call order
    queue = models.CharField(max_length=120, blank=True)
    agent = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent_email = models.CharField(max_length=254, blank=True)  # as reported, also when no member matches
    queued_at = models.DateTimeField(null=True, blank=True)
    ringing_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)  # transferred away or hung up
    wrap_up_finished_at = models.DateTimeField(null=True, blank=True)
    abandoned = models.BooleanField(default=False)
    transferred = models.BooleanField(default=False)
    queue_time = models.DurationField(null=True, blank=True)
    ring_time = models.DurationField(null=True, blank=True)
    talk_time = models.DurationField(null=True, blank=True)
    hold_time = models.DurationField(null=True, blank=True)
    after_call_work = models.DurationField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["call", "position"], name="callleg_unique_position")]
        ordering = ["call", "position"]

    def __str__(self) -> str:
        return f"Leg {self.position} of call {self.call_id}"


class CallEvent(models.Model):
    """What the telephony system reported, kept as sent. (call, kind, at) is stored once, which makes
    replayed webhooks harmless."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=CallEventKind.choices)
    at = models.DateTimeField()
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["call", "kind", "at"], name="callevent_unique_event")]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%H:%M:%S}"
