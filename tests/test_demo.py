"""The demo store: deterministic, consistent with what the services would have written, and confined
to its own workspace."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Max, Min, OuterRef, Q, Subquery

from touchpoint import demo
from touchpoint.accounts import services as accounts
from touchpoint.accounts.models import AgentSkill, Membership, Team, User
from touchpoint.accounts.selectors import actor_for
from touchpoint.conversations import selectors as conversation_selectors
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Conversation, Message, MessageKind, Status
from touchpoint.core.clock import now
from touchpoint.core.errors import NotFound, PermissionDenied
from touchpoint.core.permissions import Role
from touchpoint.customers.models import Customer, Identity
from touchpoint.customers.selectors import customers_for

SMALL = {"customers": 40, "conversations": 200}
PUBLIC = (MessageKind.INCOMING, MessageKind.OUTGOING)


@pytest.fixture
def today():
    return now().replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def loaded(db, today) -> demo.DemoSummary:
    return demo.load_demo(**SMALL, today=today)


def _fingerprint(workspace) -> dict:
    conversations_qs = Conversation.objects.filter(workspace=workspace)
    return {
        "customers": Customer.objects.filter(workspace=workspace).count(),
        "identities": Identity.objects.filter(workspace=workspace).count(),
        "messages": Message.objects.filter(workspace=workspace).count(),
        "by_status": dict(conversations_qs.values_list("status").annotate(n=Count("id"))),
        "by_kind": dict(Message.objects.filter(workspace=workspace).values_list("kind").annotate(n=Count("id"))),
        "subjects": list(conversations_qs.order_by("created_at", "subject").values_list("subject", flat=True)),
        "names": list(Customer.objects.filter(workspace=workspace).order_by("created_at", "name").values_list("name", flat=True)),
    }


def test_two_loads_give_the_same_store(loaded, today):
    first = _fingerprint(loaded.workspace)
    again = demo.load_demo(**SMALL, today=today, reset=True)
    assert again.created and again.workspace.pk != loaded.workspace.pk
    assert _fingerprint(again.workspace) == first
    assert len(first["subjects"]) == SMALL["conversations"]
    assert first["customers"] == SMALL["customers"]


def test_mostly_resolved_with_a_live_backlog_on_every_channel(loaded):
    by_status = _fingerprint(loaded.workspace)["by_status"]
    assert by_status[Status.RESOLVED] > SMALL["conversations"] * 0.6
    assert by_status.get(Status.OPEN, 0) > 0 and by_status.get(Status.PENDING, 0) > 0
    channels = set(Conversation.objects.filter(workspace=loaded.workspace).values_list("channel", flat=True))
    assert channels == {"email", "webchat", "sms", "whatsapp", "voice", "api"}
    kinds = set(Identity.objects.filter(workspace=loaded.workspace).values_list("kind", flat=True))
    assert kinds == {"email", "phone", "visitor", "external", "social"}


def test_staff_teams_and_skills(loaded):
    members = Membership.objects.filter(workspace=loaded.workspace)
    assert dict(members.values_list("role").annotate(n=Count("id"))) == {"admin": 1, "supervisor": 1, "agent": len(demo.AGENTS)}
    assert set(Team.objects.filter(workspace=loaded.workspace).values_list("name", flat=True)) == set(demo.TEAMS)
    assert AgentSkill.objects.filter(workspace_id=loaded.workspace.pk).count() == sum(len(p.skills) for p in demo.AGENTS)
    for _role, email, password in demo.logins():
        assert User.objects.get(email=email).check_password(password)


@pytest.mark.django_db(transaction=True)
def test_new_demo_contacts_wait_in_their_queue_under_their_sla(today):
    from touchpoint.routing.models import ContactState, ConversationSla, QueuedContact

    workspace = demo.load_demo(**SMALL, today=today).workspace
    for channel, queue, policy in (("webchat", "Chat and messaging", "Live chat"), ("email", "Email", "Email and messages")):
        message, _ = conversations.receive_message(workspace_id=workspace.pk, channel=channel,
                                                   sender=("email", f"new.{channel}@example.com"),
                                                   content=conversations.Content(text="Where is my parcel?"))
        if channel == "webchat":  # the demo's bot answers chats first: queued when it hands over
            assert message.conversation.held_by_bot
            assert not QueuedContact.objects.filter(conversation_id=message.conversation_id).exists()
            conversations.hand_off_from_bot(conversation=message.conversation, reason="the customer asked")
        waiting = QueuedContact.objects.get(conversation_id=message.conversation_id)
        assert waiting.state == ContactState.WAITING and waiting.queue.name == queue  # agents start offline
        assert ConversationSla.objects.get(conversation_id=message.conversation_id).policy.name == policy


def test_timestamps_are_what_the_services_would_have_written(loaded, today):
    ws = loaded.workspace
    last_public = Message.objects.filter(conversation=OuterRef("pk"), kind__in=PUBLIC).order_by("-created_at", "-id")
    rows = Conversation.objects.filter(workspace=ws).annotate(
        first_any=Min("messages__created_at"),
        first_in=Min("messages__created_at", filter=Q(messages__kind=MessageKind.INCOMING)),
        first_out=Min("messages__created_at", filter=Q(messages__kind=MessageKind.OUTGOING)),
        last_any=Max("messages__created_at"),
        last_kind=Subquery(last_public.values("kind")[:1]),
        last_at=Subquery(last_public.values("created_at")[:1]),
        last_text=Subquery(last_public.values("content_text")[:1]),
    )
    # The customer opens every conversation; the first answer is the first reply, after it.
    assert not rows.exclude(created_at=F("first_any")).exists()
    assert not rows.exclude(first_in=F("first_any")).exists()
    assert not rows.filter(first_response_at__lte=F("first_in")).exists()
    assert not rows.filter(first_out__isnull=False).exclude(first_response_at=F("first_out")).exists()
    assert not rows.filter(first_out=None).exclude(first_response_at=None).exists()
    # The last public message is on the row, and so is the last activity.
    assert not rows.exclude(last_message_at=F("last_at")).exists()
    assert not rows.exclude(updated_at=F("last_any")).exists()
    for c in rows:
        assert c.last_message_preview == c.last_text.replace("\n", " ")[:200]
    # Resolved after its last message; nothing else resolved.
    assert not rows.filter(status=Status.RESOLVED).filter(Q(resolved_at__lt=F("last_any")) | Q(resolved_at=None)).exists()
    assert not rows.exclude(status=Status.RESOLVED).exclude(resolved_at=None).exists()
    # Waiting exactly when the customer's message is the last public one ...
    assert not rows.filter(waiting_since__isnull=False).exclude(last_kind=MessageKind.INCOMING).exists()
    assert not rows.filter(waiting_since__isnull=True, last_kind=MessageKind.INCOMING).exists()
    # ... since their first message after the last answer.
    for c in rows.filter(waiting_since__isnull=False):
        unanswered = c.messages.filter(kind=MessageKind.INCOMING)
        if c.first_out:
            unanswered = unanswered.filter(created_at__gt=c.messages.filter(kind=MessageKind.OUTGOING).latest("created_at").created_at)
        assert c.waiting_since == unanswered.aggregate(at=Min("created_at"))["at"]
    # History covers the last 90 days and ends before today; only snoozes wake in the future.
    assert not Message.objects.filter(workspace=ws).filter(
        Q(created_at__gte=today) | Q(created_at__lt=today - timedelta(days=demo.HISTORY_DAYS + 5))).exists()
    assert not rows.filter(status=Status.SNOOZED).filter(Q(snoozed_until__lte=today) | Q(snoozed_until=None)).exists()
    assert not rows.exclude(status=Status.SNOOZED).exclude(snoozed_until=None).exists()
    # Every message belongs to its conversation's customer, who existed before writing.
    assert not Message.objects.filter(workspace=ws).exclude(customer=F("conversation__customer")).exists()
    assert not Conversation.objects.filter(workspace=ws, created_at__lte=F("customer__created_at")).exists()


def test_one_unresolved_conversation_per_customer_and_channel(loaded):
    doubled = (Conversation.objects.filter(workspace=loaded.workspace).exclude(status=Status.RESOLVED)
               .values("customer", "channel").annotate(n=Count("id")).filter(n__gt=1))
    assert not doubled.exists()


def test_loading_again_without_reset_changes_nothing(loaded):
    before = _fingerprint(loaded.workspace)
    again = demo.load_demo(**SMALL)
    assert not again.created and again.workspace.pk == loaded.workspace.pk
    assert _fingerprint(loaded.workspace) == before


def test_reset_leaves_other_workspaces_untouched(other_desk, today):
    message, _ = conversations.receive_message(
        workspace_id=other_desk.id, channel="email", sender=("email", "pat@globex.test"),
        content=conversations.Content(text="Hello from Globex"), subject="Globex order",
    )
    conversations.reply(actor=other_desk.agent_actor, conversation=message.conversation,
                        content=conversations.Content(text="On it"))
    before = _fingerprint(other_desk.workspace)
    row_before = Conversation.objects.values().get(pk=message.conversation_id)
    demo.load_demo(**SMALL, today=today)
    demo.load_demo(**SMALL, today=today, reset=True)
    assert _fingerprint(other_desk.workspace) == before
    assert Conversation.objects.values().get(pk=message.conversation_id) == row_before
    assert Membership.objects.filter(workspace=other_desk.workspace).count() == 4
    assert User.objects.filter(email="admin@globex.test").exists()


def test_reset_refuses_any_workspace_but_the_demo(desk):
    with pytest.raises(AssertionError):
        demo.delete_demo(desk.workspace)


def test_demo_data_stays_in_its_workspace_and_agents_stay_agents(loaded, other_desk):
    conversation = Conversation.objects.filter(workspace=loaded.workspace).first()
    with pytest.raises(NotFound):
        conversation_selectors.access_conversation(other_desk.agent_actor, conversation.pk)
    assert not customers_for(other_desk.admin_actor).filter(workspace=loaded.workspace).exists()
    assert not conversation_selectors.inbox(other_desk.admin_actor, conversation_selectors.InboxFilter(view="all")).filter(
        workspace=loaded.workspace).exists()
    agent = Membership.objects.get(workspace=loaded.workspace, user__email=demo.AGENTS[0].email)
    assert agent.role == Role.AGENT
    with pytest.raises(PermissionDenied):
        accounts.invite_member(actor=actor_for(agent), email="x@northwind.example", display_name="X",
                               site="http://testserver")


def test_demo_command_prints_the_logins(db):
    out = io.StringIO()
    call_command("demo", customers=20, conversations=60, stdout=out)
    text = out.getvalue()
    assert "Loaded" in text and demo.DEMO_URL in text
    for _role, email, password in demo.logins():
        assert email in text and password in text
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert "exists already" in out.getvalue() and demo.ADMIN.email in out.getvalue()
    out = io.StringIO()
    call_command("demo", "--reset", customers=20, conversations=60, stdout=out)
    assert "Loaded" in out.getvalue()
    assert Conversation.objects.filter(workspace__slug=demo.DEMO_SLUG).count() == 60
