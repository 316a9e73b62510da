"""Reads of routing state that the API, the wallboard and the workspace share."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import QuerySet

from touchpoint.conversations.models import Conversation, Message, MessageKind
from touchpoint.conversations.selectors import access_conversation
from touchpoint.core.clock import now
from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Actor
from touchpoint.customers.models import Customer
from touchpoint.routing import sla
from touchpoint.routing.calendar import BusinessCalendar, CalendarError, InvalidCalendar
from touchpoint.routing.models import (
    AgentStatus,
    ContactState,
    ConversationSla,
    Notification,
    Presence,
    Queue,
    QueuedContact,
    RoutingDecision,
    SlaPolicy,
    SlaStatusChange,
)


def queues(actor: Actor) -> QuerySet[Queue]:
    return Queue.objects.filter(workspace_id=actor.workspace_id)


def access_queue(actor: Actor, queue_id: int) -> Queue:
    found = queues(actor).filter(pk=queue_id).first()
    if found is None:
        raise NotFound(f"No queue with id {queue_id} in this workspace.")
    return found


def access_contact(actor: Actor, contact_id: int) -> QueuedContact:
    found = QueuedContact.objects.filter(workspace_id=actor.workspace_id, pk=contact_id).first()
    if found is None:
        raise NotFound(f"No waiting contact with id {contact_id} in this workspace.")
    return found


def waiting_contacts(actor: Actor, queue: Queue, limit: int = 200) -> list[QueuedContact]:
    """VIP first, then priority, then the longest wait: the order a free agent is offered them in
    (the router also moves contacts whose SLA is about to be missed ahead)."""
    return list(QueuedContact.objects.filter(workspace_id=actor.workspace_id, queue=queue, state=ContactState.WAITING)
                .order_by("-vip", "-priority", "waiting_since", "id")[:limit])


def latest_contact(conversation: Conversation) -> QueuedContact | None:
    """The conversation's latest wait in a queue (waiting, assigned or cancelled), with its queue and
    agent: what the bot tells a customer it has just handed over."""
    return (QueuedContact.objects.select_related("queue", "assigned_to").filter(conversation=conversation)
            .order_by("-waiting_since", "-id").first())


def anyone_online(workspace_id: int) -> bool:
    return AgentStatus.objects.filter(workspace_id=workspace_id, presence=Presence.ONLINE).exists()


EXPECTED_WAIT_WINDOW = timedelta(hours=2)
EXPECTED_WAIT_SAMPLES = 5


def expected_wait(queue: Queue, *, at: datetime | None = None) -> timedelta | None:
    """What a contact entering this queue now may expect to wait: the median queue time of the contacts
    it gave to agents in the last two hours. None with fewer than five of them: too few to promise."""
    at = at or now()
    waits = sorted(ended - started for started, ended in QueuedContact.objects.filter(
        queue=queue, state=ContactState.ASSIGNED, ended_at__gte=at - EXPECTED_WAIT_WINDOW, ended_at__lte=at)
        .values_list("waiting_since", "ended_at")[:500])
    if len(waits) < EXPECTED_WAIT_SAMPLES:
        return None
    return waits[len(waits) // 2]


def decisions_for(actor: Actor, conversation_id: int) -> list[dict]:
    access_conversation(actor, conversation_id)
    return [{"id": d.pk, "contact_id": d.contact_id, "conversation_id": conversation_id, "agent_id": d.agent_id,
             "reason": d.reason, "decided_at": d.decided_at}
            for d in RoutingDecision.objects.filter(workspace_id=actor.workspace_id,
                                                    contact__conversation_id=conversation_id)]


# ---- SLAs ---------------------------------------------------------------------------------------


def sla_policies(actor: Actor) -> QuerySet[SlaPolicy]:
    return SlaPolicy.objects.filter(workspace_id=actor.workspace_id)


def access_sla_policy(actor: Actor, policy_id: int) -> SlaPolicy:
    found = sla_policies(actor).filter(pk=policy_id).first()
    if found is None:
        raise NotFound(f"No SLA policy with id {policy_id} in this workspace.")
    return found


def customer_segment(customer: Customer) -> str | Collection[str] | None:
    """The customer's segment for SLA matching: `custom_attributes["segment"]`, one name ("vip") or a
    list of them (["vip", "enterprise"]: a policy for any of them matches)."""
    segment = (customer.custom_attributes or {}).get("segment")
    if isinstance(segment, str):
        return segment.strip() or None
    if isinstance(segment, list):
        return [value for value in segment if isinstance(value, str) and value]
    return None


def policy_for(conversation: Conversation, policies: list[SlaPolicy] | None = None) -> SlaPolicy | None:
    """The supervisor's policy that applies: the most specific match (`sla.match_policy`), ties going
    to the earlier position."""
    if policies is None:
        policies = list(SlaPolicy.objects.filter(workspace_id=conversation.workspace_id))
    if not policies:
        return None
    return sla.match_policy(policies, conversation.priority, conversation.channel,
                            customer_segment(conversation.customer))


def sla_targets(policy: SlaPolicy) -> sla.SlaTargets:
    def seconds(value: int | None) -> timedelta | None:
        return timedelta(seconds=value) if value else None

    return sla.SlaTargets(first_response=seconds(policy.first_response_s), next_response=seconds(policy.next_response_s),
                          resolution=seconds(policy.resolution_s), business_hours=policy.business_hours,
                          at_risk_ratio=policy.at_risk_ratio)


@dataclass
class SlaSettings:
    """A workspace's SLA policies (position order) and business calendar, read once for every
    conversation a caller evaluates: the calendar keeps each day's opening ranges it has worked out."""

    policies: list[SlaPolicy]
    calendar: BusinessCalendar | None  # None: the workspace's hours cannot be read (`problem` says why)
    problem: str = ""

    @classmethod
    def of(cls, workspace) -> "SlaSettings":
        policies = list(SlaPolicy.objects.filter(workspace_id=workspace.pk))
        try:
            return cls(policies, BusinessCalendar.for_workspace(workspace))
        except CalendarError as error:
            return cls(policies, None, str(error))

    def clock(self, policy: SlaPolicy) -> sla.SlaClock:
        """The policy's targets on the calendar. Raises `calendar.CalendarError` (NoWorkingHours,
        InvalidCalendar) when the workspace's hours cannot count business time."""
        if self.calendar is None:
            raise InvalidCalendar(self.problem)
        return sla.SlaClock(sla_targets(policy), self.calendar)


def sla_opened_at(conversation: Conversation) -> datetime:
    """When the clocks start: the opening, or for a conversation the bot answered first, the handoff to
    people (KPIS.md: first response is measured from the bot handoff)."""
    return conversation.handed_off_at or conversation.created_at


def sla_events(conversation: Conversation) -> list[sla.SlaEvent]:
    """The conversation's history as the clocks see it: its opening (or the bot's handoff), its status
    changes (logged as they commit) and its public messages from the thread. Bot, system and automated
    messages, notes and system events never count (`SlaEvent.from_message`). Nothing is placed before
    the opening: a message dated earlier (an email's own Date header, the customer's words to the bot)
    counts from the opening."""
    opened = sla_opened_at(conversation)
    events = [sla.SlaEvent(sla.SlaEventKind.OPENED, opened)]
    for status, at in SlaStatusChange.objects.filter(conversation_id=conversation.pk).values_list("status", "at"):
        events.append(sla.SlaEvent.from_status(status, max(at, opened)))
    messages = (Message.objects.filter(conversation_id=conversation.pk,
                                       kind__in=(MessageKind.INCOMING, MessageKind.OUTGOING))
                .order_by("created_at", "id").values_list("kind", "sender_type", "created_at"))
    for kind, sender_type, at in messages:
        event = sla.SlaEvent.from_message(kind, sender_type, max(at, opened))
        if event is not None:
            events.append(event)
    return events


def live_sla_report(conversation: Conversation, *, at: datetime | None = None) -> tuple[SlaPolicy, sla.SlaReport] | None:
    """The policy and its report as of `at` (default now), computed afresh and written nowhere; None
    when no policy applies. Raises `calendar.CalendarError` when the workspace cannot count business time."""
    if conversation.held_by_bot:
        return None  # no promise runs while the bot answers
    settings = SlaSettings.of(conversation.workspace)
    policy = policy_for(conversation, settings.policies)
    if policy is None:
        return None
    at = max(at or now(), sla_opened_at(conversation))
    return policy, settings.clock(policy).evaluate(sla_events(conversation), at)


# The conversation's overall state is the worst of its shown targets'.
STATE_RANK = {sla.SlaState.BREACHED: 4, sla.SlaState.AT_RISK: 3, sla.SlaState.ON_TRACK: 2, sla.SlaState.PAUSED: 1,
              sla.SlaState.MET: 0}


def overall_state(report: sla.SlaReport) -> sla.SlaState:
    return max((status.state for status in report.current), key=STATE_RANK.__getitem__, default=sla.SlaState.MET)


def running_due_at(report: sla.SlaReport) -> datetime | None:
    """The earliest due time of a target whose clock runs: what the router and the wallboard sort by."""
    return min((status.due_at for status in report.current
                if status.state in (sla.SlaState.ON_TRACK, sla.SlaState.AT_RISK) and status.due_at), default=None)


def sla_overview(actor: Actor, conversation_id: int, *, at: datetime | None = None) -> dict:
    """Where the conversation's SLA stands right now, computed afresh (the stored row may be up to one
    periodic check behind): for the API."""
    conversation = access_conversation(actor, conversation_id)
    at = at or now()
    found = live_sla_report(conversation, at=at)
    if found is None:
        return {"conversation_id": conversation.pk, "policy_id": None, "policy_name": None, "state": None,
                "next_due_at": None, "breached_at": None, "evaluated_at": at, "targets": []}
    policy, report = found
    return {
        "conversation_id": conversation.pk, "policy_id": policy.pk, "policy_name": policy.name,
        "state": overall_state(report).value, "next_due_at": running_due_at(report),
        "breached_at": min((s.breached_at for s in report.breaches if s.breached_at), default=None),
        "evaluated_at": report.evaluated_at,
        "targets": [{
            "metric": s.metric.value, "state": s.state.value, "target_s": int(s.target.total_seconds()),
            "started_at": s.started_at, "due_at": s.due_at, "at_risk_at": s.at_risk_at, "breached_at": s.breached_at,
            "completed_at": s.completed_at, "elapsed_s": int(s.elapsed.total_seconds()),
            "remaining_s": int(s.remaining.total_seconds()),
        } for s in report.current],
    }


def notifications_for(actor: Actor, *, limit: int = 20) -> list[Notification]:
    """The actor's latest notifications, unread and read, newest first."""
    return list(Notification.objects.filter(workspace_id=actor.workspace_id, recipient_id=actor.membership_id)
                .select_related("conversation")[:limit])


def unread_count(actor: Actor) -> int:
    return Notification.objects.filter(workspace_id=actor.workspace_id, recipient_id=actor.membership_id,
                                       read_at__isnull=True).count()


def shown_sla(conversation: Conversation) -> ConversationSla | None:
    """What the conversation pane shows: the stored due times and states, with the policy's name."""
    return ConversationSla.objects.select_related("policy").filter(conversation_id=conversation.pk).first()


SLA_POLICIES_CACHED_S = 30  # another process (smtpd) sees a first or last policy within this


def has_sla_policies(workspace_id: int) -> bool:
    """Whether the workspace has SLA policies, from the shared cache: every incoming message asks."""
    key = f"sla-policies:{workspace_id}"
    found = cache.get(key)
    if found is None:
        found = SlaPolicy.objects.filter(workspace_id=workspace_id).exists()
        cache.set(key, found, SLA_POLICIES_CACHED_S)
    return found


def forget_sla_policies(workspace_id: int) -> None:
    cache.delete(f"sla-policies:{workspace_id}")
