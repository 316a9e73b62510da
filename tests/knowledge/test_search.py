"""Search: the database's full text fused with MiniLM embeddings; what each audience may find."""

import pytest
from django.db import connection

from touchpoint.core.errors import NotFound, ValidationFailed
from touchpoint.knowledge import search, services
from touchpoint.knowledge.models import KnowledgeIndex, Posting, SearchCollection
from touchpoint.knowledge.search import ArticleHit, fuse, highlight, query_terms, snippet
from touchpoint.knowledge.selectors import article_answer, search_articles

from .conftest import write
from .helpers import need_ml


def ids(hits: list[ArticleHit]) -> list[int]:
    return [hit.article_id for hit in hits]


def test_the_bot_selector_answers_ranked_hits_with_urls_snippets_and_ranks(desk, help_center, lexical_only):
    hits = search_articles(desk.id, "How do I return my boots?")
    assert hits[0].article_id == help_center["returns"].pk
    top = hits[0]
    assert isinstance(top, ArticleHit)
    assert top.title == "How to return an item"
    assert top.url == "/help/acme/en/articles/how-to-return-an-item/"
    assert "return" in top.snippet.lower() and "<" not in top.snippet
    assert top.lexical_rank == 1 and top.semantic_rank is None
    assert top.score > 0 and all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))


def test_the_title_weighs_more_than_the_body(desk, lexical_only):
    in_body = write(desk, "Delivery options", "You can also track a parcel from the carrier's page. " * 3)
    in_title = write(desk, "Track a parcel", "Open the link in your email to follow it.")
    assert ids(search_articles(desk.id, "track parcel"))[:2] == [in_title.pk, in_body.pk]


def test_words_are_stemmed_and_accents_folded(desk, lexical_only):
    article = write(desk, "Refunds", "We refunded every returned item.")
    french = write(desk, "Réexpédition", "Nous réexpédions votre colis.", locale="fr")
    assert article.pk in ids(search_articles(desk.id, "refunding returns"))
    assert french.pk in ids(search_articles(desk.id, "reexpedition", locale="fr"))


def test_public_search_never_finds_drafts_or_internal_articles_and_agents_find_internal_ones(
        desk, help_center, lexical_only):
    public = ids(search_articles(desk.id, "goodwill credit gift cards"))
    assert help_center["internal"].pk not in public and help_center["draft"].pk not in public
    agents = ids(search_articles(desk.id, "goodwill credit gift cards", audience="all"))
    assert help_center["internal"].pk in agents and help_center["draft"].pk not in agents
    assert ids(search_articles(desk.id, "goodwill", audience="internal")) == [help_center["internal"].pk]


def test_a_locale_keeps_to_its_language(desk, help_center, lexical_only):
    french = ids(search_articles(desk.id, "retourner article", locale="fr"))
    assert french == [help_center["returns_fr"].pk]
    assert help_center["returns_fr"].pk not in ids(search_articles(desk.id, "retourner article", locale="en"))
    assert ids(search_articles(desk.id, "retourner", locale="fr-CA")) == [help_center["returns_fr"].pk]
    with pytest.raises(ValidationFailed) as error:
        search_articles(desk.id, "return", locale="zz")
    assert error.value.code == "unknown_locale"
    with pytest.raises(ValidationFailed):
        search_articles(desk.id, "return", audience="everyone")


def test_another_workspace_finds_nothing_of_ours(desk, other_desk, help_center, lexical_only):
    assert search_articles(other_desk.id, "return item refund shipping") == []
    with pytest.raises(NotFound):
        article_answer(other_desk.id, help_center["returns"].pk)


def test_a_rare_word_weighs_more_than_a_common_one(desk, lexical_only):
    for n in range(6):
        write(desk, f"Jacket guide {n}", "Wash the jacket cold. Hang the jacket to dry. Store the jacket flat.")
    rare = write(desk, "Repairs", "If the zipper of your jacket sticks, rub it with wax.")
    assert ids(search_articles(desk.id, "jacket zipper"))[0] == rare.pk


def test_search_follows_edits_unpublishing_and_deletion(desk, lexical_only):
    article = write(desk, "Gift wrapping", "We wrap presents in recycled paper.")
    assert ids(search_articles(desk.id, "presents")) == [article.pk]
    article = services.update_article(actor=desk.supervisor_actor, article=article, body="We add a handwritten card.")
    assert search_articles(desk.id, "presents") == [] and ids(search_articles(desk.id, "handwritten")) == [article.pk]
    article = services.unpublish_article(actor=desk.supervisor_actor, article=article)
    assert search_articles(desk.id, "handwritten") == []
    article = services.publish_article(actor=desk.supervisor_actor, article=article)
    assert ids(search_articles(desk.id, "handwritten")) == [article.pk]
    services.delete_article(actor=desk.supervisor_actor, article=article)
    assert search_articles(desk.id, "handwritten") == []
    assert not Posting.objects.filter(article_id=article.pk).exists()
    assert not SearchCollection.objects.filter(workspace_id=desk.id).exists()  # the last article went


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the postings are PostgreSQL's index")
def test_postings_count_title_and_body_words_and_the_collection_its_articles(desk, lexical_only):
    article = write(desk, "Boots care", "Clean boots with a brush. Boots dry slowly.")
    postings = {p.lexeme: (p.title_tf, p.body_tf) for p in Posting.objects.filter(article_id=article.pk)}
    assert postings["boot"] == (1, 2) and postings["brush"] == (0, 1) and postings["care"] == (1, 0)
    length = sum(t + b for t, b in postings.values())
    assert {p.length for p in Posting.objects.filter(article_id=article.pk)} == {length}
    write(desk, "Boots soon", "New boots arrive.", status="draft")
    internal = write(desk, "Boot returns", "Refund boots.", audience="internal")
    write(desk, "Bottes", "Nettoyez vos bottes.", locale="fr-CA")

    def collection():
        return {(c.audience, c.language): (c.documents, c.words) for c in SearchCollection.objects.filter(workspace_id=desk.id)}

    assert collection() == {("public", "en"): (1, length), ("internal", "en"): (1, 4), ("public", "fr"): (1, 3)}
    services.update_article(actor=desk.supervisor_actor, article=internal, audience="public")
    assert collection() == {("public", "en"): (2, length + 4), ("public", "fr"): (1, 3)}
    services.unpublish_article(actor=desk.supervisor_actor, article=article)
    assert collection() == {("public", "en"): (1, 4), ("public", "fr"): (1, 3)}
    assert not Posting.objects.filter(article_id=article.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's FTS5 keeps one set of statistics per table")
def test_another_workspaces_articles_do_not_move_our_ranking(desk, other_desk, lexical_only):
    common = write(desk, "Parcel sizes", "A parcel may weigh 20 kg. A large parcel costs more.")
    rare = write(desk, "Locker pickup", "Collect your parcel from a locker.")
    before = ids(search_articles(desk.id, "parcel locker"))
    for n in range(8):
        write(other_desk, f"Locker {n}", "Locker locker locker, every locker.")
    assert ids(search_articles(desk.id, "parcel locker")) == before == [rare.pk, common.pk]
    assert rare.pk not in ids(search_articles(other_desk.id, "parcel locker"))


@pytest.mark.parametrize("query", ["", "   ", "🙂🙂", "退货 政策", "возврат товара", "إرجاع", "the of and", "x" * 5000,
                                   '"unbalanced OR * NEAR(', "'; DROP TABLE knowledge_article; --", "\u200b"])
def test_any_text_is_a_search_that_does_not_fail(desk, help_center, lexical_only, query):
    hits = search_articles(desk.id, query)
    assert isinstance(hits, list)
    if not query.strip() or query == "🙂🙂" or query == "\u200b":
        assert hits == []


def test_non_latin_articles_are_found(desk, lexical_only):
    russian = write(desk, "Возврат товара", "Вы можете вернуть товар в течение 30 дней.", locale="ru")
    japanese = write(desk, "返品について", "返品 は 30日 以内 に お願い します。", locale="ja")
    assert ids(search_articles(desk.id, "возврат")) == [russian.pk]
    assert japanese.pk in ids(search_articles(desk.id, "返品"))


def test_an_empty_knowledge_base_answers_an_empty_list(desk):
    assert search_articles(desk.id, "where is my order") == []


def test_article_answer_gives_the_first_paragraph_and_the_public_link(desk, help_center):
    answer = article_answer(desk.id, help_center["returns"].pk)
    title, first_paragraph, url = answer
    assert title == "How to return an item"
    assert first_paragraph == "You can return unworn items within 30 days for a full refund."
    assert url == "/help/acme/en/articles/how-to-return-an-item/"
    for hidden in ("internal", "draft"):
        with pytest.raises(NotFound):
            article_answer(desk.id, help_center[hidden].pk)


def test_urls_are_absolute_with_a_public_base_url(desk, help_center, settings):
    settings.PUBLIC_BASE_URL = "https://help.acme.test"
    assert article_answer(desk.id, help_center["returns"].pk).url == \
        "https://help.acme.test/help/acme/en/articles/how-to-return-an-item/"


def test_snippets_are_around_the_matched_words_and_highlighting_escapes_first():
    body = ("Intro words that say nothing. " * 20) + "Refunds reach your card within 5 days. " + ("More filler. " * 20)
    text = snippet(body, "summary", ["refund", "card"])
    assert "Refunds reach your card" in text and text.startswith("…") and text.endswith("…")
    assert snippet(body, "The summary.", ["zebra"]) == "The summary."
    html = highlight('<b onclick="x">refund</b> & refunds', ["refund"])
    assert html == '&lt;b onclick=&quot;x&quot;&gt;<mark>refund</mark>&lt;/b&gt; &amp; <mark>refunds</mark>'


def test_query_terms_drop_english_stop_words_but_keep_something():
    assert query_terms("How do I return my boots?") == ["return", "boots"]
    assert query_terms("the of") == ["the", "of"]
    assert query_terms("Où est mon colis", locale="fr") == ["ou", "est", "mon", "colis"]


def test_reciprocal_rank_fusion_prefers_agreement():
    fused = fuse([1, 2, 3], [3, 4])
    assert [article_id for article_id, _, _ in fused] == [3, 1, 2, 4]
    assert fused[0][2] == [3, 1]
    assert fused[0][1] == pytest.approx(1 / 63 + 1 / 61)


def test_lexical_mode_says_why(desk, help_center, lexical_only):
    result = search.search(desk.id, "return", audience="public")
    assert result.mode == "lexical" and "KNOWLEDGE_SEMANTIC" in result.note


# ---- semantic search (the ml extra) --------------------------------------------------------------


@pytest.fixture
def embedded(desk, help_center):
    need_ml()
    assert services.embed_stale(workspace_id=desk.id) == len(help_center)  # drafts too: ready when published
    return help_center


def test_hybrid_search_finds_a_paraphrase_with_no_word_in_common(desk, embedded):
    result = search.search(desk.id, "my parcel hasn't shown up, where is it?", audience="public")
    assert result.mode == "hybrid" and result.note == ""
    top = result.hits[0]
    assert top.article_id == embedded["tracking"].pk and top.semantic_rank == 1
    lexical = search.search(desk.id, "when does my money come back", audience="public")
    assert lexical.hits[0].article_id == embedded["refunds"].pk


def test_hybrid_search_respects_audience_and_locale(desk, embedded):
    public = ids(search_articles(desk.id, "can agents give a credit when delivery was late"))
    assert embedded["internal"].pk not in public
    agents = search_articles(desk.id, "can agents give a credit when delivery was late", audience="all")
    assert agents[0].article_id == embedded["internal"].pk and agents[0].url == \
        f"/knowledge/articles/{embedded['internal'].pk}/"
    french = ids(search_articles(desk.id, "je veux renvoyer mes chaussures", locale="fr"))
    assert french == [embedded["returns_fr"].pk]
    assert embedded["draft"].pk not in ids(search_articles(desk.id, "gift cards expire", audience="all"))


def test_the_matrix_follows_changes_made_by_another_process(desk, embedded):
    query = "do gift cards expire"
    assert embedded["draft"].pk not in ids(search_articles(desk.id, query))
    # Another process publishes: only the database's version moves; this process's cache must notice.
    services.publish_article(actor=desk.supervisor_actor, article=embedded["draft"])
    assert ids(search_articles(desk.id, query))[0] == embedded["draft"].pk
    services.unpublish_article(actor=desk.supervisor_actor, article=embedded["draft"])
    assert embedded["draft"].pk not in ids(search_articles(desk.id, query))
    assert KnowledgeIndex.objects.get(workspace_id=desk.id).version > 0


def test_a_search_reads_three_times_from_the_database(desk, embedded, django_assert_num_queries):
    search_articles(desk.id, "return my boots")  # builds the matrix and loads the model
    with django_assert_num_queries(3):  # the index version, the full-text ranking, the hits' rows
        search_articles(desk.id, "how to return boots")


def test_unrelated_queries_find_no_semantic_match(desk, embedded):
    hits = search_articles(desk.id, "quantum chromodynamics lattice gauge theory")
    assert hits == []
