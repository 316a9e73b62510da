from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from touchpoint.conversations import services
from touchpoint.conversations.models import Conversation, Message, MessageKind, Status
from touchpoint.conversations.selectors import InboxFilter, inbox, inbox_counts, search_messages
from touchpoint.conversations.services import Content, IncomingFile
from touchpoint.core.clock import now
from touchpoint.core.errors import NotFound, ValidationFailed


def receive(desk, text="Where is my order?", **kw):
    kw.setdefault("sender", ("email", "Jo@Example.com"))
    return services.receive_message(workspace_id=desk.id, channel=kw.pop("channel", "email"), content=Content(text=text), **kw)


def test_receive_opens_conversation_and_continues_it(desk):
    first, created = receive(desk)
    second, _ = receive(desk, "Hello?")
    assert created
    assert first.conversation_id == second.conversation_id
    conversation = first.conversation
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN
    assert conversation.waiting_since == first.created_at
    assert conversation.last_message_preview == "Hello?"


def test_same_external_id_is_stored_once(desk):
    a, created_a = receive(desk, external_id="mid-1")
    b, created_b = receive(desk, external_id="mid-1")
    assert (created_a, created_b) == (True, False)
    assert a.pk == b.pk
    assert Message.objects.count() == 1


def test_reply_sets_first_response_and_clears_wait(desk):
    message, _ = receive(desk)
    conversation = message.conversation
    services.reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="On its way"))
    conversation.refresh_from_db()
    assert conversation.first_response_at is not None
    assert conversation.waiting_since is None


def test_note_is_not_a_response(desk):
    message, _ = receive(desk)
    conversation = message.conversation
    services.add_note(actor=desk.agent_actor, conversation=conversation, content=Content(text="check the warehouse"))
    conversation.refresh_from_db()
    assert conversation.first_response_at is None
    assert conversation.waiting_since is not None


def test_customer_message_reopens_resolved_conversation(desk):
    message, _ = receive(desk)
    conversation = message.conversation
    services.change_status(actor=desk.agent_actor, conversation=conversation, status=Status.RESOLVED)
    again, _ = receive(desk, "It has not arrived")
    assert again.conversation_id == conversation.pk
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN
    assert conversation.first_resolved_at is not None


def test_snooze_needs_future_time_and_wakes(desk):
    message, _ = receive(desk)
    conversation = message.conversation
    with pytest.raises(ValidationFailed):
        services.change_status(actor=desk.agent_actor, conversation=conversation, status=Status.SNOOZED)
    services.change_status(actor=desk.agent_actor, conversation=conversation, status=Status.SNOOZED,
                           snoozed_until=now() + timedelta(hours=1))
    assert services.wake_snoozed(at=now()) == 0
    assert services.wake_snoozed(at=now() + timedelta(hours=2)) == 1
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and conversation.snoozed_until is None


def test_html_is_sanitized(desk):
    message, _ = services.receive_message(
        workspace_id=desk.id, channel="email", sender=("email", "x@example.com"),
        content=Content(html='<p onclick="x()">Hi<script>alert(1)</script><a href="javascript:alert(1)">l</a></p>'),
    )
    assert "script" not in message.content_html
    assert "onclick" not in message.content_html
    assert "javascript:" not in message.content_html


def test_attachment_limits(desk, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(ValidationFailed) as err:
        receive(desk, attachments=[IncomingFile("big.txt", "text/plain", b"x" * 11)])
    assert err.value.code == "attachment_too_large"
    with pytest.raises(ValidationFailed):
        receive(desk, attachments=[IncomingFile("run.exe", "application/x-msdownload", b"MZ")])
    assert Conversation.objects.count() == 0  # nothing half-written


def test_assign_transfer_and_tag_write_system_events(desk):
    from touchpoint.accounts.services import create_team, set_team_members

    message, _ = receive(desk)
    conversation = message.conversation
    services.assign(actor=desk.agent_actor, conversation=conversation, assignee=desk.agent2)
    team = create_team(actor=desk.supervisor_actor, name="Billing")
    set_team_members(actor=desk.supervisor_actor, team=team, members=[desk.agent])
    services.transfer_to_team(actor=desk.agent_actor, conversation=conversation, team=team)
    conversation.refresh_from_db()
    assert conversation.team_id == team.pk and conversation.assignee_id is None  # Ben is not in Billing
    services.tag(actor=desk.agent_actor, conversation=conversation, add=["Refund", "vip"])
    assert sorted(conversation.tags.values_list("name", flat=True)) == ["refund", "vip"]
    events = conversation.messages.filter(kind=MessageKind.EVENT).count()
    assert events == 2


def test_other_workspace_cannot_touch_conversation(desk, other_desk):
    message, _ = receive(desk)
    with pytest.raises(NotFound):
        services.reply(actor=other_desk.agent_actor, conversation=message.conversation, content=Content(text="hi"))
    with pytest.raises(NotFound):
        services.assign(actor=desk.agent_actor, conversation=message.conversation, assignee=other_desk.agent)


def test_inbox_views_and_counts(desk):
    m1, _ = receive(desk)
    m2, _ = receive(desk, sender=("phone", "+44 20 7946 0958"), channel="sms")
    services.assign(actor=desk.agent_actor, conversation=m1.conversation, assignee=desk.agent)
    services.change_status(actor=desk.agent_actor, conversation=m2.conversation, status=Status.PENDING)
    counts = inbox_counts(desk.agent_actor)
    assert counts == {"mine": 1, "unassigned": 0, "open": 1, "pending": 1, "snoozed": 0}
    assert [c.pk for c in inbox(desk.agent_actor, InboxFilter(view="pending"))] == [m2.conversation_id]
    assert list(inbox(desk.agent_actor, InboxFilter(view="all", channel="sms"))) == [m2.conversation]


def test_inbox_query_count_is_fixed(desk):
    for i in range(5):
        m, _ = receive(desk, sender=("email", f"c{i}@example.com"))
        services.tag(actor=desk.agent_actor, conversation=m.conversation, add=["a", "b"])
    with CaptureQueriesContext(connection) as ctx:
        rows = list(inbox(desk.agent_actor, InboxFilter(view="all")))
        _ = [(r.customer.name, r.assignee, r.team, [t.name for t in r.tags.all()]) for r in rows]
    assert len(ctx.captured_queries) == 2


def test_search_finds_words_in_workspace_only(desk, other_desk):
    receive(desk, "My parcel is damaged")
    services.receive_message(workspace_id=other_desk.id, channel="email", sender=("email", "z@example.com"),
                             content=Content(text="parcel parcel"))
    found = search_messages(desk.agent_actor, "parcel damaged")
    assert [m.content_text for m in found] == ["My parcel is damaged"]
    assert search_messages(desk.agent_actor, "parc") != []  # prefix match
    assert search_messages(desk.agent_actor, '"); DROP TABLE x; --') == []
