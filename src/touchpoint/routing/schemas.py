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
