"""The bot's KPIs (KPIS.md): containment and handoff rates over the conversations it started, handoff
reasons, per-intent figures and the fallback rate, first response after the handoff, intent confusion
from training and from agents' re-tags; the API, its refusals, and other workspaces kept out."""

from datetime import timedelta

import pytest

from tests.apiclient import api_as
from tests.bot.dialogue_helpers import Chat, enable_bot, stock_store
from touchpoint.bot import handoff, metrics, turns
from touchpoint.bot.models import BotSession, SessionState
from touchpoint.bot.services import forget_cached_models
from touchpoint.conversations import services as conversations
from touchpoint.conversations.services import Content
from touchpoint.core.clock import now
from touchpoint.core.errors import PermissionDenied, ValidationFailed


@pytest.fixture(autouse=True)
def _fresh_models():
    forget_cached_models()
    yield
    forget_cached_models()


def _visitor(n: int) -> tuple[str, str]:
    return ("visitor", f"00000000-0000-4000-8000-{n:012d}")


@pytest.fixture
def week(desk, django_capture_on_commit_callbacks):
    """Six conversations the bot started: two contained (one confirmed, one left idle), two handed off
    (asked, not understood), one an agent took, one still with the bot; and one SMS."""
    stock_store(desk)
    enable_bot(desk)
    chats = {name: Chat(desk, sender=_visitor(i)) for i, name in enumerate(
        ("confirmed", "asked", "lost", "taken", "idle", "active"))}
    chats["confirmed"].say("do you have tents?")
    chats["confirmed"].say("That's all, thanks")
    chats["asked"].say("I want to talk to a person")
    chats["lost"].say("zxqv blorp wug")
    chats["lost"].say("qwfp glarb snee")
    chats["taken"].say("hello")
    with django_capture_on_commit_callbacks(execute=True):
        conversations.reply(actor=desk.agent_actor, conversation=chats["taken"].conversation,
                            content=Content(text="Hi, Ana here"))
    chats["idle"].say("is the Basecamp Tent in stock?")
    chats["active"].say("where is my order?")
    BotSession.objects.filter(conversation_id=chats["idle"].conversation_id).update(
        last_turn_at=now() - turns.inactivity() - timedelta(minutes=1))
    assert turns.close_idle_sessions() == 1
    sms = Chat(desk, channel="sms", sender=("phone", "+14155552671"))
    sms.say("do you have black jackets?")
    chats["sms"] = sms
    return chats


def test_containment_and_handoff_rates_count_what_the_bot_started(desk, week):
    figures = metrics.bot_metrics(desk.supervisor_actor)
    assert figures.started == 7
    assert (figures.contained, figures.contained_confirmed, figures.contained_idle) == (2, 1, 1)
    assert (figures.handed_off, figures.taken_over, figures.active) == (2, 1, 2)
    assert figures.containment_rate == round(2 / 7, 4) and figures.handoff_rate == round(2 / 7, 4)
    assert figures.handoff_reasons == {"customer_asked": 1, "low_confidence": 1}


def test_per_intent_figures_and_the_fallback_rate(desk, week):
    figures = metrics.bot_metrics(desk.supervisor_actor)
    rows = {row["intent"]: row for row in figures.intents}
    assert rows["product_search"]["turns"] == 2 and rows["stock_check"]["contained"] == 1
    assert rows["(out of scope)"]["turns"] == 2
    assert figures.fallback_turns == 2 and figures.turns >= 9
    assert figures.fallback_rate == round(2 / figures.turns, 4)


def test_the_channel_filter(desk, week):
    sms = metrics.bot_metrics(desk.supervisor_actor, channel="sms")
    assert (sms.started, sms.active, sms.contained) == (1, 1, 0)
    assert metrics.bot_metrics(desk.supervisor_actor, channel="webchat").started == 6


def test_a_contained_conversation_a_person_then_answers_is_no_longer_contained(desk, week,
                                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        conversations.reply(actor=desk.agent_actor, conversation=week["confirmed"].conversation,
                            content=Content(text="Anything else?"))
    figures = metrics.bot_metrics(desk.supervisor_actor)
    assert figures.contained == 1 and figures.taken_over == 2


def test_first_response_after_the_handoff_is_measured_from_it(desk, week, monkeypatch):
    conversation = week["asked"].conversation
    later = conversation.handed_off_at + timedelta(seconds=90)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    conversations.reply(actor=desk.agent_actor, conversation=conversation, content=Content(text="Hello"))
    monkeypatch.undo()
    durations = metrics.bot_metrics(desk.supervisor_actor).first_response_after_handoff
    assert (durations.count, durations.median_s, durations.p90_s) == (1, 90.0, 90.0)


def test_intent_confusion_from_training_and_from_agents(desk, week):
    handoff.correct_intent(actor=desk.agent_actor, conversation=week["lost"].conversation, intent="warranty")
    confusion = metrics.bot_metrics(desk.supervisor_actor).intent_confusion
    assert confusion["live"] == [{"bot": "(out of scope)", "agent": "warranty", "conversations": 1}]
    model = confusion["model"]
    assert model["model_id"] is not None
    assert all({"expected", "predicted", "count"} <= set(pair) and pair["expected"] != pair["predicted"]
               for pair in model["pairs"])


def test_confusion_pairs_read_a_list_or_a_matrix():
    assert metrics.confusion_pairs({}) is None
    listed = {"confusion": [{"expected": "a", "predicted": "b", "count": 2}, {"expected": "a", "predicted": "a",
                                                                            "count": 9}]}
    assert metrics.confusion_pairs(listed) == [{"expected": "a", "predicted": "b", "count": 2}]
    matrix = {"confusion": {"labels": ["a", "b"], "matrix": [[5, 1], [3, 4]]}}
    assert metrics.confusion_pairs(matrix) == [{"expected": "b", "predicted": "a", "count": 3},
                                               {"expected": "a", "predicted": "b", "count": 1}]


def test_other_workspaces_are_never_counted(desk, other_desk, week):
    enable_bot(other_desk)
    Chat(other_desk, sender=_visitor(99)).say("I want to talk to a person")
    assert metrics.bot_metrics(other_desk.supervisor_actor).started == 1
    assert metrics.bot_metrics(desk.supervisor_actor).started == 7


def test_agents_may_not_read_the_figures_and_bad_periods_are_refused(desk, week):
    with pytest.raises(PermissionDenied):
        metrics.bot_metrics(desk.agent_actor)
    with pytest.raises(ValidationFailed):
        metrics.bot_metrics(desk.supervisor_actor, since=now(), until=now() - timedelta(days=1))
    with pytest.raises(ValidationFailed):
        metrics.bot_metrics(desk.supervisor_actor, since=now() - timedelta(days=800), until=now())


def test_the_period_counts_conversations_by_when_the_bot_started_them(desk, week):
    BotSession.objects.filter(conversation_id=week["confirmed"].conversation_id).update(
        started_at=now() - timedelta(days=40))
    figures = metrics.bot_metrics(desk.supervisor_actor)
    assert figures.started == 6 and figures.contained == 1
    older = metrics.bot_metrics(desk.supervisor_actor, since=now() - timedelta(days=60),
                                until=now() - timedelta(days=35))
    assert (older.started, older.contained) == (1, 1)


# ---- the API -------------------------------------------------------------------------------------


def test_the_metrics_api(desk, week):
    response = api_as(desk.supervisor).get("/bot/metrics")
    assert response.status_code == 200
    body = response.json()
    assert body["started"] == 7 and body["contained"] == 2 and body["handoff_reasons"]["customer_asked"] == 1
    assert body["intent_confusion"]["model"]["model_id"] is not None
    assert api_as(desk.supervisor).get("/bot/metrics", channel="sms").json()["started"] == 1


def test_the_metrics_api_refuses_agents_bad_periods_and_unknown_channels(desk, week):
    assert api_as(desk.agent).get("/bot/metrics").status_code == 403
    bad = api_as(desk.supervisor).get("/bot/metrics", since="2026-03-02T00:00:00Z", until="2026-03-01T00:00:00Z")
    assert bad.status_code == 422 and bad.json()["field"] == "since"
    assert api_as(desk.supervisor).get("/bot/metrics", since="yesterday").status_code == 422
    assert api_as(desk.supervisor).get("/bot/metrics", since="2026-03-01T00:00:00").status_code == 422  # no zone
    assert api_as(desk.supervisor).get("/bot/metrics", channel="fax").status_code == 422


def test_the_bot_session_api_and_retagging(desk, other_desk, week):
    conversation_id = week["asked"].conversation_id
    session = api_as(desk.agent).get(f"/conversations/{conversation_id}/bot-session")
    assert session.status_code == 200
    body = session.json()
    assert body["state"] == SessionState.HANDED_OFF and body["handoff_reason"] == "customer_asked"
    assert body["summary"]["reason_label"] == "the customer asked for a person"
    retagged = api_as(desk.agent).put(f"/conversations/{conversation_id}/bot-session/intent", {"intent": "warranty"})
    assert retagged.status_code == 200 and retagged.json()["corrected_intent"] == "warranty"
    refused = api_as(desk.agent).put(f"/conversations/{conversation_id}/bot-session/intent", {"intent": "nope"})
    assert refused.status_code == 422 and refused.json()["field"] == "intent"
    assert api_as(other_desk.agent).get(f"/conversations/{conversation_id}/bot-session").status_code == 404
    assert api_as(other_desk.agent).put(f"/conversations/{conversation_id}/bot-session/intent",
                                        {"intent": "warranty"}).status_code == 404
    assert BotSession.objects.get(conversation_id=conversation_id).corrected_intent == "warranty"
    plain = conversations.open_conversation(actor=desk.agent_actor, customer=week["asked"].customer, channel="email")
    assert api_as(desk.agent).get(f"/conversations/{plain.pk}/bot-session").status_code == 404
