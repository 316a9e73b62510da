"""Deflection figures, as deflection.py defines them: help-center sessions, whether a conversation followed
within the window, per-article views and helpful answers, and the searches that found nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.apiclient import api_as
from touchpoint.conversations.models import Conversation
from touchpoint.conversations.services import Content, receive_message
from touchpoint.knowledge.models import ArticleFeedback, ArticleView, SearchLog
from touchpoint.knowledge.services import normalize_query

DAY = timedelta(days=1)


def _search(desk, key, at, query="refund", results=1, source="help_center"):
    SearchLog.objects.create(workspace_id=desk.id, query=query, normalized_query=normalize_query(query), locale="en", mode="lexical",
                             results_count=results, top_article_ids=[], visitor_key=key, at=at, source=source)


def _view(desk, article, key, at):
    ArticleView.objects.create(workspace_id=desk.id, article=article, visitor_key=key, at=at)


def _chat(desk, key, at):
    message, _ = receive_message(workspace_id=desk.id, channel="webchat", sender=("visitor", key),
                                 content=Content(text="Hello?"))
    Conversation.objects.filter(pk=message.conversation_id).update(created_at=at)


@pytest.fixture
def history(desk, help_center):
    """Five sessions ten days ago: two followed by a chat (within and after 24 h), three not."""
    start = timezone.now() - 10 * DAY
    returns = help_center["returns"]
    keys = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(6)]
    # 0: searches, views, chats an hour later: not deflected
    _search(desk, keys[0], start)
    _view(desk, returns, keys[0], start + timedelta(minutes=2))
    _chat(desk, keys[0], start + timedelta(hours=1))
    # 1: searches, chats two days later: deflected with a 24 h window, not with 72 h
    _search(desk, keys[1], start)
    _chat(desk, keys[1], start + 2 * DAY)
    # 2: two sessions (an hour apart, more than the 30-minute gap), no chat
    _search(desk, keys[2], start, query="Student discount", results=0)
    _search(desk, keys[2], start + timedelta(hours=1), query="student  discount", results=0)
    # 3: only views
    _view(desk, returns, keys[3], start)
    _view(desk, help_center["refunds"], keys[3], start + timedelta(minutes=10))
    # 4: a bot search: not a help-center session, but a content gap
    _search(desk, keys[4], start, query="ship to japan", results=0, source="bot")
    # 5: yesterday: still inside a 72 h window, so pending then
    _search(desk, keys[5], timezone.now() - DAY)
    ArticleFeedback.objects.create(workspace_id=desk.id, article=returns, visitor_key=keys[0], helpful=True,
                                   created_at=start, updated_at=start)
    ArticleFeedback.objects.create(workspace_id=desk.id, article=returns, visitor_key=keys[3], helpful=False,
                                   created_at=start, updated_at=start)
    return help_center


def test_deflection_follows_its_definition(desk, history):
    figures = api_as(desk.supervisor).get("/knowledge/deflection").json()
    assert figures["window_hours"] == 24
    assert figures["searches"] == 5 and figures["searches_without_result"] == 2
    assert figures["article_views"] == 3 and figures["visitors"] == 5
    assert figures["sessions"] == 6 and figures["pending_sessions"] == 0
    assert figures["sessions_with_conversation"] == 1  # only visitor 0 chatted within 24 h
    assert figures["deflected_sessions"] == 5 and figures["deflection_rate"] == round(5 / 6, 4)
    returns = next(a for a in figures["articles"] if a["article_id"] == history["returns"].pk)
    assert (returns["views"], returns["helpful_yes"], returns["helpful_no"], returns["helpful_rate"]) == (2, 1, 1, 0.5)
    assert figures["articles"][0]["article_id"] == history["returns"].pk  # most viewed first
    gaps = [(g["query"], g["searches"]) for g in figures["content_gaps"]]
    assert gaps == [("student discount", 2), ("ship to japan", 1)]


def test_a_longer_window_counts_the_later_chat_and_leaves_recent_sessions_pending(desk, history):
    figures = api_as(desk.supervisor).get("/knowledge/deflection", window_hours="72").json()
    assert figures["sessions_with_conversation"] == 2
    assert figures["pending_sessions"] == 1  # visitor 5, yesterday
    assert figures["deflected_sessions"] == 3 and figures["deflection_rate"] == round(3 / 5, 4)


def test_the_period_bounds_the_sessions(desk, history):
    since = (timezone.now() - 2 * DAY).isoformat()
    figures = api_as(desk.supervisor).get("/knowledge/deflection", since=since).json()
    assert figures["sessions"] == 1 and figures["searches"] == 1 and figures["content_gaps"] == []


def test_another_workspace_sees_none_of_it(other_desk, history):
    figures = api_as(other_desk.admin).get("/knowledge/deflection").json()
    assert figures["sessions"] == 0 and figures["articles"] == [] and figures["content_gaps"] == []
