"""The inbox, the conversation pane and its actions, through the views as an agent uses them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from touchpoint.accounts import services as accounts
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Conversation, Message, MessageKind, Status
from touchpoint.conversations.services import Content, IncomingFile

from .conftest import customer_writes, signed_in

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize("view", ["mine", "unassigned", "open", "pending", "snoozed", "resolved", "all"])
def test_every_inbox_view_renders_with_counts(agent_client, conversation, view):
    response = agent_client.get(f"/?view={view}")
    assert response.status_code == 200
    assert b'id="inbox-nav"' in response.content
    shown = conversation.pk in [c.pk for c in response.context["rows"]]
    assert shown == (view in ("unassigned", "open", "all"))


def test_unknown_view_is_a_clear_422(agent_client, conversation):
    response = agent_client.get("/?view=everything")
    assert response.status_code == 422
    assert b"View: Select a valid choice" in response.content


def test_list_shows_customer_channel_preview_assignee_tags_and_status(desk, agent_client):
    conversation = customer_writes(desk, "My parcel is late", channel="whatsapp")
    conversations.tag(actor=desk.agent_actor, conversation=conversation, add=["shipping"])
    conversations.assign(actor=desk.agent_actor, conversation=conversation, assignee=desk.agent2)
    html = agent_client.get("/").content.decode()
    row = html[html.index(f'id="conv-row-{conversation.pk}"'):]
    row = row[:row.index("</li>")]
    for expected in ("Maria", "WhatsApp", "My parcel is late", "Ben acme", "shipping", "Open"):
        assert expected in row


def test_filters_by_team_channel_and_tag(desk, agent_client):
    team = accounts.create_team(actor=desk.admin_actor, name="Billing")
    billing = customer_writes(desk, "Invoice please", email="a@example.com", channel="email")
    conversations.transfer_to_team(actor=desk.agent_actor, conversation=billing, team=team)
    chat = customer_writes(desk, "Hello", email="b@example.com", channel="webchat")
    conversations.tag(actor=desk.agent_actor, conversation=chat, add=["vip"])

    def shown(query: str) -> set[int]:
        return {c.pk for c in agent_client.get(f"/?view=all&{query}").context["rows"]}

    assert shown(f"team={team.pk}") == {billing.pk}
    assert shown("channel=webchat") == {chat.pk}
    assert shown("tag=VIP") == {chat.pk}
    assert agent_client.get("/?channel=fax").status_code == 422


def test_the_list_pages_by_cursor(desk, agent_client, monkeypatch):
    from touchpoint.web import views

    monkeypatch.setattr(views, "INBOX_PAGE_SIZE", 2)
    made = [customer_writes(desk, f"hello {i}", email=f"c{i}@example.com") for i in range(5)]
    first = agent_client.get("/")
    cursor = first.context["next_cursor"]
    assert cursor and len(first.context["rows"]) == 2
    seen = [c.pk for c in first.context["rows"]]
    while cursor:
        page = agent_client.get(f"/inbox/rows/?view=open&cursor={cursor}", **HTMX)
        assert page.status_code == 200
        seen += [c.pk for c in page.context["rows"]]
        cursor = page.context["next_cursor"]
    assert seen == [c.pk for c in reversed(made)]
    assert agent_client.get("/inbox/rows/?cursor=garbage", **HTMX).status_code == 400


def test_conversation_page_and_pane(desk, agent_client, conversation):
    conversations.add_note(actor=desk.agent_actor, conversation=conversation, content=Content(text="Internal remark"))
    full = agent_client.get(f"/conversations/{conversation.pk}/")
    assert full.status_code == 200
    assert b'id="inbox-nav"' in full.content and b'id="thread"' in full.content
    pane = agent_client.get(f"/conversations/{conversation.pk}/", **HTMX)
    html = pane.content.decode()
    assert 'id="inbox-nav"' not in html
    assert 'class="msg msg-incoming"' in html and 'class="msg msg-note"' in html and "Internal note" in html
    assert "maria@example.com" in html  # the identity in the customer sidebar
    assert "Timeline" in html


@pytest.mark.parametrize("part,expected", [
    ("header", 'id="conv-header"'), ("thread", "Where is my order?"), ("row", 'id="conv-row-{pk}"'),
])
def test_partials_render(agent_client, conversation, part, expected):
    response = agent_client.get(f"/conversations/{conversation.pk}/{part}/?view=open", **HTMX)
    assert response.status_code == 200
    assert expected.format(pk=conversation.pk) in response.content.decode()


def test_row_is_empty_once_the_conversation_leaves_the_view(desk, agent_client, conversation):
    conversations.change_status(actor=desk.agent_actor, conversation=conversation, status=Status.RESOLVED)
    assert agent_client.get(f"/conversations/{conversation.pk}/row/?view=open", **HTMX).content == b""
    assert b"conv-row" in agent_client.get(f"/conversations/{conversation.pk}/row/?view=resolved", **HTMX).content


def test_nav_partial_has_counts(agent_client, conversation):
    response = agent_client.get("/inbox/nav/?view=open", **HTMX)
    assert response.context["views"][1] == {"key": "unassigned", "label": "Unassigned", "count": 1,
                                            "query": "view=unassigned"}


# ---- composing ----------------------------------------------------------------------------------


def test_reply_from_the_composer(desk, agent_client, conversation):
    response = agent_client.post(f"/conversations/{conversation.pk}/messages/", {"kind": "reply", "text": "On its way"},
                                 **HTMX)
    assert response.status_code == 200
    assert b'hx-swap-oob="true"' in response.content  # the thread, out of band
    message = conversation.messages.latest("id")
    assert (message.kind, message.content_text, message.author_id) == (MessageKind.OUTGOING, "On its way", desk.agent.pk)


def test_note_keeps_the_note_tab(desk, agent_client, conversation):
    response = agent_client.post(f"/conversations/{conversation.pk}/messages/", {"kind": "note", "text": "check stock"},
                                 **HTMX)
    assert b'value="note" checked' in response.content
    assert conversation.messages.latest("id").kind == MessageKind.NOTE


def test_empty_message_is_a_422_shown_in_the_flash_and_stores_nothing(agent_client, conversation):
    before = Message.objects.count()
    response = agent_client.post(f"/conversations/{conversation.pk}/messages/", {"kind": "reply", "text": "  "}, **HTMX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#flash"
    assert b"The message is empty" in response.content
    assert Message.objects.count() == before


def test_bad_kind_is_a_422(agent_client, conversation):
    response = agent_client.post(f"/conversations/{conversation.pk}/messages/", {"kind": "broadcast", "text": "x"})
    assert response.status_code == 422
    assert b"Kind: Select a valid choice" in response.content


def test_attachment_upload_and_authenticated_download(desk, other_desk, agent_client, conversation):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("label.pdf", b"%PDF-1.4 label", content_type="application/pdf")
    agent_client.post(f"/conversations/{conversation.pk}/messages/", {"kind": "reply", "text": "", "files": [upload]})
    attachment = conversation.messages.latest("id").attachments.get()
    thread = agent_client.get(f"/conversations/{conversation.pk}/thread/", **HTMX).content.decode()
    assert f'href="/attachments/{attachment.pk}/"' in thread
    download = agent_client.get(f"/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == b"%PDF-1.4 label"
    assert signed_in(other_desk.agent).get(f"/attachments/{attachment.pk}/").status_code == 404
    from django.test import Client

    assert Client().get(f"/attachments/{attachment.pk}/").status_code == 302


def test_refused_attachment_type_changes_nothing(agent_client, conversation):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = Message.objects.count()
    upload = SimpleUploadedFile("run.exe", b"MZ", content_type="application/x-msdownload")
    response = agent_client.post(f"/conversations/{conversation.pk}/messages/",
                                 {"kind": "reply", "text": "see file", "files": [upload]}, **HTMX)
    assert response.status_code == 422
    assert b"not accepted" in response.content
    assert Message.objects.count() == before


# ---- actions ------------------------------------------------------------------------------------


def post_action(client, conversation, action, data):
    return client.post(f"/conversations/{conversation.pk}/{action}/", data, **HTMX)


def test_assign_to_me_to_another_agent_and_to_nobody(desk, agent_client, conversation):
    assert post_action(agent_client, conversation, "assign", {"assignee": "me"}).status_code == 200
    conversation.refresh_from_db()
    assert conversation.assignee_id == desk.agent.pk
    post_action(agent_client, conversation, "assign", {"assignee": desk.agent2.pk})
    conversation.refresh_from_db()
    assert conversation.assignee_id == desk.agent2.pk
    post_action(agent_client, conversation, "assign", {"assignee": ""})
    conversation.refresh_from_db()
    assert conversation.assignee_id is None


def test_transfer_priority_and_tags(desk, agent_client, conversation):
    team = accounts.create_team(actor=desk.admin_actor, name="Returns")
    post_action(agent_client, conversation, "transfer", {"team": team.pk})
    post_action(agent_client, conversation, "priority", {"priority": "urgent"})
    post_action(agent_client, conversation, "tags", {"add": "Refund, damaged"})
    response = post_action(agent_client, conversation, "tags", {"remove": "damaged"})
    assert b"refund" in response.content
    conversation.refresh_from_db()
    assert conversation.team_id == team.pk and conversation.priority == "urgent"
    assert [t.name for t in conversation.tags.all()] == ["refund"]


def test_resolve_pending_reopen(agent_client, conversation):
    for status in ("resolved", "open", "pending"):
        response = post_action(agent_client, conversation, "status", {"status": status})
        assert response.status_code == 200
        conversation.refresh_from_db()
        assert conversation.status == status


def test_snooze_presets_and_custom_time(agent_client, conversation):
    post_action(agent_client, conversation, "status", {"status": "snoozed", "snooze": "1h"})
    conversation.refresh_from_db()
    assert conversation.status == Status.SNOOZED
    assert timedelta(minutes=59) < conversation.snoozed_until - timezone.now() <= timedelta(hours=1)
    post_action(agent_client, conversation, "status", {"status": "snoozed", "snooze": "tomorrow"})
    conversation.refresh_from_db()
    assert conversation.snoozed_until.astimezone(timezone.get_default_timezone()).hour == 9  # workspace in UTC
    later = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    post_action(agent_client, conversation, "status", {"status": "snoozed", "snooze": "custom", "until": later})
    conversation.refresh_from_db()
    assert conversation.snoozed_until.strftime("%Y-%m-%dT%H:%M") == later


def test_snooze_in_the_past_or_without_time_is_refused(agent_client, conversation):
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = post_action(agent_client, conversation, "status", {"status": "snoozed", "snooze": "custom", "until": past})
    assert response.status_code == 422 and b"time in the future" in response.content
    response = post_action(agent_client, conversation, "status", {"status": "snoozed", "snooze": "custom"})
    assert response.status_code == 422 and b"Pick the date and time" in response.content
    assert post_action(agent_client, conversation, "status", {"status": "closed"}).status_code == 422
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN


def test_actions_without_htmx_redirect_back_to_the_conversation(agent_client, conversation):
    response = agent_client.post(f"/conversations/{conversation.pk}/assign/", {"assignee": "me"})
    assert response.status_code == 302
    assert response["Location"] == f"/conversations/{conversation.pk}/"


# ---- the customer and search ------------------------------------------------------------------------


def test_customer_page_and_timeline_paging(desk, agent_client, monkeypatch):
    from touchpoint.web import views

    monkeypatch.setattr(views, "TIMELINE_PAGE_SIZE", 2)
    conversation = customer_writes(desk, "first")
    for text in ("second", "third"):
        customer_writes(desk, text)
    page = agent_client.get(f"/customers/{conversation.customer_id}/")
    assert page.status_code == 200
    before = page.context["timeline_before"]
    assert before
    more = agent_client.get(f"/customers/{conversation.customer_id}/timeline/", {"before": before}, **HTMX)
    assert more.status_code == 200 and more.context["timeline"]
    assert all(e.at < timezone.datetime.fromisoformat(before) for e in more.context["timeline"])
    assert agent_client.get(f"/customers/{conversation.customer_id}/timeline/?before=yesterday").status_code == 422


def test_search_finds_customers_and_messages(desk, agent_client):
    customer_writes(desk, "The blender arrived broken", email="zoe@example.com")
    by_message = agent_client.get("/search/?q=blender")
    assert by_message.status_code == 200
    assert [m.content_text for m in by_message.context["found_messages"]] == ["The blender arrived broken"]
    by_email = agent_client.get("/search/?q=zoe@")
    assert [str(c) for c in by_email.context["customers"]] == ["Zoe"]
    assert agent_client.get("/search/").status_code == 200


def test_customer_html_is_shown_sanitized(desk, agent_client):
    conversation = customer_writes(desk, "x")
    conversations.receive_message(
        workspace_id=desk.id, channel="email", sender=("email", "maria@example.com"),
        content=Content(html='<p>Hi <script>alert(1)</script><img src=x onerror="alert(2)">'
                             '<a href="javascript:alert(3)">link</a></p>'),
    )
    html = agent_client.get(f"/conversations/{conversation.pk}/thread/", **HTMX).content.decode()
    assert "<script>alert" not in html and "onerror" not in html and "javascript:" not in html
    assert "link</a>" in html


def test_plain_text_from_a_customer_is_escaped(desk, agent_client):
    conversation = customer_writes(desk, "<b>bold?</b> & <script>x</script>")
    html = agent_client.get(f"/conversations/{conversation.pk}/").content.decode()
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html
    assert "<script>x" not in html


def test_unknown_conversation_is_404(agent_client):
    assert agent_client.get("/conversations/999999/").status_code == 404
    assert agent_client.get(f"/conversations/{2**70}/").status_code == 404
    assert Conversation.objects.count() == 0


def test_incoming_file_in_thread_links_through_the_download_view(desk, agent_client):
    message, _ = conversations.receive_message(
        workspace_id=desk.id, channel="email", sender=("email", "x@example.com"), content=Content(text="photo"),
        attachments=[IncomingFile(filename="photo.png", content_type="image/png", data=b"\x89PNG")],
    )
    html = agent_client.get(f"/conversations/{message.conversation_id}/thread/", **HTMX).content.decode()
    attachment = message.attachments.get()
    assert f'href="/attachments/{attachment.pk}/"' in html
    assert "/media/" not in html


def test_the_inbox_page_carries_the_live_resume_point(desk, agent_client, django_capture_on_commit_callbacks):
    from touchpoint.realtime.selectors import latest_event_id

    with django_capture_on_commit_callbacks(execute=True):
        customer_writes(desk)
    latest = latest_event_id(desk.id)
    assert latest > 0
    assert f'data-last-event-id="{latest}"' in agent_client.get("/").content.decode()
