"""The live router on the database: queue-then-assign, capacity, skills, stickiness, overflow, races,
tenancy and permissions."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from tests.conftest import Desk
from touchpoint.accounts import services as accounts
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Conversation, Status
from touchpoint.conversations.services import Content
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from touchpoint.routing import services as routing
from touchpoint.routing.models import ContactState, QueuedContact, RoutingDecision, RoutingSettings

# The router listens to committed changes (after commit), so every test here really commits.
pytestmark = pytest.mark.django_db(transaction=True)


def _skilled(desk, membership, **levels):
    skills = [(accounts.create_skill(actor=desk.admin_actor, name=name), level) for name, level in levels.items()]
    accounts.set_agent_skills(actor=desk.admin_actor, membership=membership, levels=skills)


def _online(desk, membership, **capacity):
    if capacity:
        routing.set_capacity(actor=desk.admin_actor, membership=membership, capacity=capacity)
    routing.set_presence(actor=desk.admin_actor, membership=membership, presence="online")


def _chat(desk, who="amy@example.com", channel="webchat") -> Conversation:
    message, _ = conversations.receive_message(workspace_id=desk.id, channel=channel, sender=("email", who),
                                               content=Content(text="Where is my order?"))
    return Conversation.objects.get(pk=message.conversation_id)


def _new_chat(desk, customer) -> Conversation:
    message, _ = conversations.receive_message(workspace_id=desk.id, channel="webchat", customer=customer,
                                               content=Content(text="Me again"), new_conversation=True)
    return Conversation.objects.get(pk=message.conversation_id)


def test_a_conversation_an_agent_opens_is_not_routed(desk, queue):
    _skilled(desk, desk.agent2, billing=5)
    _online(desk, desk.agent2)
    customer = _chat(desk).customer
    outbound = conversations.open_conversation(actor=desk.agent_actor, customer=customer, channel="webchat")
    assert not QueuedContact.objects.filter(conversation=outbound).exists()


@pytest.fixture
def queue(desk):
    accounts.create_skill(actor=desk.admin_actor, name="billing")
    return routing.save_queue(actor=desk.admin_actor, name="Billing chats", channels=["webchat"],
                              required_skills={"billing": 3})


def test_a_new_chat_goes_to_the_best_skilled_agent_with_the_reason_logged(desk, queue):
    _skilled(desk, desk.agent, billing=3)
    _skilled(desk, desk.agent2, billing=5)
    _online(desk, desk.agent)
    _online(desk, desk.agent2)
    conversation = _chat(desk)
    assert conversation.assignee_id == desk.agent2.pk
    decision = RoutingDecision.objects.get(contact__conversation=conversation)
    assert decision.agent_id == desk.agent2.pk and "proficiency 5" in decision.reason


def test_with_nobody_qualified_it_waits_and_says_why_then_goes_to_the_first_agent_online(desk, queue):
    _skilled(desk, desk.agent, billing=2)
    _online(desk, desk.agent)
    conversation = _chat(desk)
    assert conversation.assignee_id is None
    waiting = QueuedContact.objects.get(conversation=conversation)
    assert waiting.state == ContactState.WAITING
    assert "no online agent holds billing ≥ 3" in waiting.decisions.get().reason
    _skilled(desk, desk.agent2, billing=4)
    _online(desk, desk.agent2)  # queue-then-assign: coming online pulls the waiting contact
    conversation.refresh_from_db()
    waiting.refresh_from_db()
    assert conversation.assignee_id == desk.agent2.pk and waiting.state == ContactState.ASSIGNED


def test_a_full_agent_gets_the_next_chat_the_moment_one_is_resolved(desk, queue):
    _skilled(desk, desk.agent, billing=4)
    _online(desk, desk.agent, chat=1)
    first, second = _chat(desk, "one@example.com"), _chat(desk, "two@example.com")
    assert first.assignee_id == desk.agent.pk and second.assignee_id is None
    conversations.change_status(actor=desk.agent_actor, conversation=first, status=Status.RESOLVED)
    second.refresh_from_db()
    assert second.assignee_id == desk.agent.pk


def test_capacity_zero_takes_an_agent_out_of_that_work(desk, queue):
    _skilled(desk, desk.agent, billing=5)
    _online(desk, desk.agent, chat=0)
    assert _chat(desk).assignee_id is None
    assert "at capacity" in RoutingDecision.objects.get().reason


def test_an_agent_on_a_call_gets_no_new_chat_when_the_workspace_says_so(desk, queue):
    routing.save_queue(actor=desk.admin_actor, name="Phones", channels=["voice"])
    _skilled(desk, desk.agent, billing=5)
    _online(desk, desk.agent)
    message, _ = conversations.receive_message(workspace_id=desk.id, channel="voice", sender=("phone", "+14155550100"),
                                               content=Content(text="Call"))
    call = Conversation.objects.get(pk=message.conversation_id)
    assert call.assignee_id is None  # calls are routed by the telephony system, not queued here
    conversations.assign(actor=desk.admin_actor, conversation=call, assignee=desk.agent)  # who answered
    assert _chat(desk).assignee_id is None
    RoutingSettings.objects.create(workspace=desk.workspace, call_blocks_chat=False)
    assert _chat(desk, "bea@example.com").assignee_id == desk.agent.pk


def test_a_returning_customer_waits_a_little_for_their_last_agent(desk, queue):
    _skilled(desk, desk.agent, billing=3)
    _skilled(desk, desk.agent2, billing=5)
    _online(desk, desk.agent, chat=1)
    first = _chat(desk, "amy@example.com")
    conversations.assign(actor=desk.admin_actor, conversation=first, assignee=desk.agent)
    conversations.change_status(actor=desk.agent_actor, conversation=first, status=Status.RESOLVED)
    _online(desk, desk.agent2)
    assert _chat(desk, "zed@example.com").assignee_id == desk.agent2.pk  # Ben's better skill wins
    # Amy comes back while her last agent (Ana) is free: sticky beats Ben's better skill.
    again = _new_chat(desk, first.customer)
    assert again.assignee_id == desk.agent.pk
    assert "last agent" in RoutingDecision.objects.filter(contact__conversation=again).get().reason


def test_overflow_widens_to_lower_proficiency_after_the_wait(desk, queue):
    queue.overflow_after_s = 60
    queue.save()
    _skilled(desk, desk.agent, billing=1)
    _online(desk, desk.agent)
    conversation = _chat(desk)
    contact = QueuedContact.objects.get(conversation=conversation)
    assert conversation.assignee_id is None
    assert routing.route_contact(contact, at=now() + timedelta(seconds=61)) == desk.agent


def test_a_team_queue_routes_to_its_members_and_to_the_overflow_team_after_the_wait(desk, queue):
    sales, support = (accounts.create_team(actor=desk.admin_actor, name=n) for n in ("Sales", "Support"))
    accounts.set_team_members(actor=desk.admin_actor, team=sales, members=[desk.agent])
    accounts.set_team_members(actor=desk.admin_actor, team=support, members=[desk.agent2])
    queue.team, queue.overflow_team, queue.overflow_after_s = sales, support, 60
    queue.save()
    _skilled(desk, desk.agent2, billing=5)
    _online(desk, desk.agent2)
    conversation = _chat(desk)
    assert conversation.assignee_id is None  # the better agent is in another team
    contact = QueuedContact.objects.get(conversation=conversation)
    assert routing.route_contact(contact, at=now() + timedelta(seconds=61)) == desk.agent2


def test_open_work_counts_against_the_capacity_of_its_own_kind(desk, queue):
    _skilled(desk, desk.agent, billing=4)
    _online(desk, desk.agent, chat=1, message=1)
    email = _chat(desk, "mail@example.com", channel="email")  # no queue takes email: assigned by hand
    conversations.assign(actor=desk.admin_actor, conversation=email, assignee=desk.agent)
    agent = routing._agents(desk.id, skills=["billing"])[desk.agent.pk]
    assert agent.load == {"voice": 0, "chat": 0, "message": 1} and agent.capacity["chat"] == 1
    assert _chat(desk).assignee_id == desk.agent.pk  # a full message slot leaves the chat slot free
    assert _chat(desk, "second@example.com").assignee_id is None


def test_vip_contacts_are_served_first(desk, queue):
    plain = _chat(desk, "plain@example.com")
    vip_conversation = _chat(desk, "vip@example.com")
    QueuedContact.objects.filter(conversation=vip_conversation).update(vip=True)
    _skilled(desk, desk.agent, billing=4)
    _online(desk, desk.agent, chat=1)
    vip_conversation.refresh_from_db()
    plain.refresh_from_db()
    assert vip_conversation.assignee_id == desk.agent.pk and plain.assignee_id is None


def test_an_agent_going_offline_between_the_choice_and_the_claim_gets_nothing(desk, queue):
    conversation = _chat(desk)
    contact = QueuedContact.objects.get(conversation=conversation)
    _skilled(desk, desk.agent, billing=4)
    routing.set_presence(actor=desk.agent_actor, membership=desk.agent, presence="offline")
    assert routing._claim(contact.pk, desk.agent.pk, "chosen before going offline", now()) is None
    contact.refresh_from_db()
    assert contact.state == ContactState.WAITING


def test_an_agent_of_another_workspace_is_never_routed_this_ones_contacts(desk, other_desk, queue):
    other_skill = accounts.create_skill(actor=other_desk.admin_actor, name="billing")
    accounts.set_agent_skills(actor=other_desk.admin_actor, membership=other_desk.agent, levels=[(other_skill, 5)])
    _online(other_desk, other_desk.agent)
    conversation = _chat(desk)
    assert conversation.assignee_id is None
    assert routing.offer_work(other_desk.agent) == []
    with pytest.raises(NotFound):
        routing.claim(actor=other_desk.agent_actor, contact=QueuedContact.objects.get(conversation=conversation))


def test_agents_cannot_do_a_supervisors_routing_work(desk, queue):
    with pytest.raises(PermissionDenied):
        routing.set_capacity(actor=desk.agent_actor, membership=desk.agent, capacity={"chat": 9})
    with pytest.raises(PermissionDenied):
        routing.set_presence(actor=desk.agent_actor, membership=desk.agent2, presence="offline")
    with pytest.raises(PermissionDenied):
        routing.save_queue(actor=desk.agent_actor, name="Mine")
    routing.set_presence(actor=desk.agent_actor, membership=desk.agent, presence="away")  # their own: fine


@pytest.mark.parametrize(("fields", "field"), [
    ({"required_skills": {"astrology": 2}}, "required_skills"),
    ({"required_skills": {"billing": 9}}, "required_skills"),
    ({"policy": "coin_flip"}, "policy"),
    ({"channels": ["pigeon"]}, "channels"),
])
def test_a_bad_queue_is_refused_with_the_field_to_fix(desk, queue, fields, field):
    with pytest.raises(ValidationFailed) as refused:
        routing.save_queue(actor=desk.admin_actor, name="Broken", **fields)
    assert refused.value.field == field


def test_a_second_queue_of_the_same_name_is_refused(desk, queue):
    with pytest.raises(Conflict):
        routing.save_queue(actor=desk.admin_actor, name="Billing chats")


def test_bad_capacity_is_refused(desk):
    for capacity in ({"chat": -1}, {"chat": 500}, {"fax": 1}, {"chat": "3"}):
        with pytest.raises(ValidationFailed):
            routing.set_capacity(actor=desk.admin_actor, membership=desk.agent, capacity=capacity)


def test_an_agent_whose_sockets_stay_closed_a_minute_becomes_away(desk):
    from django_tasks_db.models import DBTaskResult

    _online(desk, desk.agent)
    routing.socket_opened(desk.agent)
    routing.socket_opened(desk.agent)
    routing.socket_closed(desk.agent)
    routing.socket_closed(desk.agent)
    assert routing.agent_status(desk.agent).presence == "online"  # maybe just moving to another page
    check = DBTaskResult.objects.get(task_path__endswith="away_if_still_gone")
    assert check.run_after >= now() + timedelta(seconds=50)
    routing.away_if_still_gone(desk.agent.pk)
    assert routing.agent_status(desk.agent).presence == "away"


def test_an_agent_back_on_another_page_stays_online(desk):
    _online(desk, desk.agent)
    routing.socket_opened(desk.agent)
    routing.socket_closed(desk.agent)
    routing.socket_opened(desk.agent)  # the next page's socket
    routing.away_if_still_gone(desk.agent.pk)
    assert routing.agent_status(desk.agent).presence == "online"


def test_an_agent_replying_ends_the_wait(desk, queue):
    conversation = _chat(desk)
    contact = QueuedContact.objects.get(conversation=conversation)
    conversations.reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="On it"))
    contact.refresh_from_db()
    assert contact.state == ContactState.CANCELLED


def test_two_agents_claiming_one_contact_at_once_exactly_one_wins():
    desk = Desk("race")
    accounts.create_skill(actor=desk.admin_actor, name="billing")
    routing.save_queue(actor=desk.admin_actor, name="Chats", channels=["webchat"])
    contact = QueuedContact.objects.get(conversation=_chat(desk))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def take(actor) -> None:
        try:
            barrier.wait()
            routing.claim(actor=actor, contact=contact)
            outcomes.append("won")
        except ValidationFailed as lost:
            outcomes.append(lost.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(a,)) for a in (desk.agent_actor, desk.agent2_actor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already_taken", "won"], (connection.vendor, outcomes)
    contact.refresh_from_db()
    assert contact.state == ContactState.ASSIGNED
    assert Conversation.objects.get(pk=contact.conversation_id).assignee_id == contact.assigned_to_id


def test_the_sweep_hands_a_contact_on_when_its_sticky_wait_is_over(desk, queue):
    _skilled(desk, desk.agent, billing=3)
    _skilled(desk, desk.agent2, billing=3)
    _online(desk, desk.agent, chat=1)
    first = _chat(desk, "amy@example.com")
    assert first.assignee_id == desk.agent.pk  # Ana is now full
    conversations.change_status(actor=desk.agent_actor, conversation=first, status=Status.RESOLVED)
    assert _chat(desk, "zed@example.com").assignee_id == desk.agent.pk  # and full again
    _online(desk, desk.agent2)
    again = _new_chat(desk, first.customer)
    assert again.assignee_id is None  # held for Ana, Amy's last agent, though Ben is free
    contact = QueuedContact.objects.get(conversation=again)
    assert routing.route_all_waiting(at=contact.waiting_since + timedelta(seconds=10)) == 0
    assert routing.route_all_waiting(at=contact.waiting_since + timedelta(seconds=31)) == 1
    again.refresh_from_db()
    assert again.assignee_id == desk.agent2.pk
