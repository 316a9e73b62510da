"""Routing state: who is available for how much work, the queues, and the contacts waiting in them.
The decisions themselves are made in `policy.py`; these rows are what the live router feeds it."""

from django.db import models

from touchpoint.core.models import WorkspaceScopedQuerySet
from touchpoint.routing import policy


class Presence(models.TextChoices):
    ONLINE = policy.ONLINE, "Online"
    AWAY = policy.AWAY, "Away"
    OFFLINE = policy.OFFLINE, "Offline"


class RoutingSettings(models.Model):
    """A workspace's routing switches; a workspace without a row has the defaults."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="routing_settings")
    call_blocks_chat = models.BooleanField(default=True)  # an agent on a call gets no new chat
    away_when_disconnected = models.BooleanField(default=True)  # last agent socket closed → away

    objects = WorkspaceScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"routing settings of workspace {self.workspace_id}"


class AgentStatus(models.Model):
    """An agent's presence and capacity per work kind. Created on first use, offline."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    membership = models.OneToOneField("accounts.Membership", on_delete=models.CASCADE, related_name="routing_status")
    presence = models.CharField(max_length=16, choices=Presence.choices, default=Presence.OFFLINE)
    capacity = models.JSONField(default=dict, blank=True)  # work kind → slots; missing kinds: policy defaults
    idle_since = models.DateTimeField()  # last given or finished work, or came online: longest-idle routing
    sockets = models.PositiveIntegerField(default=0)  # open workspace sockets, across processes
    changed_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "presence"], name="agent_status_presence")]

    def __str__(self) -> str:
        return f"{self.membership_id}: {self.presence}"

    def capacity_for(self, work_kind: str) -> int:
        return int(self.capacity.get(work_kind, policy.DEFAULT_CAPACITY[work_kind]))


class Queue(models.Model):
    """Where contacts wait for an agent: which conversations it takes (channels, team), what they need
    (skills at a minimum proficiency), and how its agents are picked (policy, stickiness, overflow)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="queues")
    name = models.CharField(max_length=80)
    position = models.PositiveIntegerField(default=0)  # the first matching queue takes a conversation
    channels = models.JSONField(default=list, blank=True)  # conversation channels it takes; [] = every channel
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    required_skills = models.JSONField(default=dict, blank=True)  # skill name → minimum proficiency 1-5
    priority = models.PositiveSmallIntegerField(default=0)  # 0-3: a floor under its contacts' own priority
    policy = models.CharField(max_length=32, default=policy.DEFAULT_POLICY)
    sticky_wait_s = models.PositiveIntegerField(default=30)
    overflow_after_s = models.PositiveIntegerField(null=True, blank=True)
    overflow_team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="queue_unique_name")]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class ContactState(models.TextChoices):
    WAITING = "waiting", "Waiting"
    ASSIGNED = "assigned", "Assigned"
    CANCELLED = "cancelled", "Cancelled"  # answered, resolved or assigned by hand before the router did


class QueuedContact(models.Model):
    """A conversation that needed an agent: waiting, then assigned or cancelled. One row per time it
    queued, so the log of waits (queue time, who took it) stays."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="+")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="contacts")
    work_kind = models.CharField(max_length=16)
    priority = models.PositiveSmallIntegerField(default=0)
    vip = models.BooleanField(default=False)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    last_agent = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    state = models.CharField(max_length=16, choices=ContactState.choices, default=ContactState.WAITING)
    waiting_since = models.DateTimeField()
    assigned_to = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "state", "queue"], name="queued_contact_waiting"),
            # A freed agent reads each queue's head in contact order and its SLA-due contacts: index
            # walks that stop after a few rows, however many wait.
            models.Index(fields=["queue", "state", "-vip", "-priority", "waiting_since", "id"],
                         name="queued_contact_head"),
            models.Index(fields=["queue", "state", "sla_due_at"], name="queued_contact_sla_due"),
        ]
        constraints = [models.UniqueConstraint(fields=["conversation"], condition=models.Q(state="waiting"),
                                               name="queued_contact_one_wait")]

    def __str__(self) -> str:
        return f"conversation {self.conversation_id} in {self.queue_id}: {self.state}"


class RoutingDecision(models.Model):
    """Every decision with its reason: why this agent, or why the contact still waits."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(QueuedContact, on_delete=models.CASCADE, related_name="decisions")
    agent = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    reason = models.CharField(max_length=255)
    decided_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return self.reason


# ---- SLAs -------------------------------------------------------------------------------------
# The pure clocks live in `sla.py` (its dataclass is also called SlaPolicy: import this model as
# `models.SlaPolicy` and that one as `sla.SlaPolicy`).


class SlaPolicy(models.Model):
    """A supervisor's promise for the conversations it matches (priorities, channels, customer
    segments; an empty list means any): first response, next response and resolution targets, in
    business or calendar time, and what to do when one is at risk or missed.

    `escalation` is a list of actions, each run once per target: {"when": "at_risk" | "breached",
    "action": "raise_priority" | "move_to_team" | "notify", "team_id": <id, for move_to_team>}."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="sla_policies")
    name = models.CharField(max_length=80)
    position = models.PositiveIntegerField(default=0)  # settles equally specific policies: the first wins
    priorities = models.JSONField(default=list, blank=True)
    channels = models.JSONField(default=list, blank=True)
    segments = models.JSONField(default=list, blank=True)  # customer.custom_attributes["segment"]
    first_response_s = models.PositiveIntegerField(null=True, blank=True)
    next_response_s = models.PositiveIntegerField(null=True, blank=True)
    resolution_s = models.PositiveIntegerField(null=True, blank=True)
    business_hours = models.BooleanField(default=True)
    at_risk_ratio = models.FloatField(default=0.8)
    escalation = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="sla_policy_unique_name")]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class SlaStateName(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    MET = "met", "Met"
    PAUSED = "paused", "Paused"


class ConversationSla(models.Model):
    """Where a conversation's SLA stands, as last evaluated: each target's due time and state, the
    earliest running due time (what the inbox, the router and the wallboard sort by), and which
    escalations already ran. Rewritten by `services.evaluate_sla`; read by everyone else."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    conversation = models.OneToOneField("conversations.Conversation", on_delete=models.CASCADE, related_name="sla")
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_state = models.CharField(max_length=16, choices=SlaStateName.choices, blank=True)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_state = models.CharField(max_length=16, choices=SlaStateName.choices, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_state = models.CharField(max_length=16, choices=SlaStateName.choices, blank=True)
    next_due_at = models.DateTimeField(null=True, blank=True)  # earliest running target; null when none or paused
    # The conversation's overall state: the worst of its current targets (breached > at risk > on track
    # > paused > met).
    state = models.CharField(max_length=16, choices=SlaStateName.choices, default=SlaStateName.ON_TRACK)
    breached_at = models.DateTimeField(null=True, blank=True)  # the first breach, kept once set
    next_check_at = models.DateTimeField(null=True, blank=True)  # when time alone changes a state
    escalated = models.JSONField(default=list, blank=True)  # "first_response:0:breached": warnings already sent
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["next_check_at"], name="conv_sla_next_check"),
            models.Index(fields=["workspace", "state", "next_due_at"], name="conv_sla_state"),
        ]

    def __str__(self) -> str:
        return f"SLA of conversation {self.conversation_id}: {self.state}"

    @property
    def targets(self) -> list[tuple[str, str, str, object]]:
        """(label, state, state's label, due time) of each target the policy sets, as the conversation
        pane lists them."""
        rows = [("First response", self.first_response_state, self.first_response_due_at),
                ("Next response", self.next_response_state, self.next_response_due_at),
                ("Resolution", self.resolution_state, self.resolution_due_at)]
        return [(label, state, SlaStateName(state).label, due) for label, state, due in rows if state]


class SlaStatusChange(models.Model):
    """A conversation's status changes, with when they happened: the pauses (pending) and stops
    (resolved) the SLA clocks replay. Written in the same transaction as the change, so none is lost;
    messages are read from the thread itself."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16)
    at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["conversation", "at"], name="sla_status_change_conv")]

    def __str__(self) -> str:
        return f"conversation {self.conversation_id} {self.status} at {self.at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """Something a person on the desk should see (an SLA at risk or breached). Minimal on purpose:
    the first thing that notifies; shown in the agent workspace header until read."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey("accounts.Membership", on_delete=models.CASCADE, related_name="notifications")
    conversation = models.ForeignKey("conversations.Conversation", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+")
    kind = models.CharField(max_length=32)  # sla_at_risk, sla_breached
    text = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.text
