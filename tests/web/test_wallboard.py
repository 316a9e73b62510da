"""The wallboard, the agent's own panel and the queue settings through the web: who may see what,
the figures shown, presence, claiming (and losing a race), queue and capacity validation, tenancy,
and a pinned query count for the board the page polls every few seconds."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import Desk, join
from touchpoint.accounts import services as accounts
from touchpoint.conversations.models import Conversation
from touchpoint.core.clock import now
from touchpoint.routing import services as routing
from touchpoint.routing.models import AgentStatus, ContactState, Queue, QueuedContact

from .conftest import customer_writes, signed_in

HTMX = {"HTTP_HX_REQUEST": "true"}
BOARD_QUERIES = 10  # session, user, memberships (+ workspace), then the board's seven reads


def figure(html: str, name: str, scope: str = "") -> str:
    """The text of the first `data-figure="name"` after `scope` in the page."""
    start = html.index(scope) if scope else 0
    found = re.search(rf'data-figure="{name}">([^<]*)<', html[start:])
    assert found, f"no figure {name} in the page"
    return found.group(1).strip()


def waiting_contact(desk: Desk, queue: Queue, email: str, *, waited_s: float = 90) -> QueuedContact:
    """A customer who wrote and waits in `queue` (written directly: no router runs in these tests)."""
    conversation = customer_writes(desk, "Hello?", email=email, channel="webchat")
    return QueuedContact.objects.create(workspace_id=desk.id, conversation=conversation, queue=queue, work_kind="chat",
                                        waiting_since=now() - timedelta(seconds=waited_s))


@pytest.fixture
def chats(desk) -> Queue:
    return routing.save_queue(actor=desk.supervisor_actor, name="Chats", channels=["webchat"])


# ---- the wallboard ------------------------------------------------------------------------------------


def test_agents_are_refused_the_wallboard(desk):
    client = signed_in(desk.agent)
    assert client.get("/wallboard/").status_code == 403
    assert client.get("/wallboard/board/", **HTMX).status_code == 403
    assert b'href="/wallboard/"' not in client.get("/me/").content  # not offered in the navigation either


def test_a_supervisor_sees_queues_agents_and_slas(desk, chats):
    routing.set_presence(actor=desk.agent_actor, membership=desk.agent, presence="online")  # before they wait
    waiting_contact(desk, chats, "one@example.com", waited_s=200)
    waiting_contact(desk, chats, "two@example.com", waited_s=5)
    answered = waiting_contact(desk, chats, "three@example.com", waited_s=600)
    QueuedContact.objects.filter(pk=answered.pk).update(state=ContactState.ASSIGNED, assigned_to=desk.agent,
                                                        ended_at=answered.waiting_since + timedelta(seconds=12))
    response = signed_in(desk.supervisor).get("/wallboard/")
    assert response.status_code == 200
    html = response.content.decode()
    card = f'id="queue-{chats.pk}"'
    assert figure(html, "waiting", card) == "2"
    assert figure(html, "longest-wait", card).startswith("3 min 2")  # 200 s, a moment more by now
    assert figure(html, "offered", card) == "3"
    assert figure(html, "answered", card) == "1"
    # 12 s: within the 20 s of chat; waiting 200 s: already late; waiting 5 s: not yet counted
    assert figure(html, "service-level", card) == "50.0 %"
    assert figure(html, "asa", card) == "12 s"
    assert figure(html, "online") == "1 online"
    assert f'id="agent-{desk.agent.pk}"' in html
    assert figure(html, "sla-at-risk") == "0"
    assert 'hx-trigger="every 5s"' in html and 'hx-get="/wallboard/board/"' in html
    assert signed_in(desk.admin).get("/wallboard/board/", **HTMX).status_code == 200


@pytest.mark.parametrize("n", [2, 10])
def test_the_board_query_count_is_pinned(desk, n):
    for i in range(n):
        member = join(desk.admin_actor, email=f"agent{i}@acme.test", password="agent-pass-9", display_name=f"Agent {i}")
        routing.set_presence(actor=desk.admin_actor, membership=member, presence="online")
        queue = routing.save_queue(actor=desk.supervisor_actor, name=f"Queue {i}")
        waiting_contact(desk, queue, f"c{i}@example.com")
    client = signed_in(desk.supervisor)
    client.get("/wallboard/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/wallboard/board/", **HTMX)
    assert response.status_code == 200 and response.content.count(b'class="queue-card"') == n
    assert len(queries) == BOARD_QUERIES, [q["sql"] for q in queries.captured_queries]


# ---- the agent's own panel ------------------------------------------------------------------------------


def test_presence_toggle(desk):
    client = signed_in(desk.agent)
    assert 'data-presence="offline"' in client.get("/me/").content.decode()
    response = client.post("/me/presence/", {"presence": "online"}, **HTMX)
    assert response.status_code == 200 and 'data-presence="online"' in response.content.decode()
    assert AgentStatus.objects.get(membership=desk.agent).presence == "online"
    assert client.post("/me/presence/", {"presence": "away"}).headers["Location"] == "/me/"
    assert AgentStatus.objects.get(membership=desk.agent).presence == "away"
    refused = client.post("/me/presence/", {"presence": "on holiday"}, **HTMX)
    assert refused.status_code == 422
    assert AgentStatus.objects.get(membership=desk.agent).presence == "away"


def test_the_panel_offers_the_contacts_i_qualify_for_and_my_load(desk, chats):
    accounts.create_skill(actor=desk.admin_actor, name="billing")
    billing = routing.save_queue(actor=desk.supervisor_actor, name="Billing", channels=["email"],
                                 required_skills={"billing": 3})
    general = waiting_contact(desk, chats, "general@example.com")
    expert = waiting_contact(desk, billing, "expert@example.com")
    mine = customer_writes(desk, "Mine", email="mine@example.com", channel="webchat")
    Conversation.objects.filter(pk=mine.pk).update(assignee=desk.agent)
    html = signed_in(desk.agent).get("/me/").content.decode()
    assert f'id="contact-{general.pk}"' in html and f'id="contact-{expert.pk}"' not in html
    assert 'data-load="chat">1 / 3<' in html
    skill = accounts.create_skill(actor=desk.admin_actor, name="returns")
    accounts.set_agent_skills(actor=desk.admin_actor, membership=desk.agent2,
                              levels=[(skill, 5), (accounts.Skill.objects.get(name="billing"), 4)])
    html = signed_in(desk.agent2).get("/me/work/", **HTMX).content.decode()
    assert f'id="contact-{general.pk}"' in html and f'id="contact-{expert.pk}"' in html
    assert 'hx-trigger="every 5s"' in html


def test_claiming_and_losing_the_race(desk, chats):
    contact = waiting_contact(desk, chats, "maria@example.com")
    ana, ben = signed_in(desk.agent), signed_in(desk.agent2)
    ben.get("/me/")  # Ben sees it waiting ...
    taken = ana.post(f"/me/claim/{contact.pk}/")  # ... but Ana is quicker
    assert taken.status_code == 302 and taken.headers["Location"] == f"/conversations/{contact.conversation_id}/"
    lost = ben.post(f"/me/claim/{contact.pk}/")
    assert lost.status_code == 422
    assert "Someone else took this conversation first." in lost.content.decode()
    contact.refresh_from_db()
    assert (contact.state, contact.assigned_to_id) == (ContactState.ASSIGNED, desk.agent.pk)
    assert Conversation.objects.get(pk=contact.conversation_id).assignee_id == desk.agent.pk


def test_another_workspaces_contact_cannot_be_claimed_or_seen(desk, other_desk, chats):
    theirs = routing.save_queue(actor=other_desk.supervisor_actor, name="Chats", channels=["webchat"])
    contact = waiting_contact(other_desk, theirs, "other@example.com")
    client = signed_in(desk.agent)
    assert client.post(f"/me/claim/{contact.pk}/").status_code == 404
    assert f'id="contact-{contact.pk}"' not in client.get("/me/").content.decode()
    board = signed_in(desk.supervisor).get("/wallboard/").content.decode()
    assert f'id="queue-{theirs.pk}"' not in board and f'id="queue-{chats.pk}"' in board
    assert signed_in(desk.supervisor).get(f"/settings/queues/{theirs.pk}/").status_code == 404


# ---- queue settings -------------------------------------------------------------------------------------


def _queue_post(**changes) -> dict:
    data = {"name": "Billing email", "channels": ["email"], "team": "", "priority": "1", "policy": "longest_idle",
            "sticky_wait_s": "45", "overflow_after_s": "600", "overflow_team": "", "position": "2"}
    return {**data, **changes}


def test_a_supervisor_creates_and_edits_a_queue(desk):
    skill = accounts.create_skill(actor=desk.admin_actor, name="billing")
    team = accounts.create_team(actor=desk.admin_actor, name="Finance")
    client = signed_in(desk.supervisor)
    assert client.get("/settings/queues/").status_code == 200
    response = client.post("/settings/queues/", _queue_post(**{f"skill-{skill.pk}": "3", "team": str(team.pk),
                                                                "overflow_team": str(team.pk)}))
    assert response.status_code == 302
    queue = Queue.objects.get(workspace=desk.workspace)
    assert (queue.name, queue.channels, queue.required_skills, queue.team_id, queue.priority) == (
        "Billing email", ["email"], {"billing": 3}, team.pk, 1)
    assert (queue.policy, queue.sticky_wait_s, queue.overflow_after_s, queue.position) == ("longest_idle", 45, 600, 2)
    page = client.get(f"/settings/queues/{queue.pk}/").content.decode()
    assert 'value="Billing email"' in page and '<option value="3" selected>at least 3</option>' in page
    client.post(f"/settings/queues/{queue.pk}/", _queue_post(name="Billing", overflow_after_s="", channels=[]))
    queue.refresh_from_db()
    assert (queue.name, queue.channels, queue.required_skills, queue.overflow_after_s, queue.team_id) == (
        "Billing", [], {}, None, None)


@pytest.mark.parametrize(("changes", "status", "message"), [
    ({"name": "  "}, 422, "Name"),
    ({"sticky_wait_s": "-5"}, 422, "Wait for the last agent"),
    ({"policy": "random"}, 422, "Policy"),
    ({"channels": ["fax"]}, 422, "Channels"),
    ({"team": "987654"}, 422, "no such team"),
    ({"name": "Chats"}, 409, "There is a queue named"),
])
def test_queue_settings_refuse_bad_input_and_keep_what_was_typed(desk, chats, changes, status, message):
    client = signed_in(desk.supervisor)
    response = client.post("/settings/queues/", _queue_post(**changes))
    assert response.status_code == status
    html = response.content.decode()
    assert 'id="queue-error"' in html and message in html
    typed = _queue_post(**changes)["sticky_wait_s"]
    assert f'name="sticky_wait_s" type="number" min="0" max="86400" required value="{typed}"' in html
    assert list(Queue.objects.filter(workspace=desk.workspace).values_list("name", flat=True)) == ["Chats"]


def test_a_bad_edit_changes_nothing(desk, chats):
    response = signed_in(desk.supervisor).post(f"/settings/queues/{chats.pk}/", _queue_post(sticky_wait_s="999999"))
    assert response.status_code == 422
    chats.refresh_from_db()
    assert (chats.name, chats.sticky_wait_s) == ("Chats", 30)


def test_agents_cannot_change_queues_or_capacity(desk, chats):
    client = signed_in(desk.agent)
    assert client.get("/settings/queues/").status_code == 403
    assert client.post("/settings/queues/", _queue_post()).status_code == 403
    assert client.post(f"/settings/queues/capacity/{desk.agent.pk}/",
                       {"voice": "1", "chat": "9", "message": "1"}).status_code == 403
    assert Queue.objects.filter(workspace=desk.workspace).count() == 1
    assert not AgentStatus.objects.filter(membership=desk.agent).exists()


def test_capacity_per_work_kind(desk, other_desk):
    client = signed_in(desk.supervisor)
    assert client.post(f"/settings/queues/capacity/{desk.agent.pk}/",
                       {"voice": "0", "chat": "5", "message": "12"}).status_code == 302
    assert AgentStatus.objects.get(membership=desk.agent).capacity == {"voice": 0, "chat": 5, "message": 12}
    page = client.get("/settings/queues/").content.decode()
    assert re.search(rf'form="capacity-form-{desk.agent.pk}" name="chat" [^>]*value="5"', page)
    refused = client.post(f"/settings/queues/capacity/{desk.agent.pk}/", {"voice": "1", "chat": "60", "message": "1"})
    assert refused.status_code == 422 and 'id="capacity-error"' in refused.content.decode()
    assert AgentStatus.objects.get(membership=desk.agent).capacity["chat"] == 5
    assert client.post(f"/settings/queues/capacity/{other_desk.agent.pk}/",
                       {"voice": "1", "chat": "1", "message": "1"}).status_code == 404
