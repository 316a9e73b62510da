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
        indexes = [models.Index(fields=["workspace", "state", "queue"], name="queued_contact_waiting")]
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
