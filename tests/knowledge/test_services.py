"""Writing the knowledge base: who may, what is refused (and leaves nothing behind), revisions, embeddings."""

import pytest

from tests.conftest import skip_or_fail
from touchpoint.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from touchpoint.knowledge import embeddings, services
from touchpoint.knowledge.errors import RateLimited
from touchpoint.knowledge.models import Article, ArticleChunk, ArticleFeedback, ArticleView, KnowledgeIndex

from .conftest import write
from .helpers import kb_snapshot, need_ml


def test_an_article_is_rendered_with_a_slug_made_from_its_title(desk):
    article = write(desk, "Shipping times & costs!", "Standard takes **3 days**.", status="draft")
    assert article.slug == "shipping-times-costs"
    assert article.body_html == "<p>Standard takes <strong>3 days</strong>.</p>\n"
    assert article.summary == "Standard takes 3 days."
    assert article.status == "draft" and article.published_at is None
    assert article.author_id == desk.supervisor.pk
    again = write(desk, "Shipping times & costs!", "Another.", status="draft")
    assert again.slug == "shipping-times-costs-2"  # made slugs never clash
    other_language = write(desk, "Shipping times & costs!", "Autre.", locale="fr", status="draft")
    assert other_language.slug == "shipping-times-costs"  # unique per locale


def test_a_given_slug_that_is_taken_is_a_conflict_and_writes_nothing(desk):
    write(desk, "Returns", "Body", slug="returns")
    before = kb_snapshot()
    with pytest.raises(Conflict) as error:
        write(desk, "Other returns", "Body", slug="returns")
    assert error.value.code == "slug_taken" and "returns" in error.value.message
    assert kb_snapshot() == before


@pytest.mark.parametrize("field, kwargs", [
    ("locale", {"locale": "xx"}),
    ("locale", {"locale": "english"}),
    ("title", {"title": "   "}),
    ("title", {"title": "t" * 201}),
    ("body", {"body": "b" * 100_001}),
    ("slug", {"slug": "not a slug!"}),
    ("audience", {"audience": "everyone"}),
    ("status", {"status": "live"}),
    ("body", {"body": "   ", "status": "published"}),
])
def test_bad_input_is_refused_with_the_field_and_writes_nothing(desk, field, kwargs):
    before = kb_snapshot()
    values = {"title": "Returns", "body": "Send it back.", "locale": "en", "status": "draft", **kwargs}
    with pytest.raises(ValidationFailed) as error:
        services.create_article(actor=desk.supervisor_actor, **values)
    assert error.value.field == field and error.value.message
    assert kb_snapshot() == before


def test_unknown_locale_names_what_to_use(desk):
    with pytest.raises(ValidationFailed) as error:
        services.create_category(actor=desk.supervisor_actor, name="Returns", locale="klingon")
    assert error.value.code == "unknown_locale" and "pt-BR" in error.value.message


def test_locales_are_canonical(desk):
    article = write(desk, "Devoluções", "Texto.", locale="PT_br", status="draft")
    assert article.locale == "pt-BR"


def test_a_category_of_another_locale_is_refused(desk):
    french = services.create_category(actor=desk.supervisor_actor, name="Livraison", locale="fr")
    with pytest.raises(ValidationFailed) as error:
        write(desk, "Shipping", "Body", category=french)
    assert error.value.code == "category_locale"


def test_agents_cannot_write_or_publish(desk):
    article = write(desk, "Returns", "Body", status="draft")
    before = kb_snapshot()
    for attempt in (
        lambda: services.create_article(actor=desk.agent_actor, title="T", body="B", locale="en"),
        lambda: services.update_article(actor=desk.agent_actor, article=article, title="Mine now"),
        lambda: services.publish_article(actor=desk.agent_actor, article=article),
        lambda: services.delete_article(actor=desk.agent_actor, article=article),
        lambda: services.create_category(actor=desk.agent_actor, name="C", locale="en"),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert kb_snapshot() == before


def test_another_workspaces_article_is_not_found(desk, other_desk):
    theirs = write(other_desk, "Their article", "Secret body")
    before = kb_snapshot()
    with pytest.raises(NotFound):
        services.update_article(actor=desk.supervisor_actor, article=theirs, title="Mine")
    with pytest.raises(NotFound):
        services.unpublish_article(actor=desk.supervisor_actor, article=theirs)
    their_category = services.create_category(actor=other_desk.supervisor_actor, name="Theirs", locale="en")
    before = kb_snapshot()
    with pytest.raises(NotFound):
        write(desk, "Mine", "Body", category=their_category)
    assert kb_snapshot() == before


def test_every_change_keeps_the_previous_version_and_a_restore_can_be_undone(desk):
    article = write(desk, "Returns", "Version one.")
    services.update_article(actor=desk.admin_actor, article=article, body="Version two.")
    services.update_article(actor=desk.supervisor_actor, article=article, title="Returns and refunds")
    article.refresh_from_db()
    revisions = list(article.revisions.order_by("number"))
    assert [(r.number, r.title, r.body, r.author_id) for r in revisions] == [
        (1, "Returns", "Version one.", desk.supervisor.pk),
        (2, "Returns", "Version two.", desk.admin.pk),
    ]
    assert article.title == "Returns and refunds" and article.body == "Version two."

    services.restore_revision(actor=desk.supervisor_actor, article=article, revision=revisions[0])
    article.refresh_from_db()
    assert (article.title, article.body, article.body_html) == ("Returns", "Version one.", "<p>Version one.</p>\n")
    assert article.revisions.count() == 3  # the replaced current version is kept too
    latest = article.revisions.order_by("-number").first()
    assert (latest.title, latest.body) == ("Returns and refunds", "Version two.")


def test_a_change_of_audience_alone_keeps_no_revision(desk):
    article = write(desk, "Returns", "Body")
    services.update_article(actor=desk.supervisor_actor, article=article, audience="internal")
    assert article.revisions.count() == 0


def test_publishing_and_unpublishing_raise_the_search_version(desk):
    article = write(desk, "Returns", "Body", status="draft")
    version = KnowledgeIndex.objects.get(workspace_id=desk.id).version
    services.publish_article(actor=desk.supervisor_actor, article=article)
    services.publish_article(actor=desk.supervisor_actor, article=article)  # twice: no change
    article.refresh_from_db()
    assert article.status == "published" and article.published_at is not None
    assert KnowledgeIndex.objects.get(workspace_id=desk.id).version == version + 1
    services.unpublish_article(actor=desk.supervisor_actor, article=article)
    assert Article.objects.get(pk=article.pk).status == "draft"
    assert KnowledgeIndex.objects.get(workspace_id=desk.id).version == version + 2


def test_embeddings_are_stored_as_float32_passages_and_recomputed_only_when_the_text_changes(desk):
    need_ml()
    article = write(desk, "Washing a waterproof jacket", "Close every zip. " * 80 + "\n\nTumble dry on low heat.")
    assert services.embed_article(article_id=article.pk) is True
    chunks = list(ArticleChunk.objects.filter(article=article).order_by("position"))
    assert chunks[0].text == "Washing a waterproof jacket" and len(chunks) >= 3
    assert all(len(bytes(c.vector)) == embeddings.DIMENSIONS * 4 for c in chunks)
    vector = embeddings.from_bytes(chunks[0].vector)
    assert abs(float((vector * vector).sum()) - 1.0) < 1e-4  # normalized
    assert services.embed_article(article_id=article.pk) is False  # nothing changed
    services.update_article(actor=desk.supervisor_actor, article=article, body="Short now.")
    assert services.embed_article(article_id=article.pk) is True
    assert ArticleChunk.objects.filter(article=article).count() == 2


def test_the_embedding_task_is_enqueued_with_the_change(desk):
    if not embeddings.available():
        skip_or_fail("the ml extra is needed to enqueue embeddings")
    from django_tasks_db.models import DBTaskResult

    write(desk, "Returns", "Body")
    assert DBTaskResult.objects.filter(task_path="touchpoint.knowledge.tasks.embed_article").count() == 1


def test_without_the_ml_extra_nothing_is_embedded(desk, lexical_only):
    article = write(desk, "Returns", "Body")
    assert services.embed_article(article_id=article.pk) is False
    assert services.embed_stale(workspace_id=desk.id) == 0
    assert not ArticleChunk.objects.exists()


def test_feedback_is_one_answer_per_visitor_and_can_change(desk):
    article = write(desk, "Returns", "Body")
    visitor = "0f8fad5b-d9cb-469f-a165-70867728950e"
    services.record_feedback(article=article, visitor_key=visitor, helpful=False, comment="I wanted the label")
    services.record_feedback(article=article, visitor_key=visitor, helpful=True)
    answers = list(ArticleFeedback.objects.filter(article=article))
    assert len(answers) == 1 and answers[0].helpful is True and answers[0].comment == ""


def test_feedback_is_rate_limited_per_visitor_and_per_address(desk, settings):
    settings.KNOWLEDGE_FEEDBACK_PER_HOUR = 3
    settings.KNOWLEDGE_FEEDBACK_PER_HOUR_PER_IP = 5
    articles = [write(desk, f"Article {n}", "Body") for n in range(8)]
    visitor = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    for article in articles[:3]:
        services.record_feedback(article=article, visitor_key=visitor, helpful=True, address="10.0.0.1")
    with pytest.raises(RateLimited) as error:
        services.record_feedback(article=articles[3], visitor_key=visitor, helpful=True, address="10.0.0.1")
    assert error.value.status == 429 and error.value.retry_after > 0 and "at most 3" in error.value.message
    # A bot without cookies gets a new visitor key each time: the address stops it.
    for n in range(2):
        services.record_feedback(article=articles[4 + n], visitor_key=f"a1b2c3d4-0000-4000-8000-00000000000{n}",
                                 helpful=False, address="10.0.0.1")
    with pytest.raises(RateLimited):
        services.record_feedback(article=articles[7], visitor_key="a1b2c3d4-0000-4000-8000-000000000009",
                                 helpful=False, address="10.0.0.1")
    assert ArticleFeedback.objects.count() == 5


def test_feedback_refuses_drafts_long_comments_and_missing_visitors(desk):
    draft = write(desk, "Draft", "Body", status="draft")
    published = write(desk, "Published", "Body")
    with pytest.raises(NotFound):
        services.record_feedback(article=draft, visitor_key="7c9e6679-7425-40de-944b-e07fc1f90ae7", helpful=True)
    with pytest.raises(ValidationFailed) as error:
        services.record_feedback(article=published, visitor_key="7c9e6679-7425-40de-944b-e07fc1f90ae7",
                                 helpful=False, comment="x" * 1001)
    assert error.value.field == "comment"
    with pytest.raises(ValidationFailed):
        services.record_feedback(article=published, visitor_key="<script>", helpful=True)
    assert not ArticleFeedback.objects.exists()


def test_a_reload_within_half_an_hour_is_one_view(desk):
    article = write(desk, "Returns", "Body")
    visitor = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    assert services.record_view(article=article, visitor_key=visitor) is not None
    assert services.record_view(article=article, visitor_key=visitor) is None
    assert services.record_view(article=article, visitor_key="bad key") is None
    assert ArticleView.objects.count() == 1


def test_the_embed_command_embeds_what_is_stale(desk, capsys):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError):
        call_command("embed_articles", "--workspace", "nobody")
    if not embeddings.available():
        with pytest.raises(CommandError, match="ml extra"):
            call_command("embed_articles")
        skip_or_fail("the ml extra is needed to embed")
    write(desk, "Returns", "Send it back.")
    call_command("embed_articles", "--workspace", "acme")
    call_command("embed_articles")
    out = capsys.readouterr().out
    assert "Embedded 1 article;" in out and "Embedded 0 articles;" in out
