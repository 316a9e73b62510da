"""Canned replies and macros in the agent workspace, over HTTP: the composer's list and insert, the
Macros menu and applying one, the settings page with its refusals, and the other workspace kept out."""

import pytest

from touchpoint.accounts import services as accounts
from touchpoint.automation import services
from touchpoint.automation.models import CannedReply, Macro
from touchpoint.conversations.models import Conversation, MessageKind
from touchpoint.customers.services import update_customer

from .conftest import customer_writes, signed_in

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def refund(desk):
    return services.create_canned_reply(actor=desk.supervisor_actor, shortcut="refund-policy", title="Refund policy",
                                        body="Hi {{customer.first_name|there}}, refunds take 5 days ({{order.number}}).")


@pytest.fixture
def wrap_up(desk):
    return services.create_macro(actor=desk.supervisor_actor, name="Refund sent", description="After a refund",
                                 actions=[{"type": "reply", "body": "Your refund is on its way, {{customer.first_name}}."},
                                          {"type": "tag", "tags": ["refund"]}, {"type": "status", "status": "pending"}])


def test_the_composer_lists_matching_canned_replies(desk, conversation, refund, agent_client):
    services.create_canned_reply(actor=desk.supervisor_actor, shortcut="late", title="Late parcel", body="Sorry.")
    response = agent_client.get(f"/conversations/{conversation.pk}/canned-replies/?q=REF", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/refund-policy" in html and "/late" not in html
    assert f'data-insert-url="/conversations/{conversation.pk}/canned-replies/{refund.pk}/insert/"' in html
    none = agent_client.get(f"/conversations/{conversation.pk}/canned-replies/?q=zzz", **HTMX)
    assert "No canned reply matches" in none.content.decode()


def test_inserting_renders_for_the_conversation_and_counts_the_use(desk, conversation, refund, agent_client):
    url = f"/conversations/{conversation.pk}/canned-replies/{refund.pk}/insert/"
    response = agent_client.post(url, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hi Maria, refunds take 5 days ()." in html and 'data-missing="order.number"' in html
    refund.refresh_from_db()
    assert refund.usage_count == 1
    assert agent_client.get(url).status_code == 405  # counting a use is a write


def test_a_hostile_customer_name_is_escaped_in_the_inserted_fragment(desk, conversation, refund, agent_client):
    update_customer(actor=desk.admin_actor, customer=conversation.customer, name="<img/src=x/onerror=alert(1)> Evil")
    html = agent_client.post(f"/conversations/{conversation.pk}/canned-replies/{refund.pk}/insert/", **HTMX)
    assert "<img" not in html.content.decode() and "Hi &lt;img/src=x/onerror=alert(1)&gt;," in html.content.decode()


def test_the_macro_menu_lists_what_each_macro_does(desk, conversation, wrap_up, agent_client):
    private = services.create_macro(actor=desk.agent2_actor, name="Ben's own", visibility="personal",
                                    actions=[{"type": "tag", "tags": ["ben"]}])
    html = agent_client.get(f"/conversations/{conversation.pk}/macros/", **HTMX).content.decode()
    assert "Refund sent" in html and private.name not in html
    assert "Reply to the customer: “Your refund is on its way, {{customer.first_name}}.”" in html
    assert "Tags: add refund" in html and "Status: Pending" in html


def test_applying_a_macro_answers_the_fresh_header_and_thread(desk, conversation, wrap_up, agent_client):
    response = agent_client.post(f"/conversations/{conversation.pk}/macros/{wrap_up.pk}/apply/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="conv-header"' in html and 'data-status="pending"' in html
    assert 'id="thread"' in html and "Your refund is on its way, Maria." in html
    assert "Applied “Refund sent”." in html
    conversation = Conversation.objects.get(pk=conversation.pk)
    assert conversation.status == "pending" and [t.name for t in conversation.tags.all()] == ["refund"]


def test_without_script_applying_redirects_to_the_conversation(desk, conversation, wrap_up, agent_client):
    response = agent_client.post(f"/conversations/{conversation.pk}/macros/{wrap_up.pk}/apply/")
    assert response.status_code == 302 and response["Location"] == f"/conversations/{conversation.pk}/"


def test_a_refused_macro_shows_which_action_and_changes_nothing(desk, conversation, agent_client):
    to_ben = services.create_macro(actor=desk.supervisor_actor, name="To Ben", actions=[
        {"type": "reply", "body": "Ben takes over."}, {"type": "assign", "agent_id": desk.agent2.pk}])
    accounts.update_member(actor=desk.admin_actor, membership=desk.agent2, is_active=False)
    response = agent_client.post(f"/conversations/{conversation.pk}/macros/{to_ben.pk}/apply/", **HTMX)
    assert response.status_code == 422 and response["HX-Retarget"] == "#flash"
    assert "Action 2 (assign)" in response.content.decode()
    assert not conversation.messages.filter(kind=MessageKind.OUTGOING).exists()


def test_another_workspaces_items_and_conversations_are_404(desk, other_desk, conversation, refund, wrap_up, agent_client):
    theirs = customer_writes(other_desk, "Globex secret", email="boss@globex.example")
    their_canned = services.create_canned_reply(actor=other_desk.supervisor_actor, shortcut="globex", title="Globex",
                                                body="Globex secret wording")
    their_macro = services.create_macro(actor=other_desk.supervisor_actor, name="Globex macro",
                                        actions=[{"type": "tag", "tags": ["globex"]}])
    refusals = [
        agent_client.get(f"/conversations/{theirs.pk}/canned-replies/?q=g", **HTMX),
        agent_client.get(f"/conversations/{theirs.pk}/macros/", **HTMX),
        agent_client.post(f"/conversations/{conversation.pk}/canned-replies/{their_canned.pk}/insert/", **HTMX),
        agent_client.post(f"/conversations/{theirs.pk}/canned-replies/{refund.pk}/insert/", **HTMX),
        agent_client.post(f"/conversations/{conversation.pk}/macros/{their_macro.pk}/apply/", **HTMX),
        agent_client.post(f"/conversations/{theirs.pk}/macros/{wrap_up.pk}/apply/", **HTMX),
    ]
    for response in refusals:
        assert response.status_code == 404
        assert b"Globex secret" not in response.content
    assert "globex" not in agent_client.get(f"/conversations/{conversation.pk}/canned-replies/?q=g", **HTMX
                                            ).content.decode().lower()
    assert not Conversation.objects.get(pk=theirs.pk).tags.exists()
    their_canned.refresh_from_db()
    assert their_canned.usage_count == 0


# ---- the settings page ---------------------------------------------------------------------------


def test_agents_have_no_settings_page_and_cannot_post_to_it(desk, agent_client, refund):
    assert agent_client.get("/settings/automation/").status_code == 403
    response = agent_client.post("/settings/automation/canned/", {"shortcut": "x", "title": "X", "body": "Hi"})
    assert response.status_code == 403 and CannedReply.objects.count() == 1
    assert agent_client.post(f"/settings/automation/canned/{refund.pk}/delete/").status_code == 403
    assert CannedReply.objects.filter(pk=refund.pk).exists()
    assert b"/settings/automation/" not in agent_client.get("/").content  # not offered in the navigation


def test_a_supervisor_writes_canned_replies_on_the_page(desk):
    client = signed_in(desk.supervisor)
    billing = accounts.create_team(actor=desk.supervisor_actor, name="Billing")
    response = client.post("/settings/automation/canned/", {"shortcut": "invoice", "title": "Invoice copy",
                                                            "body": "Attached, {{customer.first_name|there}}.",
                                                            "team": billing.pk})
    assert response.status_code == 302
    canned = CannedReply.objects.get(shortcut="invoice")
    assert canned.team_id == billing.pk
    page = client.get("/settings/automation/").content.decode()
    assert "/invoice" in page and "Billing" in page
    edit = client.get(f"/settings/automation/canned/{canned.pk}/").content.decode()
    assert "Attached, {{customer.first_name|there}}." in edit
    client.post(f"/settings/automation/canned/{canned.pk}/", {"shortcut": "invoice", "title": "Invoice",
                                                              "body": "Here it is.", "team": ""})
    canned.refresh_from_db()
    assert (canned.title, canned.body, canned.team_id) == ("Invoice", "Here it is.", None)
    client.post(f"/settings/automation/canned/{canned.pk}/delete/")
    assert not CannedReply.objects.filter(pk=canned.pk).exists()


def test_a_refusal_on_the_page_says_why_and_keeps_what_was_typed(desk, refund):
    client = signed_in(desk.admin)
    response = client.post("/settings/automation/canned/", {"shortcut": "greeting", "title": "Greeting",
                                                            "body": "Hello {{customer.nickname}}"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Unknown placeholder {{customer.nickname}}" in html and 'value="greeting"' in html
    duplicate = client.post("/settings/automation/canned/", {"shortcut": "refund-policy", "title": "Again", "body": "x"})
    assert duplicate.status_code == 409 and "/refund-policy exists already" in duplicate.content.decode()
    assert CannedReply.objects.count() == 1


def test_a_supervisor_writes_a_macro_with_the_form(desk):
    client = signed_in(desk.supervisor)
    billing = accounts.create_team(actor=desk.supervisor_actor, name="Billing")
    response = client.post("/settings/automation/macros/", {
        "name": "Escalate", "description": "To billing", "visibility": "workspace", "with_actions": "1",
        "note": "Escalated by {{agent.name}}", "add_tags": "billing, Escalated", "priority": "high",
        "team": str(billing.pk), "assign": "nobody", "status": "snoozed", "snooze_hours": "4", "reply": "  ",
    })
    assert response.status_code == 302, response.content.decode()[:500]
    macro = Macro.objects.get(name="Escalate")
    assert macro.actions == [
        {"type": "note", "body": "Escalated by {{agent.name}}"},
        {"type": "tag", "tags": ["billing", "escalated"]},
        {"type": "priority", "priority": "high"},
        {"type": "team", "team_id": billing.pk},
        {"type": "assign", "to": "nobody"},
        {"type": "status", "status": "snoozed", "snooze_hours": 4},
    ]
    edit = client.get(f"/settings/automation/macros/{macro.pk}/").content.decode()
    assert 'value="billing, escalated"' in edit and f'<option value="{billing.pk}" selected>' in edit
    page = client.get("/settings/automation/").content.decode()
    assert "Transfer to Billing" in page and "Status: Snoozed for 4 h" in page


def test_a_macro_form_refusal_names_the_problem(desk):
    client = signed_in(desk.supervisor)
    empty = client.post("/settings/automation/macros/", {"name": "Nothing", "visibility": "workspace", "with_actions": "1"})
    assert empty.status_code == 422 and "at least one action" in empty.content.decode()
    snooze = client.post("/settings/automation/macros/", {"name": "Park", "visibility": "workspace", "with_actions": "1",
                                                         "status": "snoozed"})
    assert snooze.status_code == 422 and "snooze_hours" in snooze.content.decode()
    assert not Macro.objects.exists()


def test_a_macro_the_form_cannot_show_keeps_its_actions_when_renamed(desk):
    odd = services.create_macro(actor=desk.supervisor_actor, name="Two notes", actions=[
        {"type": "note", "body": "First"}, {"type": "note", "body": "Second"}])
    client = signed_in(desk.supervisor)
    edit = client.get(f"/settings/automation/macros/{odd.pk}/").content.decode()
    assert "cannot show" in edit and 'name="with_actions"' not in edit
    client.post(f"/settings/automation/macros/{odd.pk}/", {"name": "Two notes, renamed", "visibility": "workspace"})
    odd.refresh_from_db()
    assert odd.name == "Two notes, renamed" and len(odd.actions) == 2
