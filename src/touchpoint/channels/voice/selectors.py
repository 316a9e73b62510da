"""Reads about calls: one call for an agent, and calls on the customer's timeline."""

from datetime import datetime

from django.db.models import Prefetch

from touchpoint.channels.models import Call, CallLeg
from touchpoint.channels.voice.replay import duration
from touchpoint.conversations.selectors import access_conversation
from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Actor
from touchpoint.customers.timeline import TimelineEntry

_LEGS = Prefetch("legs", queryset=CallLeg.objects.select_related("agent").order_by("position"))


def access_call(actor: Actor, conversation_id: int) -> Call:
    """The phone call of a conversation the actor may see."""
    conversation = access_conversation(actor, conversation_id)
    call = Call.objects.filter(conversation=conversation).select_related("conversation").prefetch_related(_LEGS).first()
    if call is None:
        raise NotFound(f"Conversation {conversation_id} is not a phone call; it has no call to describe.")
    return call


def timeline_source(customer_id: int, before: datetime | None, limit: int) -> list[TimelineEntry]:
    """Each call once, at its start, with who answered and how long each part took."""
    calls = Call.objects.filter(conversation__customer_id=customer_id).prefetch_related(_LEGS)
    if before is not None:
        calls = calls.filter(started_at__lt=before)
    return [_entry(call) for call in calls.order_by("-started_at", "-id")[:limit]]


def _entry(call: Call) -> TimelineEntry:
    legs = list(call.legs.all())
    answered = next((leg for leg in legs if leg.answered_at), None)
    if call.abandoned:
        kind, outcome = "call.abandoned", "abandoned"
    elif answered is not None:
        who = answered.agent.display_name if answered.agent else answered.agent_email or "an agent"
        kind, outcome = "call.answered", f"answered by {who}"
    else:
        kind, outcome = "call", "in progress" if call.ended_at is None else "not answered"
    parts = [f"{label} {duration(value)}" for label, value in (
        ("queue", call.queue_time), ("talk", call.talk_time), ("hold", call.hold_time),
        ("after-call work", call.after_call_work)) if value is not None]
    if len(legs) > 1:
        parts.append(f"{len(legs)} legs")
    if call.disposition:
        parts.append(f"disposition: {call.disposition}")
    return TimelineEntry(
        at=call.started_at, kind=kind, title=f"Call from {call.caller} · {outcome}", body=" · ".join(parts),
        ref={"conversation_id": call.conversation_id, "call_id": call.pk, "channel": "voice", "state": call.state},
    )
