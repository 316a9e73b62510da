"""SLAs on the desk: policies matched to conversations, due times in business hours, pauses while
pending, warnings and escalation once per target, the periodic check, the API and its refusals."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from tests.apiclient import api_as
from touchpoint.accounts import services as accounts
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Conversation, Message, MessageKind, SenderType, Status
from touchpoint.conversations.services import Content
from touchpoint.core import worker
from touchpoint.core.errors import PermissionDenied, ValidationFailed
from touchpoint.realtime.models import LiveEvent
from touchpoint.routing import services as routing
from touchpoint.routing.models import (
    ContactState,
    ConversationSla,
    Notification,
    QueuedContact,
    SlaPolicy,
    SlaStatusChange,
)

# Routing listeners run after commit, so every test here really commits.
pytestmark = pytest.mark.django_db(transaction=True)

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the workspace is open Mon-Fri 09:00-17:00 UTC
HOUR = 3600


class Clock:
    """The time every service reads (django.utils.timezone.now), moved by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(MONDAY_9)
    monkeypatch.setattr("django.utils.timezone.now", frozen)
    return frozen


def _policy(desk, **fields):
    fields.setdefault("name", "Standard")
    return routing.save_sla_policy(actor=desk.supervisor_actor, **fields)


def _customer_writes(desk, *, email="amy@example.com", channel="email", segment=None) -> Conversation:
    message, _ = conversations.receive_message(workspace_id=desk.id, channel=channel, sender=("email", email),
                                               content=Content(text="Where is my order?"))
    if segment is not None:
        customer = message.conversation.customer
        customer.custom_attributes = {"segment": segment}
        customer.save(update_fields=["custom_attributes"])
        routing.evaluate_sla(Conversation.objects.get(pk=message.conversation_id))
    return Conversation.objects.get(pk=message.conversation_id)


def _sla(conversation) -> ConversationSla:
    return ConversationSla.objects.select_related("policy").get(conversation=conversation)


def _thread_events(conversation) -> list[str]:
    return list(Message.objects.filter(conversation=conversation, kind=MessageKind.EVENT)
                .values_list("content_text", flat=True))


# ---- which policy applies --------------------------------------------------------------------


def test_the_most_specific_policy_applies_by_priority_channel_and_segment(desk, clock):
    _policy(desk, name="Everyone", first_response_s=8 * HOUR, position=0)
    _policy(desk, name="Urgent", priorities=["urgent"], first_response_s=HOUR, position=1)
    _policy(desk, name="VIP email", channels=["email"], segments=["vip"], first_response_s=2 * HOUR, position=2)

    plain = _customer_writes(desk, email="plain@example.com", channel="webchat")
    assert _sla(plain).policy.name == "Everyone"
    vip = _customer_writes(desk, email="vip@example.com", channel="email", segment="vip")
    assert _sla(vip).policy.name == "VIP email"
    assert _sla(vip).first_response_due_at == MONDAY_9 + timedelta(hours=2)
    vip_chat = _customer_writes(desk, email="vip2@example.com", channel="webchat", segment=["gold", "vip"])
    assert _sla(vip_chat).policy.name == "Everyone"  # VIP policy is for email only

    conversations.update_conversation(actor=desk.agent_actor, conversation=plain, priority="urgent")
    sla = _sla(plain)
    assert sla.policy.name == "Urgent"
    assert sla.first_response_due_at == MONDAY_9 + timedelta(hours=1)


def test_a_call_that_opens_without_a_message_gets_its_sla_at_once(desk, clock):
    _policy(desk, first_response_s=120, business_hours=False)
    customer = _customer_writes(desk, email="caller@example.com").customer
    call = conversations.start_conversation(workspace_id=desk.id, customer=customer, channel="voice", at=clock.at)
    assert _sla(call).first_response_due_at == MONDAY_9 + timedelta(minutes=2)


def test_a_message_that_changes_nothing_writes_nothing(desk, clock):
    _policy(desk, first_response_s=HOUR, business_hours=False)
    conversation = _customer_writes(desk)
    written = _sla(conversation).updated_at
    clock.advance(minutes=5)
    _customer_writes(desk)  # a second line in the same wait: the same due time
    assert _sla(conversation).updated_at == written
    clock.advance(minutes=5)
    conversations.reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="Hi"))
    sla = _sla(conversation)
    assert sla.updated_at == clock.at and sla.first_response_state == "met"


def test_no_matching_policy_means_no_sla_row(desk, clock):
    _policy(desk, name="Chats", channels=["webchat"], first_response_s=HOUR)
    email = _customer_writes(desk, channel="email")
    assert not ConversationSla.objects.filter(conversation=email).exists()


# ---- due times, pauses, the router ------------------------------------------------------------


def test_first_response_is_due_in_business_hours_and_the_waiting_contact_carries_it(desk, clock):
    routing.save_queue(actor=desk.admin_actor, name="Email", channels=["email"])  # nobody online: it waits
    _policy(desk, first_response_s=2 * HOUR, business_hours=True)
    clock.at = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)  # Friday 16:00: one working hour left this week
    conversation = _customer_writes(desk)
    sla = _sla(conversation)
    monday_10 = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    assert sla.first_response_due_at == monday_10
    assert sla.next_due_at == monday_10 and sla.state == "on_track"
    contact = QueuedContact.objects.get(conversation=conversation, state=ContactState.WAITING)
    assert contact.sla_due_at == monday_10


def test_calendar_time_policies_ignore_the_opening_hours(desk, clock):
    _policy(desk, first_response_s=2 * HOUR, business_hours=False)
    clock.at = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    conversation = _customer_writes(desk)
    assert _sla(conversation).first_response_due_at == datetime(2026, 3, 6, 18, 0, tzinfo=UTC)


def test_the_clock_pauses_while_pending_on_the_customer(desk, clock):
    _policy(desk, first_response_s=HOUR, resolution_s=4 * HOUR, business_hours=False)
    conversation = _customer_writes(desk)
    clock.advance(minutes=30)
    conversations.reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="Checking"))
    clock.advance(minutes=30)  # 10:00: one hour of resolution used
    conversations.change_status(actor=desk.agent_actor, conversation=conversation, status=Status.PENDING)
    sla = _sla(conversation)
    assert sla.state == "paused" and sla.next_check_at is None
    assert sla.resolution_state == "paused" and sla.resolution_due_at is None and sla.next_due_at is None
    assert sla.first_response_state == "met"

    clock.advance(hours=2)  # 12:00: the customer answers, the clock resumes with three hours left
    _customer_writes(desk)
    sla = _sla(conversation)
    assert sla.resolution_state == "on_track"
    assert sla.resolution_due_at == MONDAY_9 + timedelta(hours=6)
    assert list(SlaStatusChange.objects.filter(conversation=conversation).values_list("status", "at")) == [
        ("pending", MONDAY_9 + timedelta(hours=1)), ("open", MONDAY_9 + timedelta(hours=3))]


def test_bot_and_system_messages_never_count_as_a_response(desk, clock):
    _policy(desk, first_response_s=HOUR, business_hours=False)
    conversation = _customer_writes(desk)
    clock.advance(minutes=5)
    for sender in (SenderType.BOT, SenderType.SYSTEM):
        Message.objects.create(workspace_id=desk.id, conversation=conversation, customer=conversation.customer,
                               kind=MessageKind.OUTGOING, sender_type=sender, channel="email",
                               content_text="An automated answer", created_at=clock.at)
    conversations.add_note(actor=desk.agent_actor, conversation=conversation, content=Content(text="a note"))
    sla = routing.evaluate_sla(conversation)
    assert sla.first_response_state == "on_track"
    routing.check_slas(at=MONDAY_9 + timedelta(minutes=61))
    assert _sla(conversation).first_response_state == "breached"


# ---- warnings and escalation -----------------------------------------------------------------


def test_a_breach_warns_raises_priority_and_notifies_assignee_and_supervisors_once(desk, clock):
    _policy(desk, first_response_s=HOUR, business_hours=False,
            escalation=[{"when": "breached", "action": "raise_priority"}])
    conversation = _customer_writes(desk)
    conversations.assign(actor=desk.supervisor_actor, conversation=conversation, assignee=desk.agent)

    clock.advance(minutes=61)
    assert routing.check_slas() == 1
    conversation.refresh_from_db()
    assert conversation.priority == "high"
    assert [t for t in _thread_events(conversation) if "SLA" in t] == [
        "First response SLA breached; priority raised to high, 2 people notified."]
    notified = set(Notification.objects.filter(kind="sla_breached").values_list("recipient_id", flat=True))
    assert notified == {desk.agent.pk, desk.supervisor.pk}
    sla = _sla(conversation)
    assert sla.state == "breached" and sla.breached_at == MONDAY_9 + timedelta(hours=1)
    assert LiveEvent.objects.filter(type="notification.created").count() == 2

    # Again, by the clock and by events: nothing more.
    clock.advance(minutes=5)
    routing.check_slas()
    _customer_writes(desk)
    conversations.add_note(actor=desk.agent_actor, conversation=conversation, content=Content(text="on it"))
    conversation.refresh_from_db()
    assert conversation.priority == "high"
    assert Notification.objects.filter(kind="sla_breached").count() == 2
    assert sum("SLA breached" in t for t in _thread_events(conversation)) == 1


def test_two_checks_at_once_warn_once(desk, clock):
    _policy(desk, first_response_s=HOUR, business_hours=False,
            escalation=[{"when": "breached", "action": "raise_priority"}])
    conversation = _customer_writes(desk)
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def check() -> None:
        try:
            barrier.wait()
            routing.check_slas(at=MONDAY_9 + timedelta(hours=2))
        except BaseException as error:  # reported below: a thread's exception would be lost
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    conversation.refresh_from_db()
    assert conversation.priority == "high"  # raised once, not twice
    assert Notification.objects.filter(kind="sla_breached").count() == 1  # the supervisor; nobody assigned
    assert sum("SLA breached" in t for t in _thread_events(conversation)) == 1


def test_at_risk_moves_to_a_team_and_notifies_supervisors_when_the_policy_says_so(desk, clock):
    tier2 = accounts.create_team(actor=desk.admin_actor, name="Tier 2")
    _policy(desk, first_response_s=HOUR, business_hours=False, at_risk_ratio=0.5,
            escalation=[{"when": "at_risk", "action": "move_to_team", "team_id": tier2.pk},
                        {"when": "at_risk", "action": "notify"}])
    conversation = _customer_writes(desk)
    conversations.assign(actor=desk.supervisor_actor, conversation=conversation, assignee=desk.agent2)
    assert _sla(conversation).next_check_at == MONDAY_9 + timedelta(minutes=30)

    routing.check_slas(at=MONDAY_9 + timedelta(minutes=29))
    assert _sla(conversation).state == "on_track"
    clock.advance(minutes=31)
    routing.check_slas()
    conversation.refresh_from_db()
    assert conversation.team_id == tier2.pk
    assert _sla(conversation).state == "at_risk"
    warning = [t for t in _thread_events(conversation) if "SLA" in t]
    assert warning == ["First response SLA at risk: due Mar 02, 10:00 UTC; moved to Tier 2, 2 people notified."]
    # Ben, who had it (the move to a team he is not in unassigned him), and the supervisor are told.
    assert conversation.assignee_id is None
    assert sorted(Notification.objects.values_list("recipient_id", "kind")) == sorted(
        [(desk.agent2.pk, "sla_at_risk"), (desk.supervisor.pk, "sla_at_risk")])
    routing.check_slas()
    assert Notification.objects.filter(kind="sla_at_risk", recipient=desk.supervisor).count() == 1


def test_at_risk_without_notify_tells_only_the_assignee(desk, clock):
    _policy(desk, first_response_s=HOUR, business_hours=False, at_risk_ratio=0.5)
    conversation = _customer_writes(desk)
    conversations.assign(actor=desk.supervisor_actor, conversation=conversation, assignee=desk.agent)
    routing.check_slas(at=MONDAY_9 + timedelta(minutes=31))
    assert list(Notification.objects.values_list("recipient_id", "kind")) == [(desk.agent.pk, "sla_at_risk")]


def test_the_periodic_check_breaches_on_time_with_no_event(desk, clock):
    assert (15.0, worker._check_slas) in worker.PERIODIC
    _policy(desk, first_response_s=HOUR, business_hours=False)
    conversation = _customer_writes(desk)
    assert _sla(conversation).state == "on_track"
    assert routing.check_slas(at=MONDAY_9 + timedelta(minutes=10)) == 0  # nothing due yet
    routing.check_slas(at=MONDAY_9 + timedelta(minutes=50))
    assert _sla(conversation).state == "at_risk"
    routing.check_slas(at=MONDAY_9 + timedelta(minutes=60))
    sla = _sla(conversation)
    assert sla.state == "breached" and sla.first_response_state == "breached"
    assert sla.next_check_at is None  # nothing left to change by time alone
    assert Notification.objects.filter(kind="sla_breached", recipient=desk.supervisor).exists()


def test_a_resolved_conversation_is_not_warned_about(desk, clock):
    _policy(desk, first_response_s=HOUR, business_hours=False)
    conversation = _customer_writes(desk)
    conversations.change_status(actor=desk.agent_actor, conversation=conversation, status=Status.RESOLVED)
    routing.check_slas(at=MONDAY_9 + timedelta(hours=2))
    assert not Notification.objects.exists()
    assert _sla(conversation).first_response_state == "met"


# ---- policies: validation, permissions ---------------------------------------------------------


def test_business_hours_on_a_desk_without_working_hours_is_refused(desk, clock):
    accounts.update_workspace_settings(actor=desk.admin_actor, workspace=desk.workspace, business_hours={})
    with pytest.raises(ValidationFailed) as refused:
        _policy(desk, first_response_s=HOUR, business_hours=True)
    assert refused.value.code == "no_working_hours"
    _policy(desk, first_response_s=HOUR, business_hours=False)  # calendar time needs no hours


def test_bad_policies_are_refused_and_nothing_is_written(desk, other_desk):
    other_team = accounts.create_team(actor=other_desk.admin_actor, name="Theirs")
    bad = [
        {"first_response_s": None},
        {"first_response_s": 0},
        {"first_response_s": HOUR, "at_risk_ratio": 1.5},
        {"first_response_s": HOUR, "priorities": ["asap"]},
        {"first_response_s": HOUR, "channels": ["fax"]},
        {"first_response_s": HOUR, "escalation": [{"when": "later", "action": "notify"}]},
        {"first_response_s": HOUR, "escalation": [{"when": "breached", "action": "move_to_team"}]},
        {"first_response_s": HOUR, "escalation": [{"when": "breached", "action": "move_to_team",
                                                    "team_id": other_team.pk}]},
    ]
    for fields in bad:
        with pytest.raises(ValidationFailed):
            _policy(desk, **fields)
    assert not SlaPolicy.objects.exists()


def test_agents_cannot_write_policies(desk):
    with pytest.raises(PermissionDenied):
        routing.save_sla_policy(actor=desk.agent_actor, name="Mine", first_response_s=HOUR)


# ---- the API -------------------------------------------------------------------------------------


def test_api_crud_and_a_conversations_sla(desk, clock):
    api = api_as(desk.supervisor)
    team = accounts.create_team(actor=desk.admin_actor, name="Escalations")
    created = api.post("/routing/sla-policies", {
        "name": "Email", "channels": ["email"], "first_response_s": 3600, "resolution_s": 86400,
        "business_hours": False, "escalation": [{"when": "breached", "action": "move_to_team", "team_id": team.pk},
                                                {"when": "at_risk", "action": "notify"}]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["escalation"] == [{"when": "breached", "action": "move_to_team", "team_id": team.pk},
                                  {"when": "at_risk", "action": "notify"}]
    policy_id = body["id"]
    assert [p["name"] for p in api.get("/routing/sla-policies").json()] == ["Email"]
    changed = api.put(f"/routing/sla-policies/{policy_id}", {"name": "Email", "channels": ["email"],
                                                              "first_response_s": 1800, "business_hours": False})
    assert changed.status_code == 200 and changed.json()["first_response_s"] == 1800

    conversation = _customer_writes(desk)
    clock.advance(minutes=20)
    sla = api_as(desk.agent).get(f"/conversations/{conversation.pk}/sla")
    assert sla.status_code == 200, sla.content
    body = sla.json()
    assert body["policy_name"] == "Email" and body["state"] == "on_track"
    first = body["targets"][0]
    assert first["metric"] == "first_response" and first["elapsed_s"] == 1200 and first["remaining_s"] == 600
    assert first["due_at"].startswith("2026-03-02T09:30")

    assert api.delete(f"/routing/sla-policies/{policy_id}").status_code == 204
    assert api.get(f"/routing/sla-policies/{policy_id}").status_code == 404
    routing.check_slas()
    assert not ConversationSla.objects.filter(conversation=conversation).exists()
    assert api_as(desk.agent).get(f"/conversations/{conversation.pk}/sla").json()["targets"] == []


def test_api_no_working_hours_is_a_422_with_its_code(desk):
    accounts.update_workspace_settings(actor=desk.admin_actor, workspace=desk.workspace, business_hours={})
    response = api_as(desk.supervisor).post("/routing/sla-policies", {"name": "X", "first_response_s": 600})
    assert response.status_code == 422
    assert response.json()["code"] == "no_working_hours"
    assert "no working hours" in response.json()["detail"]


def test_api_refuses_bad_numbers_unknown_teams_and_agents(desk, other_desk):
    api = api_as(desk.supervisor)
    for body in ({"name": "X", "first_response_s": -5}, {"name": "X", "first_response_s": 60, "at_risk_ratio": 0},
                 {"name": "X", "first_response_s": 60, "surprise": 1},
                 {"name": "X", "first_response_s": 60,
                  "escalation": [{"when": "breached", "action": "move_to_team", "team_id": 999999}]}):
        assert api.post("/routing/sla-policies", body).status_code == 422, body
    assert api_as(desk.agent).post("/routing/sla-policies", {"name": "X", "first_response_s": 60}).status_code == 403
    assert api_as(desk.agent).get("/routing/sla-policies").status_code == 200


def test_tenancy_policies_and_slas_stay_in_their_workspace(desk, other_desk, clock):
    policy = _policy(desk, first_response_s=HOUR, business_hours=False)
    conversation = _customer_writes(desk)
    theirs = api_as(other_desk.supervisor)
    assert theirs.get("/routing/sla-policies").json() == []
    assert theirs.get(f"/routing/sla-policies/{policy.pk}").status_code == 404
    assert theirs.put(f"/routing/sla-policies/{policy.pk}", {"name": "Mine", "first_response_s": 60}).status_code == 404
    assert theirs.delete(f"/routing/sla-policies/{policy.pk}").status_code == 404
    assert theirs.get(f"/conversations/{conversation.pk}/sla").status_code == 404
    # Their policies never apply to our conversations.
    _policy(other_desk, name="Theirs", first_response_s=60, business_hours=False)
    routing.evaluate_sla(conversation)
    assert _sla(conversation).policy_id == policy.pk
