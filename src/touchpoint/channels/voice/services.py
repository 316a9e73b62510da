"""Every write about calls: a reported call event, and an agent's disposition."""

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from touchpoint.accounts.models import Membership
from touchpoint.channels.models import Call, CallEvent, CallEventKind, CallLeg, ChannelAccount
from touchpoint.channels.voice.replay import CallReplay, ReportedEvent, replay
from touchpoint.channels.voice.schemas import CallEventIn
from touchpoint.conversations.models import Channel, Conversation
from touchpoint.conversations.services import (
    add_system_event,
    assign,
    record_human_response,
    start_conversation,
)
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, NotFound, ValidationFailed
from touchpoint.core.permissions import Actor, Role
from touchpoint.customers.identities import normalize
from touchpoint.customers.models import Customer, IdentityKind
from touchpoint.customers.services import create_customer, resolve_customer

_LEG_FIELDS = ("queue", "agent_email", "queued_at", "ringing_at", "answered_at", "ended_at", "wrap_up_finished_at",
               "abandoned", "transferred", "queue_time", "ring_time", "talk_time", "hold_time", "after_call_work")


def record_call_event(*, account: ChannelAccount, report: CallEventIn) -> tuple[Call, bool]:
    """Store one reported event and replay the call. Returns (call, recorded); the same
    (call_id, event, at) twice is recorded once."""
    try:
        return _record(account, report)
    except IntegrityError:
        # The call's first two events raced and the other one created it: add ours to theirs.
        return _record(account, report)


@transaction.atomic
def _record(account: ChannelAccount, report: CallEventIn) -> tuple[Call, bool]:
    call = Call.objects.select_for_update().select_related("conversation").filter(
        account=account, external_id=report.call_id).first()
    if call is None:
        call = _new_call(account, report)
    elif CallEvent.objects.filter(call=call, kind=report.event, at=report.at).exists():
        return call, False
    event = CallEvent.objects.create(
        workspace_id=account.workspace_id, call=call, kind=report.event, at=report.at,
        payload=report.model_dump(mode="json", by_alias=True, exclude_none=True), received_at=now(),
    )
    events = [ReportedEvent(kind=e.kind, at=e.at, agent_email=e.payload.get("agent_email", ""),
                            queue=e.payload.get("queue", ""), ref=e.pk) for e in call.events.all()]
    agents = _agents(account.workspace_id, {e.agent_email for e in events if e.agent_email})
    summary, line = replay(events, caller=call.caller, names={email: m.display_name for email, m in agents.items()},
                           focus=event.pk)
    _save(call, summary, agents, disposition=report.disposition)
    conversation = call.conversation
    if line:
        add_system_event(conversation=conversation, text=line, at=event.at,
                         metadata={"call_id": call.pk, "call_event": event.kind})
    if summary.answered_at is not None:
        record_human_response(conversation=conversation, at=summary.answered_at)
    if report.event == CallEventKind.ANSWERED:
        _assign_to_current_agent(conversation, summary, agents)
    return call, True


def _new_call(account: ChannelAccount, report: CallEventIn) -> Call:
    """The call's first event (whichever arrives first): its customer, matched by the caller's number,
    and a voice conversation of its own (every call is a contact)."""
    customer = _caller(account.workspace_id, report.caller)
    conversation = start_conversation(
        workspace_id=account.workspace_id, customer=customer, channel=Channel.VOICE, at=report.at,
        subject=f"Call from {report.caller}", channel_account_id=account.pk,
    )
    return Call.objects.create(
        workspace_id=account.workspace_id, account=account, conversation=conversation, external_id=report.call_id,
        caller=report.caller, called=report.to, started_at=report.at, updated_at=now(),
    )


def _caller(workspace_id: int, number: str) -> Customer:
    try:
        return resolve_customer(workspace_id=workspace_id, kind=IdentityKind.PHONE, value=number)
    except ValidationFailed:
        # "anonymous", "restricted", "unknown": a withheld number identifies nobody, so the call gets
        # a customer of its own, for an agent to merge once they know who called.
        return create_customer(workspace_id=workspace_id, name="Withheld number")


def _agents(workspace_id: int, emails: set[str]) -> dict[str, Membership]:
    if not emails:
        return {}
    members = (Membership.objects.filter(workspace_id=workspace_id)
               .annotate(email=Lower("user__email")).filter(email__in=emails))
    return {m.email: m for m in members}


def _save(call: Call, summary: CallReplay, agents: dict[str, Membership], *, disposition: str | None) -> None:
    for name in ("state", "started_at", "queued_at", "answered_at", "ended_at", "wrap_up_finished_at", "abandoned",
                 "queue_time", "ring_time", "talk_time", "hold_time", "after_call_work"):
        setattr(call, name, getattr(summary, name))
    if disposition:
        call.disposition, call.disposition_by = disposition, None
    call.updated_at = now()
    call.save()
    for leg in summary.legs:
        member = agents.get(leg.agent_email)
        CallLeg.objects.update_or_create(
            call=call, position=leg.position,
            defaults={"workspace_id": call.workspace_id, "agent": member, **{f: getattr(leg, f) for f in _LEG_FIELDS}},
        )
    CallLeg.objects.filter(call=call, position__gt=len(summary.legs)).delete()


def _assign_to_current_agent(conversation: Conversation, summary: CallReplay, agents: dict[str, Membership]) -> None:
    """Whoever holds the call now owns the conversation, so their notes and disposition land with them."""
    leg = summary.current
    member = agents.get(leg.agent_email) if leg is not None and leg.answered_at and not leg.ended_at else None
    if member is None or not member.is_active or conversation.assignee_id == member.pk:
        return
    telephony = Actor(workspace_id=conversation.workspace_id, membership_id=None, role=Role.AGENT)
    assign(actor=telephony, conversation=conversation, assignee=member)


@transaction.atomic
def connect_voice_line(*, actor: Actor, name: str, number: str) -> ChannelAccount:
    """A phone number whose telephony system reports calls here (admins only). Its secret, made
    here and shown once, is the key the telephony system signs each event with."""
    actor.require(Role.ADMIN)
    name = (name or "").strip()
    if not 1 <= len(name) <= 120:
        raise ValidationFailed("Name the line (1–120 characters), e.g. 'Support line'.", field="name")
    number = normalize(IdentityKind.PHONE, number)
    if ChannelAccount.objects.filter(kind=Channel.VOICE, address=number).exists():
        raise Conflict(f"{number} is already connected as a voice line; disconnect it there first.", field="number")
    return ChannelAccount.objects.create(workspace_id=actor.workspace_id, kind=Channel.VOICE, name=name, address=number)


@transaction.atomic
def set_disposition(*, actor: Actor, call: Call, disposition: str) -> Call:
    """The agent's record of how the call ended ("Refund issued", "Wrong number")."""
    actor.require(Role.AGENT)
    if call.workspace_id != actor.workspace_id:
        raise NotFound("No such call in this workspace.")
    disposition = disposition.strip()
    if not 1 <= len(disposition) <= 120:
        raise ValidationFailed("A disposition is 1–120 characters.", field="disposition")
    if disposition == call.disposition:
        return call
    call.disposition, call.disposition_by_id = disposition, actor.membership_id
    call.updated_at = now()
    call.save(update_fields=["disposition", "disposition_by", "updated_at"])
    who = Membership.objects.filter(pk=actor.membership_id).values_list("display_name", flat=True).first() or "Touchpoint"
    add_system_event(conversation=call.conversation, text=f"{who} set the call's disposition: {disposition}.")
    return call
