"""The public help center: readable without signing in, only published public articles, good addresses,
a "Did this help?" form that works as plain HTML under CSRF, limits on what visitors can send."""

import re

import pytest
from django.test import Client

from touchpoint.knowledge import services
from touchpoint.knowledge.models import ArticleFeedback, ArticleView, SearchLog

from .conftest import write

VISITOR = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture
def visitor() -> Client:
    return Client(enforce_csrf_checks=True)


def test_the_root_goes_to_the_visitors_language(visitor, help_center):
    assert visitor.get("/help/acme/")["Location"] == "/help/acme/en/"
    assert visitor.get("/help/acme/", HTTP_ACCEPT_LANGUAGE="fr-CH,fr;q=0.9,en;q=0.5")["Location"] == "/help/acme/fr/"
    assert visitor.get("/help/acme/", HTTP_ACCEPT_LANGUAGE="de-DE")["Location"] == "/help/acme/en/"


def test_the_home_lists_categories_and_public_articles_only(visitor, help_center):
    page = visitor.get("/help/acme/en/")
    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Security-Policy"].startswith("default-src 'self'")
    assert "Shipping &amp; delivery" in html and "How to return an item" in html
    assert "Goodwill credit" not in html and "Gift cards" not in html  # internal, draft
    assert '<link rel="canonical" href="http://testserver/help/acme/en/">' in html
    assert '<link rel="alternate" hreflang="fr" href="http://testserver/help/acme/fr/">' in html
    assert '<html lang="en">' in html and "<script" not in html


def test_an_article_page_has_its_title_description_switcher_and_form(visitor, help_center):
    page = visitor.get("/help/acme/en/articles/how-to-return-an-item/")
    html = page.content.decode()
    assert "<title>How to return an item · Desk acme help center</title>" in html
    assert '<meta name="description" content="You can return unworn items within 30 days for a full refund.">' in html
    assert 'href="/help/acme/fr/articles/comment-retourner-un-article/" hreflang="fr"' in html  # the same article
    assert 'name="csrfmiddlewaretoken"' in html and "Did this help?" in html
    assert VISITOR not in html and page.cookies["tp_visitor"]["httponly"]
    assert ArticleView.objects.count() == 1


@pytest.mark.parametrize("path", [
    "/help/nobody/", "/help/nobody/en/", "/help/acme/xx/", "/help/acme/en/articles/gift-cards/",
    "/help/acme/en/articles/goodwill-credit-policy/", "/help/acme/en/articles/no-such-article/",
    "/help/acme/fr/articles/how-to-return-an-item/", "/help/acme/en/categories/nothing/",
])
def test_unknown_drafts_and_internal_pages_are_404(visitor, help_center, path):
    page = visitor.get(path)
    assert page.status_code == 404 and b"Not found" in page.content
    assert b"Agents may offer" not in page.content


def test_another_workspaces_articles_are_not_under_our_address(visitor, desk, other_desk, help_center):
    write(other_desk, "Their secret", "Body")
    assert visitor.get("/help/acme/en/articles/their-secret/").status_code == 404
    assert b"Their secret" not in visitor.get("/help/acme/en/search/?q=secret").content


def test_a_non_canonical_locale_redirects(visitor, help_center):
    page = visitor.get("/help/acme/EN/articles/how-to-return-an-item/")
    assert page.status_code == 301 and page["Location"] == "/help/acme/en/articles/how-to-return-an-item/"


def test_an_empty_help_center_says_so(visitor, desk):
    page = visitor.get("/help/acme/en/")
    assert page.status_code == 200 and b"There are no articles here yet" in page.content
    found = visitor.get("/help/acme/en/search/?q=where+is+my+order")
    assert found.status_code == 200 and b"No articles match" in found.content


def test_search_shows_marked_snippets_and_logs_the_search(visitor, help_center, lexical_only):
    page = visitor.get("/help/acme/en/search/", {"q": "return <script>alert(1)</script>", "visitor": VISITOR})
    html = page.content.decode()
    assert page.status_code == 200 and "<mark>return</mark>" in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert '<meta name="robots" content="noindex">' in html
    log = SearchLog.objects.get()
    assert (log.query, log.locale, log.source, log.visitor_key) == ("return <script>alert(1)</script>", "en",
                                                                   "help_center", VISITOR)
    assert log.results_count >= 1 and log.top_article_ids[0] == help_center["returns"].pk
    missing = visitor.get("/help/acme/en/search/", {"q": "student discount"})
    assert b"No articles match" in missing.content
    assert SearchLog.objects.filter(results_count=0).count() == 1


def test_long_searches_are_refused_and_searching_is_rate_limited(visitor, help_center, settings):
    settings.KNOWLEDGE_SEARCHES_PER_MINUTE = 3
    assert visitor.get("/help/acme/en/search/", {"q": "x" * 501}).status_code == 422
    for _ in range(3):
        assert visitor.get("/help/acme/en/search/", {"q": "refund", "visitor": VISITOR}).status_code == 200
    limited = visitor.get("/help/acme/en/search/", {"q": "refund", "visitor": VISITOR})
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0 and b"Slow down" in limited.content
    assert SearchLog.objects.count() == 3


@pytest.mark.parametrize("q", ["🙂", "退货", "возврат товара", "إرجاع", "🙂🙂 return"])
def test_searching_in_any_script_works(visitor, help_center, q):
    assert visitor.get("/help/acme/en/search/", {"q": q}).status_code == 200


def _token(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def test_did_this_help_works_as_a_plain_form_with_csrf(visitor, help_center):
    url = "/help/acme/en/articles/how-to-return-an-item/"
    page = visitor.get(url, {"visitor": VISITOR})
    refused = visitor.post(url + "feedback/", {"helpful": "yes"})  # no CSRF token: refused
    assert refused.status_code == 403 and not ArticleFeedback.objects.exists()
    answered = visitor.post(url + "feedback/", {"helpful": "no", "comment": "I need the label", "csrfmiddlewaretoken": _token(page)})
    assert answered.status_code == 303 and answered["Location"] == url + "?answered=1#feedback"
    feedback = ArticleFeedback.objects.get()
    assert (feedback.visitor_key, feedback.helpful, feedback.comment) == (VISITOR, False, "I need the label")
    thanks = visitor.get(answered["Location"])
    assert b"Thank you for your answer" in thanks.content and b"You answered No" in thanks.content
    visitor.post(url + "feedback/", {"helpful": "yes", "csrfmiddlewaretoken": _token(thanks)})
    assert ArticleFeedback.objects.get().helpful is True  # changed, not doubled


def test_bad_feedback_is_refused_on_the_page(visitor, help_center):
    url = "/help/acme/en/articles/how-to-return-an-item/"
    page = visitor.get(url)
    token = _token(page)
    assert visitor.post(url + "feedback/", {"helpful": "maybe", "csrfmiddlewaretoken": token}).status_code == 422
    long = visitor.post(url + "feedback/", {"helpful": "no", "comment": "x" * 1001, "csrfmiddlewaretoken": token})
    assert long.status_code == 422 and b"at most 1000 characters" in long.content
    draft = visitor.post("/help/acme/en/articles/gift-cards/feedback/", {"helpful": "yes", "csrfmiddlewaretoken": token})
    assert draft.status_code == 404
    assert not ArticleFeedback.objects.exists()


def test_feedback_spam_is_rate_limited(visitor, desk, settings):
    settings.KNOWLEDGE_FEEDBACK_PER_HOUR = 2
    articles = [write(desk, f"Answer {n}", "Body") for n in range(3)]
    for n, article in enumerate(articles):
        url = f"/help/acme/en/articles/{article.slug}/"
        page = visitor.get(url)
        response = visitor.post(url + "feedback/", {"helpful": "yes", "csrfmiddlewaretoken": _token(page)})
        assert response.status_code == (303 if n < 2 else 429)
    assert ArticleFeedback.objects.count() == 2


def test_script_in_markdown_is_inert_on_the_page(visitor, desk):
    write(desk, "Hostile", '<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n[x](javascript:alert(3))')
    html = visitor.get("/help/acme/en/articles/hostile/").content.decode()
    body = html[html.index('<div class="hc-body">'):]
    assert "<script" not in body and re.search(r"<[^>]*\son\w+=", body) is None and 'href="javascript:' not in body


def test_a_language_with_no_articles_still_answers(visitor, desk, help_center):
    services.create_category(actor=desk.supervisor_actor, name="Rückgabe", locale="de")
    page = visitor.get("/help/acme/de/")
    assert page.status_code == 200 and b"There are no articles here yet" in page.content
