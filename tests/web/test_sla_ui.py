"""SLAs in the agent workspace: each target's due time and state in the conversation pane (in the
workspace's time zone), the inbox badge, and the notifications menu in the top bar."""

from datetime import UTC, datetime, timedelta

import pytest

from touchpoint.accounts import services as accounts
from touchpoint.conversations import services as conversations
from touchpoint.conversations.services import Content
from touchpoint.routing import services as routing
from touchpoint.routing.models import Notification, SlaPolicy

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


# ---- the supervisors' SLA settings page ---------------------------------------------------------


def test_a_supervisor_creates_edits_and_deletes_a_policy_from_the_settings_page(desk):
    team = accounts.create_team(actor=desk.admin_actor, name="Tier 2")
    client = signed_in(desk.supervisor)
    assert 'href="/settings/slas/"' in client.get("/").content.decode()
    created = client.post("/settings/slas/", {
        "name": "VIP email", "priorities": ["high", "urgent"], "channels": ["email"], "segments": "vip, gold",
        "first_response_min": "30", "resolution_min": "480", "business_hours": "1", "at_risk_percent": "75",
        "breached_raise": "1", "at_risk_notify": "1", "breached_team": str(team.pk)})
    assert created.status_code == 302
    policy = SlaPolicy.objects.get(workspace=desk.workspace)
    assert (policy.priorities, policy.channels, policy.segments) == (["high", "urgent"], ["email"], ["vip", "gold"])
    assert (policy.first_response_s, policy.next_response_s, policy.resolution_s) == (1800, None, 28800)
    assert policy.business_hours and policy.at_risk_ratio == 0.75
    assert policy.escalation == [{"when": "at_risk", "action": "notify"}, {"when": "breached", "action": "raise_priority"},
                                 {"when": "breached", "action": "move_to_team", "team_id": team.pk}]
    listing = client.get("/settings/slas/").content.decode()
    assert "VIP email" in listing and "breached: move to Tier 2" in listing

    form = client.get(f"/settings/slas/{policy.pk}/").content.decode()
    assert 'value="VIP email"' in form and 'name="breached_raise" value="1" checked' in form
    assert client.post(f"/settings/slas/{policy.pk}/", {"name": "VIP email", "first_response_min": "20",
                                                        "at_risk_percent": "80"}).status_code == 302
    policy.refresh_from_db()
    assert policy.first_response_s == 1200 and not policy.business_hours and policy.escalation == []

    assert client.post(f"/settings/slas/{policy.pk}/delete/").status_code == 302
    assert not SlaPolicy.objects.exists()


def test_the_settings_page_refuses_bad_input_clearly_and_changes_nothing(desk):
    accounts.update_workspace_settings(actor=desk.admin_actor, workspace=desk.workspace, business_hours={})
    client = signed_in(desk.supervisor)
    page = client.get("/settings/slas/").content.decode()
    assert 'id="no-hours"' in page
    refused = client.post("/settings/slas/", {"name": "Email", "first_response_min": "60", "business_hours": "1",
                                              "at_risk_percent": "80"})
    assert refused.status_code == 422
    assert "no working hours on any day" in refused.content.decode()
    assert 'value="Email"' in refused.content.decode()  # what was typed is kept
    nothing = client.post("/settings/slas/", {"name": "Email", "at_risk_percent": "80"})
    assert nothing.status_code == 422 and "at least one target" in nothing.content.decode()
    assert client.post("/settings/slas/", {"name": "Email", "first_response_min": "-3",
                                           "at_risk_percent": "80"}).status_code == 422
    assert not SlaPolicy.objects.exists()


def test_agents_and_other_workspaces_cannot_reach_the_settings(desk, other_desk):
    policy = routing.save_sla_policy(actor=desk.supervisor_actor, name="Email", first_response_s=600)
    agent = signed_in(desk.agent)
    assert 'href="/settings/slas/"' not in agent.get("/").content.decode()
    assert agent.get("/settings/slas/").status_code == 403
    assert agent.post("/settings/slas/", {"name": "X", "first_response_min": "5", "at_risk_percent": "80"}
                      ).status_code == 403
    outsider = signed_in(other_desk.supervisor)
    assert outsider.get(f"/settings/slas/{policy.pk}/").status_code == 404
    assert outsider.post(f"/settings/slas/{policy.pk}/delete/").status_code == 404
    assert SlaPolicy.objects.filter(pk=policy.pk).exists()
