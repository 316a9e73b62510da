"""API for conversations, messages and the generic API channel."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.apiclient import api_as, assert_problem, populate, snapshot
from touchpoint.accounts import services as accounts
from touchpoint.conversations import services
from touchpoint.conversations.models import Conversation, Message
from touchpoint.conversations.services import Content, IncomingFile
from touchpoint.core.clock import now
from touchpoint.customers.services import create_customer


def receive(desk, email="jo@example.com", text="Where is my order?", **kw):
    message, _ = services.receive_message(workspace_id=desk.id, channel=kw.pop("channel", "email"),
                                          content=Content(text=text), sender=("email", email), **kw)
    return message


def test_open_a_conversation_with_a_first_message(desk):
    customer = create_customer(workspace_id=desk.id, name="Jo", identities=[("email", "jo@example.com")])
    api = api_as(desk.agent)
    response = api.post("/conversations", {"customer_id": customer.pk, "channel": "email", "subject": "Your refund",
                                           "priority": "high", "message": {"text": "Your refund is on its way."}})
    assert response.status_code == 201, response.content
    conversation = response.json()
    assert (conversation["subject"], conversation["priority"], conversation["status"]) == ("Your refund", "high", "open")
    assert conversation["first_response_at"] is not None
    thread = api.get(f"/conversations/{conversation['id']}/messages").json()["items"]
    assert [(m["kind"], m["author"]["id"]) for m in thread] == [("outgoing", desk.agent.pk)]


def test_open_needs_one_kind_of_body(desk):
    customer = create_customer(workspace_id=desk.id, name="Jo")
    api = api_as(desk.agent)
    before = snapshot()
    body = assert_problem(api.post("/conversations", {"customer_id": customer.pk, "channel": "email",
                                                       "message": {"text": "a", "html": "<p>b</p>"}}), 422)
    assert body["errors"][0]["field"] == "message"
    assert "one of the two" in body["detail"]
    assert snapshot() == before


def test_inbox_views_and_filters(desk, other_desk):
    mine = receive(desk, "a@example.com", channel="webchat")
    theirs = receive(desk, "b@example.com")
    unassigned = receive(desk, "c@example.com")
    foreign = receive(other_desk, "a@example.com")
    team = accounts.create_team(actor=desk.supervisor_actor, name="Billing")
    services.assign(actor=desk.agent_actor, conversation=mine.conversation, assignee=desk.agent)
    services.assign(actor=desk.agent_actor, conversation=theirs.conversation, assignee=desk.agent2)
    services.transfer_to_team(actor=desk.agent_actor, conversation=theirs.conversation, team=team, keep_assignee=True)
    services.tag(actor=desk.agent_actor, conversation=unassigned.conversation, add=["VIP"])
    api = api_as(desk.agent)

    def ids(**query) -> list[int]:
        response = api.get("/conversations", **query)
        assert response.status_code == 200, response.content
        return [c["id"] for c in response.json()["items"]]

    assert ids(view="mine") == [mine.conversation_id]
    assert ids(view="unassigned") == [unassigned.conversation_id]
    assert set(ids()) == {mine.conversation_id, theirs.conversation_id, unassigned.conversation_id}
    assert ids(assignee_id=desk.agent2.pk) == [theirs.conversation_id]
    assert ids(team_id=team.pk) == [theirs.conversation_id]
    assert ids(channel="webchat") == [mine.conversation_id]
    assert ids(tag="vip") == [unassigned.conversation_id]
    assert ids(customer_id=mine.customer_id) == [mine.conversation_id]
    assert ids(customer_id=foreign.customer_id) == []  # another workspace's customer finds nothing
    assert ids(view="resolved") == []
    assert_problem(api.get("/conversations", view="everything"), 422, "validation_failed")
    listed = api.get("/conversations", view="mine").json()["items"][0]
    assert listed["customer"]["id"] == mine.customer_id and listed["assignee"]["id"] == desk.agent.pk


def test_update_conversation_fields(desk):
    conversation = receive(desk).conversation
    api = api_as(desk.agent)
    url = f"/conversations/{conversation.pk}"
    api.patch(url, {"custom_fields": {"order": "A-1001", "rma": "R-7"}})
    updated = api.patch(url, {"priority": "urgent", "subject": "Lost parcel", "custom_fields": {"rma": None}}).json()
    assert (updated["priority"], updated["subject"], updated["custom_fields"]) == ("urgent", "Lost parcel", {"order": "A-1001"})


def test_reply_note_and_thread(desk):
    conversation = receive(desk).conversation
    api = api_as(desk.agent)
    url = f"/conversations/{conversation.pk}"
    reply = api.post(f"{url}/messages", {"html": "<p>On its way <script>alert(1)</script><b>today</b></p>", "channel": "sms"})
    assert reply.status_code == 201, reply.content
    assert (reply.json()["kind"], reply.json()["channel"], reply.json()["sender_type"]) == ("outgoing", "sms", "agent")
    assert "<script>" not in reply.json()["content_html"] and "<b>today</b>" in reply.json()["content_html"]
    note = api.post(f"{url}/notes", {"text": "Customer is a VIP"}).json()
    assert note["kind"] == "note" and note["author"]["display_name"] == desk.agent.display_name
    thread = api.get(f"{url}/messages").json()["items"]
    assert [m["kind"] for m in thread] == ["incoming", "outgoing", "note"]
    assert api.get(url).json()["waiting_since"] is None


def test_an_empty_reply_is_refused(desk):
    conversation = receive(desk).conversation
    api = api_as(desk.agent)
    before = snapshot()
    body = assert_problem(api.post(f"/conversations/{conversation.pk}/messages", {"text": "   "}), 422)
    assert body["field"] == "content"
    assert snapshot() == before


def test_messages_show_attachments(desk):
    message, _ = services.receive_message(
        workspace_id=desk.id, channel="email", content=Content(text="See attached"), sender=("email", "jo@example.com"),
        attachments=[IncomingFile(filename="receipt.pdf", content_type="application/pdf", data=b"%PDF-1.4 receipt")],
    )
    thread = api_as(desk.agent).get(f"/conversations/{message.conversation_id}/messages").json()["items"]
    assert [(a["name"], a["type"], a["size"]) for a in thread[0]["attachments"]] == [("receipt.pdf", "application/pdf", 16)]


def test_assign_transfer_and_unassign(desk, other_desk):
    conversation = receive(desk).conversation
    team = accounts.create_team(actor=desk.supervisor_actor, name="Billing")
    api = api_as(desk.agent)
    url = f"/conversations/{conversation.pk}"
    assert api.post(f"{url}/assignment", {"assignee_id": desk.agent2.pk}).json()["assignee"]["id"] == desk.agent2.pk
    moved = api.post(f"{url}/team", {"team_id": team.pk}).json()
    assert moved["team"] == {"id": team.pk, "name": "Billing"} and moved["assignee"] is None  # Ben is not in Billing
    assert api.post(f"{url}/team", {"team_id": None}).json()["team"] is None
    api.post(f"{url}/assignment", {"assignee_id": desk.agent.pk})
    assert api.post(f"{url}/assignment", {"assignee_id": None}).json()["assignee"] is None
    before = snapshot()
    assert_problem(api.post(f"{url}/assignment", {}), 422, "validation_failed")  # null must be said, not implied
    assert_problem(api.post(f"{url}/assignment", {"assignee_id": other_desk.agent.pk}), 404)
    accounts.update_member(actor=desk.admin_actor, membership=desk.agent2, is_active=False)
    before = snapshot()
    assert_problem(api.post(f"{url}/assignment", {"assignee_id": desk.agent2.pk}), 422, "validation_failed")
    assert snapshot() == before


def test_status_changes(desk):
    conversation = receive(desk).conversation
    api = api_as(desk.agent)
    url = f"/conversations/{conversation.pk}/status"
    before = snapshot()
    assert_problem(api.post(url, {"status": "snoozed"}), 422)
    assert_problem(api.post(url, {"status": "snoozed", "snoozed_until": (now() - timedelta(hours=1)).isoformat()}), 422)
    assert_problem(api.post(url, {"status": "pending", "snoozed_until": (now() + timedelta(hours=1)).isoformat()}), 422)
    assert_problem(api.post(url, {"status": "snoozed", "snoozed_until": "tomorrow"}), 422)
    assert snapshot() == before
    wake = (now() + timedelta(hours=2)).replace(microsecond=0)
    snoozed = api.post(url, {"status": "snoozed", "snoozed_until": wake.isoformat()}).json()
    assert snoozed["status"] == "snoozed" and snoozed["snoozed_until"] == wake.isoformat().replace("+00:00", "Z")
    resolved = api.post(url, {"status": "resolved"}).json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None


def test_tags(desk):
    conversation = receive(desk).conversation
    api = api_as(desk.agent)
    url = f"/conversations/{conversation.pk}/tags"
    assert api.post(url, {"add": ["VIP", "refund"]}).json()["tags"] == ["refund", "vip"]
    assert api.post(url, {"add": ["late"], "remove": ["refund"]}).json()["tags"] == ["late", "vip"]
    before = snapshot()
    assert_problem(api.post(url, {"add": ["x" * 51]}), 422)
    assert_problem(api.post(url, {"add": [""]}), 422)
    assert snapshot() == before


def test_inbound_api_channel_is_idempotent_by_external_id(desk):
    api = api_as(desk.agent)
    body = {"sender": {"kind": "email", "value": "Jo@Example.com", "name": "Jo"}, "text": "My parcel is late",
            "external_id": "crm-1", "subject": "Late parcel"}
    first = api.post("/inbound/messages", body)
    assert first.status_code == 201, first.content
    assert (first.json()["channel"], first.json()["kind"]) == ("api", "incoming")
    before = snapshot()
    again = api.post("/inbound/messages", body)
    assert again.status_code == 200 and again.json() == first.json()
    assert snapshot() == before
    conversation = api.get(f"/conversations/{first.json()['conversation_id']}").json()
    assert (conversation["channel"], conversation["subject"], conversation["customer"]["name"]) == ("api", "Late parcel", "Jo")
    follow_up = api.post("/inbound/messages", {**body, "external_id": "crm-2", "text": "Any news?"})
    assert follow_up.status_code == 201 and follow_up.json()["conversation_id"] == conversation["id"]


def test_inbound_into_someone_elses_conversation_is_404(desk):
    jo = receive(desk, "jo@example.com")
    api = api_as(desk.agent)
    before = snapshot()
    assert_problem(api.post("/inbound/messages", {"sender": {"kind": "email", "value": "kim@example.com"}, "text": "Hi",
                                                  "conversation_id": jo.conversation_id}), 404)
    assert snapshot() == before


@pytest.mark.parametrize("sender, field", [
    ({"kind": "email", "value": "not an email"}, "value"),
    ({"kind": "pigeon", "value": "coo"}, "sender.kind"),
    ({"value": "jo@example.com"}, "sender.kind"),
])
def test_inbound_with_a_bad_sender_is_refused(desk, sender, field):
    api = api_as(desk.agent)
    before = snapshot()
    body = assert_problem(api.post("/inbound/messages", {"sender": sender, "text": "Hi"}), 422)
    assert body["errors"][0]["field"] == field
    assert snapshot() == before


def test_search_messages_stays_in_the_workspace(desk, other_desk):
    receive(desk, text="The blue kettle leaks")
    receive(other_desk, text="My blue kettle is great")
    api = api_as(desk.agent)
    found = api.get("/search/messages", q="kettle").json()
    assert [m["content_text"] for m in found] == ["The blue kettle leaks"]
    assert api.get("/search/messages", q="!!!").json() == []


def test_reading_never_writes(desk):
    ids = populate(desk)
    api = api_as(desk.agent)
    api.get("/me")
    before = snapshot()
    for path in ("/conversations", f"/conversations/{ids['conversation']}", f"/conversations/{ids['conversation']}/messages",
                 f"/customers/{ids['customer']}/timeline"):
        assert api.get(path).status_code == 200
    assert snapshot() == before


# ---- hot paths: the query count does not grow with rows ------------------------------------------


def _busy_inbox(desk, n: int) -> None:
    team = accounts.create_team(actor=desk.supervisor_actor, name=f"Team {n}")
    for i in range(n):
        conversation = receive(desk, f"c{n}-{i}@example.com").conversation
        services.assign(actor=desk.agent_actor, conversation=conversation, assignee=desk.agent2)
        services.transfer_to_team(actor=desk.agent_actor, conversation=conversation, team=team, keep_assignee=True)
        services.tag(actor=desk.agent_actor, conversation=conversation, add=["vip", f"t{i}"])


def test_inbox_query_count_is_pinned(desk):
    api = api_as(desk.agent)
    api.get("/me")
    counts = []
    for n in (2, 20):
        _busy_inbox(desk, n)
        with CaptureQueriesContext(connection) as queries:
            items = api.get("/conversations", limit=100).json()["items"]
        assert len(items) == Conversation.objects.count()
        counts.append(len(queries))
    assert counts == [4, 4]  # token, conversations with customer/assignee/team, their tags, their latest replies


def test_thread_query_count_is_pinned(desk):
    api = api_as(desk.agent)
    api.get("/me")
    counts = []
    for n in (1, 25):
        conversation = receive(desk, f"jo{n}@example.com").conversation
        for i in range(n):
            services.reply(actor=desk.agent_actor, conversation=conversation, content=Content(text=f"Reply {i}"),
                           attachments=[IncomingFile(filename=f"r{i}.txt", content_type="text/plain", data=b"hi")])
            services.add_note(actor=desk.agent2_actor, conversation=conversation, content=Content(text=f"Note {i}"))
        with CaptureQueriesContext(connection) as queries:
            items = api.get(f"/conversations/{conversation.pk}/messages", limit=100).json()["items"]
        assert len(items) == Message.objects.filter(conversation=conversation).count()
        counts.append(len(queries))
    # token, conversation (with customer/assignee/team), its tags, messages with authors, their attachments
    assert counts == [5, 5]


def test_a_failed_reply_says_why_and_is_retried_through_the_api(desk):
    from touchpoint.channels.delivery import deliver_message

    conversation = receive(desk).conversation
    api = api_as(desk.agent)
    sent = api.post(f"/conversations/{conversation.pk}/messages", {"text": "On its way."})
    assert (sent.json()["delivery_status"], sent.json()["delivery_error"]) == ("queued", "")
    assert deliver_message.call(sent.json()["id"]) == "failed"  # the workspace has no mailbox

    [_, failed] = api.get(f"/conversations/{conversation.pk}/messages").json()["items"]
    assert (failed["delivery_status"], failed["delivery_error"]) == ("failed", "No active email account to send from.")
    assert api.get(f"/conversations/{conversation.pk}").json()["last_reply_status"] == "failed"
    [row] = api.get("/conversations").json()["items"]
    assert row["last_reply_status"] == "failed"

    retried = api.post(f"/conversations/{conversation.pk}/messages/{failed['id']}/retry")
    assert retried.status_code == 200, retried.content
    assert (retried.json()["delivery_status"], retried.json()["delivery_error"]) == ("queued", "")
    assert api.get(f"/conversations/{conversation.pk}").json()["last_reply_status"] == "queued"
    before = snapshot()
    assert "queued" in assert_problem(api.post(f"/conversations/{conversation.pk}/messages/{failed['id']}/retry"),
                                      409, "not_failed")["detail"]
    incoming = conversation.messages.get(kind="incoming")
    assert_problem(api.post(f"/conversations/{conversation.pk}/messages/{incoming.pk}/retry"), 409, "not_a_reply")
    assert_problem(api.post(f"/conversations/{conversation.pk}/messages/99999999/retry"), 404)
    assert snapshot() == before
