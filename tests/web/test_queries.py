"""The hot pages cost a fixed number of queries, however many rows they show: no N+1 can creep in.

Each page is measured with a small and a larger data set; the counts must be equal and match the pin."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from touchpoint.accounts import services as accounts
from touchpoint.conversations import services as conversations
from touchpoint.conversations.services import Content, IncomingFile

from .conftest import customer_writes, signed_in

HTMX = {"HTTP_HX_REQUEST": "true"}
# session, user, memberships (+ workspace), then the page's own reads
INBOX_QUERIES = 11  # the rows' SLA states: one query for the page; their latest replies' delivery: one more
PANE_QUERIES = 17  # the customer's timeline in the pane reads calls too (one query, none for legs when no calls); SLA;
# commerce: the sidebar's orders block (one query) and orders and parcels on the timeline (one query)
TIMELINE_QUERIES = 8  # commerce: orders and parcels (one query)


def busy_desk(desk, n: int) -> list:
    """n conversations, each assigned, in a team, tagged, with a reply, a note and an attachment."""
    team = accounts.create_team(actor=desk.admin_actor, name=f"Team {n}")
    made = []
    for i in range(n):
        conversation = customer_writes(desk, f"question {i}", email=f"c{i}@example.com", subject=f"Subject {i}",
                                       attachments=[IncomingFile(filename="a.txt", content_type="text/plain", data=b"a")])
        conversations.assign(actor=desk.agent_actor, conversation=conversation, assignee=[desk.agent, desk.agent2][i % 2])
        conversations.transfer_to_team(actor=desk.agent_actor, conversation=conversation, team=team, keep_assignee=True)
        conversations.tag(actor=desk.agent_actor, conversation=conversation, add=[f"t{i}", "common"])
        conversations.reply(actor=desk.agent_actor, conversation=conversation, content=Content(text=f"answer {i}"))
        conversations.add_note(actor=desk.agent2_actor, conversation=conversation, content=Content(text=f"note {i}"))
        made.append(conversation)
    return made


def count(client, url: str, **extra) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **extra)
    assert response.status_code == 200, response.content[:500]
    return len(queries)


@pytest.mark.parametrize("n", [2, 12])
def test_inbox_page_query_count_is_pinned(desk, n):
    busy_desk(desk, n)
    client = signed_in(desk.agent)
    client.get("/")  # the first request stores the chosen workspace in the session
    assert count(client, "/?view=all") == INBOX_QUERIES


@pytest.mark.parametrize("n", [2, 12])
def test_conversation_pane_query_count_is_pinned(desk, n):
    made = busy_desk(desk, n)
    # The first conversation's customer also has n earlier conversations, and its thread n more messages.
    for i in range(n):
        conversations.open_conversation(actor=desk.agent_actor, customer=made[0].customer, channel="email",
                                        subject=f"earlier {i}", content=Content(text="hello"))
        customer_writes(desk, f"more {i}", email="c0@example.com", conversation=made[0],
                        attachments=[IncomingFile(filename="b.txt", content_type="text/plain", data=b"b")])
    client = signed_in(desk.agent)
    client.get("/")
    assert count(client, f"/conversations/{made[0].pk}/", **HTMX) == PANE_QUERIES


@pytest.mark.parametrize("n", [2, 12])
def test_timeline_query_count_is_pinned(desk, n):
    made = busy_desk(desk, n)
    client = signed_in(desk.agent)
    client.get("/")
    assert count(client, f"/customers/{made[0].customer_id}/timeline/", **HTMX) == TIMELINE_QUERIES
