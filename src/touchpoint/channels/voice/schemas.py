"""The call-event webhook's body, and what the API says about a call."""

from datetime import datetime, timedelta
from typing import Annotated

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from touchpoint.channels.models import Call, CallEventKind, CallLeg, CallState
from touchpoint.core.api import Input, When


def _text(max_length: int, min_length: int = 0) -> type[str]:
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)]


class CallEventIn(BaseModel):
    """One thing that happened to a call, as a telephony system reports it. Unknown fields are refused
    so that a misspelt one is reported instead of silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    call_id: _text(128, 1) = Field(description="The telephony system's id for the call; the same on every event.")
    event: str = Field(description=f"One of {', '.join(CallEventKind.values)}.")
    at: When = Field(description="When it happened, ISO 8601 with a time zone.")
    caller: _text(64, 1) = Field(alias="from", description="The caller's number, E.164 (e.g. +14155552671).")
    to: _text(64) = Field(description="The number called.")
    agent_email: _text(254) | None = Field(None, description="The agent this event is about (ringing, answered, ...).")
    queue: _text(120) | None = Field(None, description="The queue entered (offered) or transferred to.")
    disposition: _text(120) | None = Field(None, description="The call's outcome, if the telephony system sets it.")

    @field_validator("*")
    @classmethod
    def _storable(cls, value: object) -> object:
        if isinstance(value, str) and ("\x00" in value or _unencodable(value)):
            raise ValueError("contains a NUL character or a lone surrogate; send plain text")
        return value

    @field_validator("event")
    @classmethod
    def _known_event(cls, value: str) -> str:
        if value not in CallEventKind.values:
            raise ValueError(f"unknown event {value!r}; use one of {', '.join(CallEventKind.values)}")
        return value

    @field_validator("agent_email")
    @classmethod
    def _lower_email(cls, value: str | None) -> str | None:
        return value.lower() if value else value


def _unencodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class DispositionIn(Input):
    disposition: _text(120, 1) = Field(description="The call's outcome, e.g. 'Refund issued'.")


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


class Durations(Schema):
    queue_time_s: float | None = Field(description="Waiting for an agent: queue entry → answer (or hang-up).")
    ring_time_s: float | None = Field(description="Part of queue time: an agent's phone ringing → answer.")
    talk_time_s: float | None = Field(description="Answer → end of the agent's part, less hold time.")
    hold_time_s: float | None = Field(description="Sum of the hold intervals.")
    after_call_work_s: float | None = Field(description="End of the agent's part → their wrap-up finished.")

    @staticmethod
    def resolve_queue_time_s(obj: Call | CallLeg) -> float | None:
        return _seconds(obj.queue_time)

    @staticmethod
    def resolve_ring_time_s(obj: Call | CallLeg) -> float | None:
        return _seconds(obj.ring_time)

    @staticmethod
    def resolve_talk_time_s(obj: Call | CallLeg) -> float | None:
        return _seconds(obj.talk_time)

    @staticmethod
    def resolve_hold_time_s(obj: Call | CallLeg) -> float | None:
        return _seconds(obj.hold_time)

    @staticmethod
    def resolve_after_call_work_s(obj: Call | CallLeg) -> float | None:
        return _seconds(obj.after_call_work)


class AgentRef(Schema):
    id: int
    display_name: str


class CallLegOut(Durations):
    position: int
    queue: str
    agent: AgentRef | None
    agent_email: str
    queued_at: datetime | None
    ringing_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    wrap_up_finished_at: datetime | None
    abandoned: bool
    transferred: bool = Field(description="This agent's part ended in a transfer.")


class CallOut(Durations):
    id: int
    conversation_id: int
    call_id: str = Field(description="The telephony system's id for the call.")
    caller: str
    called: str
    state: CallState
    started_at: datetime
    queued_at: datetime | None = Field(description="First entered an agent queue; null if it never did.")
    answered_at: datetime | None = Field(description="First connected to an agent.")
    ended_at: datetime | None
    wrap_up_finished_at: datetime | None
    abandoned: bool = Field(description="Queued, then left before any agent answered.")
    handle_time_s: float | None = Field(description="Talk + hold + after-call work, once all are known.")
    disposition: str
    legs: list[CallLegOut]

    @staticmethod
    def resolve_call_id(obj: Call) -> str:
        return obj.external_id

    @staticmethod
    def resolve_handle_time_s(obj: Call) -> float | None:
        return _seconds(obj.handle_time)

    @staticmethod
    def resolve_legs(obj: Call) -> list[CallLeg]:
        return list(obj.legs.all())
