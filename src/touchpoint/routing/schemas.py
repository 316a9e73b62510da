"""What the API says about queues, presence and waiting contacts."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field, StringConstraints

from touchpoint.conversations.models import Channel
from touchpoint.core.api import Id, Input
from touchpoint.routing.policy import POLICIES

PolicyName = Literal[tuple(POLICIES)]  # type: ignore[valid-type]
ChannelName = Literal[tuple(Channel.values)]  # type: ignore[valid-type]
QueueName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Slots = Annotated[int, Field(ge=0, le=50)]


class QueueOut(Schema):
    id: int
    name: str
    position: int
    channels: list[str]
    team_id: int | None
    required_skills: dict[str, int]
    priority: int
    policy: str
    sticky_wait_s: int
    overflow_after_s: int | None
    overflow_team_id: int | None


class QueueIn(Input):
    name: QueueName
    position: Annotated[int, Field(ge=0, le=10_000)] = 0
    channels: list[ChannelName] = []
    team_id: Id | None = None
    required_skills: dict[Annotated[str, StringConstraints(max_length=80)], Annotated[int, Field(ge=1, le=5)]] = {}
    priority: Annotated[int, Field(ge=0, le=3)] = 0
    policy: PolicyName = "best_skill"
    sticky_wait_s: Annotated[int, Field(ge=0, le=86_400)] = 30
    overflow_after_s: Annotated[int, Field(ge=0, le=86_400)] | None = None
    overflow_team_id: Id | None = None


class PresenceIn(Input):
    presence: Literal["online", "away", "offline"]


class CapacityIn(Input):
    voice: Slots | None = None
    chat: Slots | None = None
    message: Slots | None = None


class AgentStatusOut(Schema):
    membership_id: int
    presence: str
    capacity: dict[str, int]
    idle_since: datetime
    changed_at: datetime


class WaitingContactOut(Schema):
    id: int
    conversation_id: int
    queue_id: int
    work_kind: str
    priority: int
    vip: bool
    waiting_since: datetime
    state: str
    assigned_to_id: int | None


class DecisionOut(Schema):
    id: int
    contact_id: int
    conversation_id: int
    agent_id: int | None
    reason: str
    decided_at: datetime


# ---- SLAs ---------------------------------------------------------------------------------------

PriorityName = Literal["low", "normal", "high", "urgent"]
TargetSeconds = Annotated[int, Field(ge=1, le=366 * 24 * 3600, description="Seconds, business or calendar time.")]
SegmentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class EscalationStep(Input):
    """One escalation action, run once per target when it turns at risk or is breached."""

    when: Literal["at_risk", "breached"]
    action: Literal["raise_priority", "move_to_team", "notify"]
    team_id: Id | None = Field(None, description="The team to move the conversation to (move_to_team only).")


class SlaPolicyIn(Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    position: Annotated[int, Field(ge=0, le=10_000, description="Settles equally specific policies: lower first.")] = 0
    priorities: list[PriorityName] = Field([], description="Conversation priorities it is for; empty for any.")
    channels: list[ChannelName] = Field([], description="Channels it is for; empty for any.")
    segments: list[SegmentName] = Field([], description='Customer segments (custom_attributes["segment"]); empty for any.')
    first_response_s: TargetSeconds | None = None
    next_response_s: TargetSeconds | None = None
    resolution_s: TargetSeconds | None = None
    business_hours: bool = Field(True, description="Count the workspace's working hours only (false: calendar time).")
    at_risk_ratio: Annotated[float, Field(gt=0, le=1, description="Share of a target used when it turns at risk.")] = 0.8
    escalation: list[EscalationStep] = []


class SlaPolicyOut(Schema):
    id: int
    name: str
    position: int
    priorities: list[str]
    channels: list[str]
    segments: list[str]
    first_response_s: int | None
    next_response_s: int | None
    resolution_s: int | None
    business_hours: bool
    at_risk_ratio: float
    escalation: list[dict]


class SlaTargetOut(Schema):
    metric: Literal["first_response", "next_response", "resolution"]
    state: Literal["on_track", "at_risk", "breached", "met", "paused"]
    target_s: int
    started_at: datetime
    due_at: datetime | None = Field(description="Null while paused (pending on the customer).")
    at_risk_at: datetime | None
    breached_at: datetime | None
    completed_at: datetime | None = Field(description="The response or resolution, if it came.")
    elapsed_s: int = Field(description="Clock time used: business or calendar time, pauses left out.")
    remaining_s: int = Field(description="Negative once overdue.")


class ConversationSlaOut(Schema):
    conversation_id: int
    policy_id: int | None = Field(description="Null when no policy applies to the conversation.")
    policy_name: str | None
    state: Literal["on_track", "at_risk", "breached", "met", "paused"] | None
    next_due_at: datetime | None = Field(description="The earliest due time of a running target.")
    breached_at: datetime | None
    evaluated_at: datetime
    targets: list[SlaTargetOut] = Field(description="First response, the latest next response, resolution.")
