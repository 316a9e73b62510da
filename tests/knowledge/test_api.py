"""/api/v1/knowledge: writing, reading, searching and the deflection figures through the API, with every
refusal a clear problem that changes nothing."""

import pytest

from tests.apiclient import api_as, assert_problem
from tests.web.conftest import customer_writes

from .conftest import write
from .helpers import kb_snapshot

ARTICLE = {"title": "How to return an item", "body": "Send it back within **30 days**.", "locale": "en"}


@pytest.fixture
def supervisor(desk):
    return api_as(desk.supervisor)


@pytest.fixture
def agent(desk):
    return api_as(desk.agent)


def test_a_supervisor_writes_publishes_and_reads_an_article(supervisor, desk):
    category = supervisor.post("/knowledge/categories", {"name": "Returns", "locale": "en"})
    assert category.status_code == 201, category.content
    created = supervisor.post("/knowledge/articles", {**ARTICLE, "category_id": category.json()["id"]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["slug"] == "how-to-return-an-item"
    assert body["body_html"] == "<p>Send it back within <strong>30 days</strong>.</p>\n"
    assert body["category"]["name"] == "Returns" and body["author"]["id"] == desk.supervisor.pk
    assert body["url"] == "/help/acme/en/articles/how-to-return-an-item/"
    published = supervisor.post(f"/knowledge/articles/{body['id']}/publish")
    assert published.json()["status"] == "published" and published.json()["published_at"]
    changed = supervisor.patch(f"/knowledge/articles/{body['id']}", {"body": "Within 60 days now."})
    assert changed.json()["body"] == "Within 60 days now." and changed.json()["status"] == "published"
    revisions = supervisor.get(f"/knowledge/articles/{body['id']}/revisions").json()["items"]
    assert [(r["number"], r["body"]) for r in revisions] == [(1, "Send it back within **30 days**.")]
    restored = supervisor.post(f"/knowledge/articles/{body['id']}/revisions/{revisions[0]['id']}/restore")
    assert restored.json()["body"] == "Send it back within **30 days**."
    assert supervisor.post(f"/knowledge/articles/{body['id']}/unpublish").json()["status"] == "draft"
    listed = supervisor.get("/knowledge/articles", status="draft").json()
    assert [a["id"] for a in listed["items"]] == [body["id"]]
    assert supervisor.delete(f"/knowledge/articles/{body['id']}").status_code == 204
    assert_problem(supervisor.get(f"/knowledge/articles/{body['id']}"), 404, "not_found")


def test_articles_page_with_a_cursor(supervisor, desk):
    for n in range(5):
        write(desk, f"Article {n}", "Body")
    first = supervisor.get("/knowledge/articles", limit=3).json()
    second = supervisor.get("/knowledge/articles", limit=3, cursor=first["next_cursor"]).json()
    assert len(first["items"]) == 3 and len(second["items"]) == 2 and second["next_cursor"] is None
    assert_problem(supervisor.get("/knowledge/articles", cursor="garbage"), 400, "invalid_cursor")


def test_agents_read_published_articles_internal_ones_included_but_not_drafts(agent, help_center):
    ids = {a["id"] for a in agent.get("/knowledge/articles", limit=100).json()["items"]}
    assert help_center["internal"].pk in ids and help_center["draft"].pk not in ids
    assert_problem(agent.get(f"/knowledge/articles/{help_center['draft'].pk}"), 404)
    assert agent.get(f"/knowledge/articles/{help_center['internal'].pk}").json()["url"] == \
        f"/knowledge/articles/{help_center['internal'].pk}/"


def test_an_agent_cannot_write_publish_or_read_the_deflection_figures(agent, help_center):
    before = kb_snapshot()
    draft = help_center["draft"].pk
    returns = help_center["returns"].pk
    assert_problem(agent.post("/knowledge/articles", ARTICLE), 403, "permission_denied")
    assert_problem(agent.patch(f"/knowledge/articles/{returns}", {"title": "Mine"}), 403)
    assert_problem(agent.post(f"/knowledge/articles/{returns}/unpublish"), 403)
    assert_problem(agent.delete(f"/knowledge/articles/{returns}"), 403)
    assert_problem(agent.post("/knowledge/categories", {"name": "C", "locale": "en"}), 403)
    assert_problem(agent.get("/knowledge/deflection"), 403)
    assert_problem(agent.post(f"/knowledge/articles/{draft}/publish"), 404)  # drafts are invisible to agents
    assert kb_snapshot() == before


def test_another_workspaces_ids_answer_exactly_like_unknown_ones(desk, other_desk, help_center):
    theirs = api_as(other_desk.admin)
    article = help_center["returns"]
    revision = article.revisions.create(workspace_id=desk.id, number=1, title="t", body="b",
                                        saved_at=article.created_at, replaced_at=article.created_at)
    conversation = customer_writes(desk, "Where is my parcel?")
    ours = {"a": article.pk, "r": revision.pk, "c": article.category_id, "v": conversation.pk}
    unknown = dict.fromkeys(ours, 987_654_321)
    before = kb_snapshot()
    for method, path, body in [
        ("GET", "/knowledge/articles/{a}", None),
        ("PATCH", "/knowledge/articles/{a}", {"title": "Taken"}),
        ("POST", "/knowledge/articles/{a}/unpublish", None),
        ("DELETE", "/knowledge/articles/{a}", None),
        ("GET", "/knowledge/articles/{a}/revisions", None),
        ("POST", "/knowledge/articles/{a}/revisions/{r}/restore", None),
        ("GET", "/knowledge/categories/{c}", None),
        ("PATCH", "/knowledge/categories/{c}", {"name": "Taken"}),
        ("DELETE", "/knowledge/categories/{c}", None),
        ("GET", "/conversations/{v}/article-suggestions", None),
    ]:
        response = theirs.call(method, path.format(**ours), body)
        expected = theirs.call(method, path.format(**unknown), body)
        assert_problem(response, 404, "not_found")
        detail = response.json()["detail"]
        for value in ours.values():
            detail = detail.replace(f" {value} ", " <id> ").replace(f" {value}.", " <id>.")
        assert detail == expected.json()["detail"].replace("987654321", "<id>"), path
    assert kb_snapshot() == before
    assert theirs.get("/knowledge/search", q="return item refund").json()["items"] == []
    assert theirs.get("/knowledge/articles").json()["items"] == []
    mine = theirs.post("/knowledge/articles", {**ARTICLE, "category_id": article.category_id})
    assert_problem(mine, 404)
    assert_problem(theirs.post("/knowledge/articles", {**ARTICLE, "locale": "fr", "translation_of_id": article.pk}), 404)
    assert kb_snapshot() == before


@pytest.mark.parametrize("body, field", [
    ({**ARTICLE, "locale": "zz"}, "locale"),
    ({**ARTICLE, "title": ""}, "title"),
    ({**ARTICLE, "title": "x" * 201}, "title"),
    ({**ARTICLE, "slug": "bad slug"}, "slug"),
    ({**ARTICLE, "audience": "everyone"}, "audience"),
    ({**ARTICLE, "status": "live"}, "status"),
    ({**ARTICLE, "unknown": 1}, "unknown"),
    ({**ARTICLE, "body": 5}, "body"),
])
def test_bad_articles_are_422_naming_the_field(supervisor, body, field):
    before = kb_snapshot()
    problem = assert_problem(supervisor.post("/knowledge/articles", body), 422)
    assert field in (problem.get("field") or "") or any(field in e["field"] for e in problem.get("errors", []))
    assert kb_snapshot() == before


def test_a_slug_clash_is_409(supervisor):
    assert supervisor.post("/knowledge/articles", {**ARTICLE, "slug": "returns"}).status_code == 201
    before = kb_snapshot()
    problem = assert_problem(supervisor.post("/knowledge/articles", {**ARTICLE, "slug": "returns"}), 409, "slug_taken")
    assert "returns" in problem["detail"]
    assert kb_snapshot() == before
    second = supervisor.post("/knowledge/articles", ARTICLE).json()
    assert_problem(supervisor.patch(f"/knowledge/articles/{second['id']}", {"slug": "returns"}), 409, "slug_taken")


def test_a_category_of_another_language_is_refused(supervisor):
    french = supervisor.post("/knowledge/categories", {"name": "Retours", "locale": "fr"}).json()
    assert_problem(supervisor.post("/knowledge/articles", {**ARTICLE, "category_id": french["id"]}), 422,
                   "category_locale")


def test_search_answers_hits_with_marked_snippets(agent, help_center, lexical_only):
    found = agent.get("/knowledge/search", q="return <b>boots</b>", audience="all")
    assert found.status_code == 200, found.content
    body = found.json()
    assert body["mode"] == "lexical" and "KNOWLEDGE_SEMANTIC" in body["note"]
    top = body["items"][0]
    assert top["article_id"] == help_center["returns"].pk and top["locale"] == "en" and top["audience"] == "public"
    assert "<mark>return</mark>" in top["snippet_html"] and "<b>" not in top["snippet_html"]
    internal = agent.get("/knowledge/search", q="goodwill credit", audience="internal").json()["items"]
    assert [i["article_id"] for i in internal] == [help_center["internal"].pk]
    public = agent.get("/knowledge/search", q="goodwill credit", audience="public").json()["items"]
    assert help_center["internal"].pk not in [i["article_id"] for i in public]


@pytest.mark.parametrize("query, status, code", [
    ({"q": ""}, 422, "validation_failed"),
    ({"q": "   "}, 422, "validation_failed"),
    ({"q": "x" * 501}, 422, "validation_failed"),
    ({}, 422, "validation_failed"),
    ({"q": "return", "locale": "zz"}, 422, "unknown_locale"),
    ({"q": "return", "audience": "everyone"}, 422, "validation_failed"),
    ({"q": "return", "limit": "0"}, 422, "validation_failed"),
])
def test_bad_searches_are_422_with_a_message(agent, help_center, query, status, code):
    problem = assert_problem(agent.get("/knowledge/search", **query), status, code)
    assert problem["detail"]


@pytest.mark.parametrize("q", ["🙂", "退货", "возврат", "🙂 return", "NEAR(\"a\" OR", "%_\\"])
def test_search_in_any_script_does_not_fail(agent, help_center, q):
    assert agent.get("/knowledge/search", q=q).status_code == 200


def test_article_suggestions_for_a_conversation(agent, desk, help_center, lexical_only):
    conversation = customer_writes(desk, "Hello, I would like to return my jacket, it is too big", subject="Return")
    found = agent.get(f"/conversations/{conversation.pk}/article-suggestions").json()
    assert "return my jacket" in found["query"]
    assert found["items"][0]["article_id"] == help_center["returns"].pk
    assert_problem(agent.get(f"/conversations/{conversation.pk}/article-suggestions", limit="50"), 422)


def test_empty_knowledge_base_searches_answer_an_empty_list(agent, desk):
    assert agent.get("/knowledge/search", q="where is my order").json()["items"] == []
    conversation = customer_writes(desk, "Where is my order?")
    assert agent.get(f"/conversations/{conversation.pk}/article-suggestions").json()["items"] == []


def test_deflection_refuses_a_bad_period(supervisor):
    assert_problem(supervisor.get("/knowledge/deflection", since="2026-03-02T00:00:00Z", until="2026-03-01T00:00:00Z"),
                   422, "validation_failed")
    assert_problem(supervisor.get("/knowledge/deflection", since="yesterday"), 422)
    assert_problem(supervisor.get("/knowledge/deflection", window_hours="0"), 422)
    assert supervisor.get("/knowledge/deflection").json()["deflection_rate"] is None
