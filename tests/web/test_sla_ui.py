"""SLAs in the agent workspace: each target's due time and state in the conversation pane (in the
workspace's time zone), the inbox badge, and the notifications menu in the top bar."""

from datetime import UTC, datetime, timedelta

import pytest

from touchpoint.accounts import services as accounts
from touchpoint.conversations import services as conversations
from touchpoint.conversations.services import Content
from touchpoint.routing import services as routing
from touchpoint.routing.models import Notification

from .conftest import customer_writes, signed_in

pytestmark = pytest.mark.django_db(transaction=True)  # SLAs are evaluated after commit
HTMX = {"HTTP_HX_REQUEST": "true"}
MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch):
    moments = [MONDAY_9]
    monkeypatch.setattr("django.utils.timezone.now", lambda: moments[-1])
    return moments


@pytest.fixture
def berlin_desk(desk):
    accounts.update_workspace_settings(actor=desk.admin_actor, workspace=desk.workspace, timezone="Europe/Berlin")
    return desk


def _breach(desk, frozen, **policy):
    routing.save_sla_policy(actor=desk.supervisor_actor, name="Email", first_response_s=3600, business_hours=False,
                            resolution_s=8 * 3600, **policy)
    conversation = customer_writes(desk)
    conversations.assign(actor=desk.supervisor_actor, conversation=conversation, assignee=desk.agent)
    frozen.append(MONDAY_9 + timedelta(minutes=61))
    routing.check_slas()
    return conversation


def test_the_pane_shows_each_target_with_its_state_and_local_due_time(berlin_desk, frozen):
    desk = berlin_desk
    routing.save_sla_policy(actor=desk.supervisor_actor, name="Email", first_response_s=3600, resolution_s=4 * 3600,
                            business_hours=False)
    conversation = customer_writes(desk)
    html = signed_in(desk.agent).get(f"/conversations/{conversation.pk}/header/", **HTMX).content.decode()
    bar = html[html.index('class="sla-bar"'):]
    bar = bar[:bar.index("</div>")]
    assert "SLA · Email" in bar
    assert 'data-sla-target="First response" data-sla-state="on_track"' in bar
    assert "First response: <strong>On track</strong> · due" in bar
    assert ">11:00</time>" in bar  # 10:00 UTC is 11:00 in Berlin
    assert 'class="sla sla-on_track"' in bar
    assert ">14:00</time>" in bar  # resolution: 13:00 UTC

    conversations.reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="Hello"))
    html = signed_in(desk.agent).get(f"/conversations/{conversation.pk}/").content.decode()
    assert 'data-sla-target="First response" data-sla-state="met"' in html


def test_a_breach_shows_in_the_pane_and_as_a_badge_in_the_inbox(desk, frozen):
    conversation = _breach(desk, frozen)
    client = signed_in(desk.agent)
    pane = client.get(f"/conversations/{conversation.pk}/").content.decode()
    assert 'class="sla sla-breached"' in pane and "First response: <strong>Breached</strong> · was due" in pane
    assert "First response SLA breached" in pane  # the system event in the thread
    inbox = client.get("/?view=all").content.decode()
    row = inbox[inbox.index(f'id="conv-row-{conversation.pk}"'):]
    assert 'class="badge sla-breached"' in row[:row.index("</li>")]
    row_alone = client.get(f"/conversations/{conversation.pk}/row/?view=all", **HTMX).content.decode()
    assert "SLA breached" in row_alone


def test_conversations_without_an_sla_show_no_bar_and_no_badge(desk):
    conversation = customer_writes(desk)
    client = signed_in(desk.agent)
    assert 'class="sla-bar"' not in client.get(f"/conversations/{conversation.pk}/").content.decode()
    assert "sla-" not in client.get("/?view=all").content.decode().split('id="conv-list"')[1]


def test_notifications_menu_counts_lists_and_marks_read_per_person(desk, other_desk, frozen):
    conversation = _breach(desk, frozen)
    page = signed_in(desk.agent).get("/").content.decode()
    assert 'hx-get="/notifications/"' in page

    agent = signed_in(desk.agent)
    menu = agent.get("/notifications/", **HTMX).content.decode()
    assert 'aria-label="1 unread"' in menu
    assert f'href="/conversations/{conversation.pk}/"' in menu and "First response SLA breached" in menu

    ben = signed_in(desk.agent2)  # not the assignee: nothing for him
    assert "unread" not in ben.get("/notifications/", **HTMX).content.decode()
    outsider = signed_in(other_desk.supervisor)
    assert "breached" not in outsider.get("/notifications/", **HTMX).content.decode()

    read = agent.post("/notifications/read/", **HTMX)
    assert read.status_code == 200 and "unread" not in read.content.decode()
    assert Notification.objects.get(recipient=desk.agent).read_at is not None
    assert Notification.objects.get(recipient=desk.supervisor).read_at is None  # only one's own
