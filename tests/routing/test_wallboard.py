"""The wallboard's figures from a constructed day: offered, answered, abandoned and the service level
(KPIS.md's worked check), ASA, average wait, abandonment, longest wait, agents' occupancy and idle
time, tenancy, and a query count that does not grow with queues, agents or contacts.

Rows are written directly (no commit, so no router runs): the figures are a read of what is stored."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.apiclient import api_as, assert_problem
from tests.conftest import Desk, join
from touchpoint.accounts import services as accounts
from touchpoint.conversations.models import Conversation, Message, MessageKind, SenderType, Status
from touchpoint.customers.services import create_customer
from touchpoint.routing import services as routing
from touchpoint.routing import wallboard
from touchpoint.routing.models import AgentStatus, ContactState, ConversationSla, QueuedContact

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=PARIS)  # a Tuesday afternoon in Paris
DAY_START = datetime(2026, 3, 10, 0, 0, tzinfo=PARIS)
CHANNEL = {"voice": "voice", "chat": "webchat", "message": "email"}


@pytest.fixture
def desk(db) -> Desk:
    desk = Desk("acme")
    desk.workspace.timezone = "Europe/Paris"
    desk.workspace.save()
    return desk


def _conversation(desk: Desk, kind: str = "voice", *, assignee=None, status: str = Status.OPEN,
                  first_response_at: datetime | None = None) -> Conversation:
    customer = create_customer(workspace_id=desk.id, name="Maria")
    return Conversation.objects.create(
        workspace_id=desk.id, customer=customer, channel=CHANNEL[kind], assignee=assignee, status=status,
        first_response_at=first_response_at, last_message_at=NOW - timedelta(hours=8),
        created_at=NOW - timedelta(hours=8), updated_at=NOW - timedelta(hours=8))


def _contact(desk: Desk, queue, *, entered: datetime, waited: float | None = None, state: str = ContactState.ASSIGNED,
             kind: str = "voice", assignee=None, first_response_at: datetime | None = None) -> QueuedContact:
    """A contact that entered `queue` at `entered` and ended `waited` seconds later (None: still waiting)."""
    conversation = _conversation(desk, kind, assignee=assignee, first_response_at=first_response_at)
    ended = entered + timedelta(seconds=waited) if waited is not None else None
    return QueuedContact.objects.create(
        workspace_id=desk.id, conversation=conversation, queue=queue, work_kind=kind,
        state=state if waited is not None else ContactState.WAITING, waiting_since=entered, ended_at=ended,
        assigned_to=assignee if state == ContactState.ASSIGNED else None)


def _queue(desk: Desk, name: str = "Phones", channels=("voice",)):
    return routing.save_queue(actor=desk.admin_actor, name=name, channels=list(channels))


def _figures(desk: Desk, name: str = "Phones") -> wallboard.QueueFigures:
    return next(q for q in wallboard.queue_figures(desk.workspace, DAY_START, NOW) if q.name == name)


# ---- counting --------------------------------------------------------------------------------------


def test_the_worked_check_of_kpis_md_service_level_v2_v1_v3(desk):
    """70 answered within T, 10 abandoned within T, 20 past T (15 answered, 5 abandoned) → V2 77.8 %,
    V1 70 %, V3 80 %. A contact of yesterday and one still waiting within T change nothing; one
    answered at exactly T is within T."""
    queue = _queue(desk)
    morning = NOW - timedelta(hours=5)
    for i in range(69):
        _contact(desk, queue, entered=morning + timedelta(minutes=i), waited=10)
    _contact(desk, queue, entered=morning, waited=20)  # exactly T: within
    for _ in range(10):
        _contact(desk, queue, entered=morning, waited=10, state=ContactState.CANCELLED)  # hung up within T
    for _ in range(15):
        _contact(desk, queue, entered=morning, waited=45, assignee=desk.agent)
    for _ in range(5):
        _contact(desk, queue, entered=morning, waited=60, state=ContactState.CANCELLED)
    _contact(desk, queue, entered=DAY_START - timedelta(minutes=1), waited=300)  # yesterday, local time
    _contact(desk, queue, entered=NOW - timedelta(seconds=5))  # still waiting, within T: undecided

    day = _figures(desk).today
    assert (day.offered, day.answered, day.abandoned, day.waiting) == (101, 85, 15, 1)
    assert (day.answered_in_target, day.abandoned_in_target, day.decided) == (70, 10, 100)
    assert round(day.service_level, 3) == 0.778
    assert day.service_level_v1 == pytest.approx(0.70)
    assert day.service_level_v3 == pytest.approx(0.80)
    assert day.asa_s == pytest.approx((69 * 10 + 20 + 15 * 45) / 85)
    assert day.average_wait_s == pytest.approx((69 * 10 + 20 + 15 * 45 + 10 * 10 + 5 * 60) / 100)
    assert day.abandonment_rate == pytest.approx(15 / 101)


def test_a_contact_waiting_past_t_is_already_a_miss(desk):
    queue = _queue(desk)
    _contact(desk, queue, entered=NOW - timedelta(minutes=30), waited=5)
    _contact(desk, queue, entered=NOW - timedelta(seconds=21))
    day = _figures(desk).today
    assert (day.offered, day.waiting, day.waiting_past_target) == (2, 1, 1)
    assert day.service_level == 0.5


def test_the_target_depends_on_the_contacts_work_kind_and_the_setting(desk, settings):
    queue = _queue(desk, "Everything", channels=())
    _contact(desk, queue, entered=NOW - timedelta(hours=2), waited=40, kind="voice")  # T 20 s: late
    _contact(desk, queue, entered=NOW - timedelta(hours=2), waited=3 * 3600, kind="message")  # T 4 h: within
    figures = _figures(desk, "Everything")
    assert figures.work_kinds == ("voice", "chat", "message")
    assert figures.targets_s == {"voice": 20, "chat": 20, "message": 4 * 3600}
    assert figures.today.answered_in_target == 1
    settings.SERVICE_LEVEL_TARGET_S = {"voice": 60, "chat": 30, "message": 3600}
    assert _figures(desk, "Everything").today.answered_in_target == 1  # now the call is in, the email out
    settings.SERVICE_LEVEL_TARGET_S = {"voice": 60, "chat": 30, "message": 4 * 3600}
    assert _figures(desk, "Everything").today.answered_in_target == 2


def test_a_cancelled_wait_is_answered_when_an_agent_reached_the_customer(desk):
    """Replied in the wait (answered at the reply), assigned by hand (at the wait's end), an answered
    call's first response (at it); a reply from before the wait does not count."""
    queue = _queue(desk, "Chats", channels=("webchat",))
    entered = NOW - timedelta(hours=1)
    replied = _contact(desk, queue, entered=entered, waited=600, state=ContactState.CANCELLED, kind="chat")
    Message.objects.create(workspace_id=desk.id, conversation=replied.conversation, customer=replied.conversation.customer,
                           kind=MessageKind.OUTGOING, sender_type=SenderType.AGENT, author=desk.agent, channel="webchat",
                           content_text="Hello", created_at=entered + timedelta(seconds=15))
    _contact(desk, queue, entered=entered, waited=30, state=ContactState.CANCELLED, kind="chat", assignee=desk.agent)
    _contact(desk, queue, entered=entered, waited=90, state=ContactState.CANCELLED, kind="chat",
             first_response_at=entered + timedelta(seconds=8))
    old_reply = _contact(desk, queue, entered=entered, waited=50, state=ContactState.CANCELLED, kind="chat")
    Message.objects.create(workspace_id=desk.id, conversation=old_reply.conversation,
                           customer=old_reply.conversation.customer, kind=MessageKind.OUTGOING,
                           sender_type=SenderType.AGENT, channel="webchat", content_text="Earlier",
                           created_at=entered - timedelta(minutes=5))
    note = _contact(desk, queue, entered=entered, waited=70, state=ContactState.CANCELLED, kind="chat")
    Message.objects.create(workspace_id=desk.id, conversation=note.conversation, customer=note.conversation.customer,
                           kind=MessageKind.NOTE, sender_type=SenderType.AGENT, channel="webchat", content_text="note",
                           created_at=entered + timedelta(seconds=3))
    day = _figures(desk, "Chats").today
    assert (day.answered, day.abandoned) == (3, 2)
    assert day.answered_wait_s == 15 + 30 + 8
    assert day.answered_in_target == 2  # 15 s and 8 s; 30 s is past the 20 s of chat
    assert day.abandoned_wait_s == 50 + 70


def test_outcome_rules():
    at = NOW - timedelta(minutes=10)
    end = at + timedelta(seconds=100)
    assert wallboard.outcome_of(state="waiting", waiting_since=at, ended_at=None, now=NOW) == wallboard.Outcome(
        "waiting", 600)
    assert wallboard.outcome_of(state="assigned", waiting_since=at, ended_at=end, now=NOW).queue_s == 100
    assert wallboard.outcome_of(state="cancelled", waiting_since=at, ended_at=end, now=NOW).kind == "abandoned"
    reached = wallboard.outcome_of(state="cancelled", waiting_since=at, ended_at=end, now=NOW, has_assignee=True,
                                   reply_at=at + timedelta(seconds=40), first_response_at=at + timedelta(seconds=60))
    assert reached == wallboard.Outcome("answered", 40)
    late = wallboard.outcome_of(state="cancelled", waiting_since=at, ended_at=end, now=NOW,
                                first_response_at=end + timedelta(seconds=1))
    assert late.kind == "abandoned"


def test_longest_current_wait_counts_contacts_from_any_day(desk):
    phones = _queue(desk)
    _queue(desk, "Chats", channels=("webchat",))
    _contact(desk, phones, entered=DAY_START - timedelta(hours=2))  # waiting since last night
    _contact(desk, phones, entered=NOW - timedelta(seconds=40))
    _contact(desk, phones, entered=NOW - timedelta(hours=1), waited=30)
    figures = {q.name: q for q in wallboard.queue_figures(desk.workspace, DAY_START, NOW)}
    assert figures["Phones"].waiting_now == 2
    assert figures["Phones"].longest_wait_s == (NOW - (DAY_START - timedelta(hours=2))).total_seconds()
    assert figures["Phones"].today.offered == 2  # last night's contact counts in its own day
    assert (figures["Chats"].waiting_now, figures["Chats"].longest_wait_s) == (0, None)
    assert figures["Chats"].today.service_level is None and figures["Chats"].today.asa_s is None


def test_today_starts_at_local_midnight():
    workspace = accounts.Workspace(timezone="America/New_York")
    at = datetime(2026, 3, 10, 3, 30, tzinfo=ZoneInfo("UTC"))  # still the 9th in New York
    assert wallboard.today_start(workspace, at) == datetime(2026, 3, 9, 0, 0, tzinfo=ZoneInfo("America/New_York"))


# ---- agents ------------------------------------------------------------------------------------------


def _status(desk: Desk, membership, presence: str, *, idle_since=None, **capacity) -> None:
    AgentStatus.objects.update_or_create(membership=membership, defaults={
        "workspace_id": desk.id, "presence": presence, "capacity": capacity, "idle_since": idle_since or NOW,
        "changed_at": NOW - timedelta(minutes=1)})


def test_agents_presence_load_occupancy_and_idle_time(desk):
    _status(desk, desk.agent, "online", chat=3)
    for kind in ("chat", "chat", "message"):
        _conversation(desk, kind, assignee=desk.agent)
    _conversation(desk, "chat", assignee=desk.agent, status=Status.RESOLVED)  # not open: no load
    _status(desk, desk.agent2, "online", idle_since=NOW - timedelta(minutes=5))
    _status(desk, desk.supervisor, "away")  # a supervisor who takes work is listed
    _status(desk, desk.admin, "offline")  # an admin who only watches is not
    board = wallboard.agent_figures(desk.workspace, NOW)
    by_id = {a.membership_id: a for a in board.agents}
    assert set(by_id) == {desk.agent.pk, desk.agent2.pk, desk.supervisor.pk}
    ana = by_id[desk.agent.pk]
    assert ana.load == {"voice": 0, "chat": 2, "message": 1}
    assert (ana.main_kind, ana.occupancy, ana.idle_s) == ("chat", pytest.approx(2 / 3), None)
    ben = by_id[desk.agent2.pk]
    assert (ben.occupancy, ben.idle_s) == (0, 300)
    assert board.by_presence == {"online": 2, "away": 1, "offline": 0}
    assert board.occupancy == pytest.approx(1 / 3)
    assert [a.presence for a in board.agents] == ["online", "online", "away"]
    _conversation(desk, "voice", assignee=desk.admin)  # ... until they hold a call
    assert desk.admin.pk in {a.membership_id for a in wallboard.agent_figures(desk.workspace, NOW).agents}


def test_an_agent_without_a_status_row_is_offline_with_default_capacity(desk):
    board = wallboard.agent_figures(desk.workspace, NOW)
    ana = next(a for a in board.agents if a.membership_id == desk.agent.pk)
    assert (ana.presence, ana.capacity, ana.idle_s) == ("offline", {"voice": 1, "chat": 3, "message": 10}, None)
    assert board.by_presence["offline"] == 2 and board.occupancy is None


def test_busiest_kind_rules():
    assert wallboard.busiest_kind({"chat": 3, "message": 5}, {"voice": 1, "chat": 3, "message": 10}) == ("chat", 1.0)
    assert wallboard.busiest_kind({}, {"voice": 1, "chat": 3, "message": 10}) == ("voice", 0.0)
    assert wallboard.busiest_kind({"voice": 1}, {"voice": 0, "chat": 2, "message": 0}) == ("chat", 0.0)
    assert wallboard.busiest_kind({"chat": 1}, {"voice": 0, "chat": 0, "message": 0}) == (None, None)
    assert wallboard.busiest_kind({"chat": 1, "message": 5}, {"chat": 2, "message": 10}) == ("message", 0.5)


# ---- tenancy and cost ----------------------------------------------------------------------------------


def test_another_workspace_shows_through_nowhere(desk, other_desk):
    queue = _queue(desk)
    theirs = _queue(other_desk)
    _contact(other_desk, theirs, entered=NOW - timedelta(minutes=3))
    _contact(other_desk, theirs, entered=NOW - timedelta(minutes=30), waited=10)
    _status(other_desk, other_desk.agent, "online")
    _conversation(other_desk, "chat", assignee=other_desk.agent)
    board = wallboard.wallboard(desk.workspace, NOW)
    assert [q.queue_id for q in board.queues] == [queue.pk]
    assert board.queues[0].waiting_now == 0 and board.queues[0].today.offered == 0
    assert {a.membership_id for a in board.agents.agents} == {desk.agent.pk, desk.agent2.pk}
    assert board.agents.by_presence["online"] == 0


def _busy(desk: Desk, n: int) -> None:
    agents = []
    for i in range(n):
        queue = _queue(desk, f"Queue {i}", channels=("voice", "webchat", "email")[i % 3:i % 3 + 1])
        kind = ("voice", "chat", "message")[i % 3]
        _contact(desk, queue, entered=NOW - timedelta(minutes=i + 1))
        _contact(desk, queue, entered=NOW - timedelta(hours=2), waited=15, kind=kind)
        _contact(desk, queue, entered=NOW - timedelta(hours=2), waited=50, kind=kind, state=ContactState.CANCELLED)
        agent = join(desk.admin_actor, email=f"a{n}-{i}@acme.test", password="agent-pass-9", display_name=f"Agent {i}")
        _status(desk, agent, "online")
        _conversation(desk, kind, assignee=agent)
        _sla(desk, "at_risk", i + 1, assignee=agent)
        agents.append(agent)


@pytest.mark.parametrize("n", [2, 12])
def test_the_wallboard_costs_seven_queries_however_big_the_desk(desk, n):
    _busy(desk, n)
    with CaptureQueriesContext(connection) as queries:
        board = wallboard.wallboard(desk.workspace, NOW)
    assert len(board.queues) == n and len(board.agents.agents) == n + 2
    assert sum(q.today.offered for q in board.queues) == 3 * n
    assert board.slas.at_risk == n and board.slas.due_next[0].assignee == "Agent 0"
    assert len(queries) == 3 + 2 + 2, [q["sql"] for q in queries.captured_queries]


# ---- SLAs --------------------------------------------------------------------------------------------


def _sla(desk: Desk, state: str, due_in_min: float | None, *, assignee=None, status: str = Status.OPEN):
    conversation = _conversation(desk, "message", assignee=assignee, status=status)
    conversation.subject = f"{state} {due_in_min}"
    conversation.save()
    due = NOW + timedelta(minutes=due_in_min) if due_in_min is not None else None
    return ConversationSla.objects.create(workspace_id=desk.id, conversation=conversation, state=state,
                                          next_due_at=due, updated_at=NOW)


def test_slas_at_risk_breached_and_due_next(desk, other_desk):
    _sla(desk, "at_risk", 4, assignee=desk.agent)
    _sla(desk, "at_risk", 9)
    _sla(desk, "breached", None, assignee=desk.agent)
    _sla(desk, "breached", None, status=Status.RESOLVED)  # resolved: off the board
    _sla(desk, "on_track", 2, assignee=desk.agent2)
    _sla(desk, "on_track", 60)
    _sla(desk, "paused", None)
    _sla(desk, "met", None)
    _sla(other_desk, "at_risk", 1)
    _sla(other_desk, "breached", None)
    board = wallboard.sla_figures(desk.workspace, NOW, limit=3)
    assert (board.at_risk, board.breached) == (2, 1)
    assert [(d.state, d.due_in_s, d.assignee) for d in board.due_next] == [
        ("on_track", 120, "Ben acme"), ("at_risk", 240, "Ana acme"), ("at_risk", 540, "")]
    mine = wallboard.sla_figures(desk.workspace, NOW, assignee=desk.agent)
    assert (mine.at_risk, mine.breached, [d.subject for d in mine.due_next]) == (1, 1, ["at_risk 4"])


# ---- the API ---------------------------------------------------------------------------------------


def test_the_api_gives_supervisors_the_same_figures(desk, other_desk, monkeypatch):
    # The API reads the clock: hold it at NOW, or a run just after the workspace's midnight would put
    # the five-minute-old contact in yesterday.
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    queue = _queue(desk)
    _contact(desk, queue, entered=NOW - timedelta(seconds=50))
    _contact(desk, queue, entered=NOW - timedelta(minutes=5), waited=12)
    _contact(other_desk, _queue(other_desk), entered=NOW - timedelta(seconds=50))
    response = api_as(desk.supervisor).get("/routing/wallboard")
    assert response.status_code == 200, response.content
    body = response.json()
    (phones,) = body["queues"]
    assert (phones["name"], phones["waiting_now"], phones["targets_s"], phones["variant"]) == (
        "Phones", 1, {"voice": 20}, "V2")
    assert phones["today"]["offered"] == 2 and phones["today"]["service_level"] == 0.5  # 12 s in, 50 s waiting late
    assert phones["today"]["asa_s"] == 12
    assert {a["membership_id"] for a in body["agents"]["agents"]} == {desk.agent.pk, desk.agent2.pk}
    assert body["slas"] == {"at_risk": 0, "breached": 0, "due_next": []}
    assert_problem(api_as(desk.agent).get("/routing/wallboard"), 403)
