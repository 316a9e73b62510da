"""The demo store's help center: about forty articles in five English categories, some in French, two
internal, a month of activity; the same on every load of the same day."""

from datetime import UTC, datetime

from django.test import Client

from tests.apiclient import api_as
from touchpoint.knowledge.demo import load_demo_articles
from touchpoint.knowledge.models import Article, ArticleFeedback, ArticleView, Category, SearchLog

TODAY = datetime(2026, 3, 2, tzinfo=UTC)


def _load(desk) -> list[tuple]:
    count = load_demo_articles(desk.workspace, author=desk.supervisor, today=TODAY, seed=1)
    assert count == Article.objects.filter(workspace=desk.workspace).count()
    return sorted(Article.objects.filter(workspace=desk.workspace)
                  .values_list("locale", "slug", "title", "body_html", "audience", "created_at"))


def test_the_demo_help_center_is_complete_and_deterministic(desk, other_desk):
    first = _load(desk)
    assert first == _load(other_desk)
    articles = Article.objects.filter(workspace=desk.workspace)
    assert 38 <= articles.count() <= 45
    assert articles.filter(locale="fr").count() == 5 and articles.filter(locale="fr", translation_of__isnull=True).count() == 0
    assert articles.filter(audience="internal").count() == 2
    assert Category.objects.filter(workspace=desk.workspace, locale="en").count() == 5
    assert all(a.created_at < TODAY for a in articles)
    assert SearchLog.objects.filter(workspace=desk.workspace, results_count=0).exists()
    assert ArticleView.objects.filter(workspace=desk.workspace).count() > 100
    assert ArticleFeedback.objects.filter(workspace=desk.workspace).exists()


def test_the_demo_help_center_serves_and_reports(desk):
    load_demo_articles(desk.workspace, author=desk.supervisor, today=TODAY, seed=1)
    home = Client().get("/help/acme/en/")
    assert home.status_code == 200 and b"Returns &amp; refunds" in home.content and b"Fran\xc3\xa7ais" in home.content
    article = Client().get("/help/acme/fr/articles/retourner-un-article/")
    assert article.status_code == 200 and b'hreflang="en"' in article.content
    figures = api_as(desk.supervisor).get("/knowledge/deflection", since="2026-01-01T00:00:00Z",
                                          until="2026-03-02T00:00:00Z").json()
    assert figures["sessions"] > 100 and figures["content_gaps"] and figures["articles"]
    assert figures["deflection_rate"] == 1.0  # this desk has no chats: every session was deflected
