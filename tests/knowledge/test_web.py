"""The knowledge base in the agent workspace: composer suggestions and "Insert link", agents reading
articles, supervisors writing them (preview, publish, revisions, restore)."""

import pytest

from tests.web.conftest import customer_writes, signed_in
from touchpoint.knowledge.models import Article

from .helpers import kb_snapshot

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def agent(desk):
    client = signed_in(desk.agent)
    client.get("/")
    return client


@pytest.fixture
def supervisor(desk):
    client = signed_in(desk.supervisor)
    client.get("/")
    return client


def test_the_pane_loads_the_suggestions_with_htmx(agent, desk, help_center):
    conversation = customer_writes(desk, "How do I return my boots?")
    pane = agent.get(f"/conversations/{conversation.pk}/", **HTMX).content.decode()
    assert f'hx-get="/conversations/{conversation.pk}/article-suggestions/" hx-trigger="load"' in pane


def test_suggestions_list_public_and_internal_articles_with_insert_links_for_public_ones(agent, desk, help_center,
                                                                                      lexical_only):
    conversation = customer_writes(desk, "My delivery was late, can I get a goodwill credit and return it?")
    html = agent.get(f"/conversations/{conversation.pk}/article-suggestions/", **HTMX).content.decode()
    assert "How to return an item" in html and "Goodwill credit policy" in html
    assert f"/article-suggestions/{help_center['returns'].pk}/insert/" in html
    assert f"/article-suggestions/{help_center['internal'].pk}/insert/" not in html  # no link for customers
    assert 'hx-include="#composer-text"' in html and "<mark>" in html


def test_insert_link_adds_the_title_and_public_address_to_the_reply(agent, desk, help_center):
    conversation = customer_writes(desk, "Return?")
    url = f"/conversations/{conversation.pk}/article-suggestions/{help_center['returns'].pk}/insert/"
    html = agent.post(url, {"text": "Hi Maria, <b>here</b>:"}, **HTMX).content.decode()
    assert 'id="composer-text"' in html and 'name="text"' in html
    assert "Hi Maria, &lt;b&gt;here&lt;/b&gt;:\n\nHow to return an item: " \
           "http://testserver/help/acme/en/articles/how-to-return-an-item/</textarea>" in html
    empty = agent.post(url, {"text": ""}, **HTMX).content.decode()
    assert ">How to return an item: http://testserver/help/acme/en/articles/how-to-return-an-item/</textarea>" in empty


def test_an_internal_articles_link_is_not_inserted(agent, desk, help_center):
    conversation = customer_writes(desk, "Credit?")
    url = f"/conversations/{conversation.pk}/article-suggestions/{help_center['internal'].pk}/insert/"
    response = agent.post(url, {"text": "Hello"}, **HTMX)
    assert response.status_code == 422 and b"internal" in response.content


def test_another_workspaces_conversation_or_article_is_404(agent, desk, other_desk, help_center):
    theirs = customer_writes(other_desk, "Their question")
    mine = customer_writes(desk, "My question")
    assert agent.get(f"/conversations/{theirs.pk}/article-suggestions/", **HTMX).status_code == 404
    from .conftest import write

    their_article = write(other_desk, "Theirs", "Body")
    assert agent.post(f"/conversations/{mine.pk}/article-suggestions/{their_article.pk}/insert/", {"text": ""},
                      **HTMX).status_code == 404
    assert agent.get(f"/knowledge/articles/{their_article.pk}/").status_code == 404


def test_agents_search_and_read_internal_articles_but_not_drafts(agent, help_center, lexical_only):
    page = agent.get("/knowledge/", {"q": "goodwill"}).content.decode()
    assert "Goodwill credit policy" in page and "Internal" in page
    listing = agent.get("/knowledge/").content.decode()
    assert "Track your parcel" in listing and "Gift cards" not in listing
    assert agent.get(f"/knowledge/articles/{help_center['internal'].pk}/").status_code == 200
    assert agent.get(f"/knowledge/articles/{help_center['draft'].pk}/").status_code == 404


def test_agents_cannot_open_or_use_the_settings(agent, help_center):
    before = kb_snapshot()
    article = help_center["returns"].pk
    assert agent.get("/settings/knowledge/").status_code == 403
    assert agent.post("/settings/knowledge/articles/new/", {"title": "T", "body": "B", "locale": "en",
                                                            "audience": "public", "action": "publish"}).status_code == 403
    assert agent.post(f"/settings/knowledge/articles/{article}/unpublish/").status_code == 403
    assert agent.post(f"/settings/knowledge/articles/{article}/delete/").status_code == 403
    assert kb_snapshot() == before
    assert b"Knowledge base" in agent.get("/").content  # the menu link is there for everyone


def test_a_supervisor_writes_previews_publishes_and_restores(supervisor, desk, help_center):
    form = {"title": "Care of boots", "body": "Brush <script>x</script> **mud** off.", "locale": "en",
            "audience": "public", "category": "", "slug": ""}
    preview = supervisor.post("/settings/knowledge/articles/new/", {**form, "action": "preview"})
    assert b"<strong>mud</strong>" in preview.content and b"<script>x" not in preview.content
    assert not Article.objects.filter(title="Care of boots").exists()  # a preview saves nothing
    live = supervisor.post("/settings/knowledge/preview/", {"body": "# Hi"}, **HTMX)
    assert live.content.strip().startswith(b'<div class="kb-preview-body"><h2>Hi</h2>')
    saved = supervisor.post("/settings/knowledge/articles/new/", {**form, "action": "publish"})
    article = Article.objects.get(title="Care of boots")
    assert saved["Location"] == f"/settings/knowledge/articles/{article.pk}/?saved=1" and article.status == "published"
    supervisor.post(f"/settings/knowledge/articles/{article.pk}/", {**form, "body": "Second version.", "action": "save"})
    revisions = supervisor.get(f"/settings/knowledge/articles/{article.pk}/revisions/").content.decode()
    assert 'id="kb-revision-1"' in revisions
    revision = article.revisions.get()
    supervisor.post(f"/settings/knowledge/articles/{article.pk}/revisions/{revision.pk}/restore/")
    article.refresh_from_db()
    assert article.body == form["body"] and article.revisions.count() == 2
    supervisor.post(f"/settings/knowledge/articles/{article.pk}/unpublish/")
    assert Article.objects.get(pk=article.pk).status == "draft"
    listing = supervisor.get("/settings/knowledge/").content.decode()
    assert "Care of boots" in listing and "Gift cards" in listing  # drafts are listed for writers


def test_refusals_show_on_the_editor_and_keep_what_was_typed(supervisor, help_center):
    response = supervisor.post("/settings/knowledge/articles/new/", {
        "title": "Dup", "body": "Body", "locale": "en", "audience": "public", "slug": "how-to-return-an-item",
        "action": "save"})
    assert response.status_code == 409 and b"taken" in response.content and b'value="Dup"' in response.content
    bad = supervisor.post("/settings/knowledge/articles/new/", {
        "title": "Bad", "body": "Body", "locale": "zz", "audience": "public", "action": "save"})
    assert bad.status_code == 422 and b"Unknown locale" in bad.content
    category = supervisor.post("/settings/knowledge/categories/", {"name": "", "locale": "en"})
    assert category.status_code == 422
