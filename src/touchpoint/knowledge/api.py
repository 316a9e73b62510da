"""API for the knowledge base: articles (with revisions), categories, search, the composer's suggestions
and the deflection figures. Supervisors and admins write; agents read published articles, internal
ones included."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from touchpoint.conversations.schemas import PageQuery
from touchpoint.conversations.selectors import access_conversation
from touchpoint.core.api import Id, Keyset, Page, actor, page_of
from touchpoint.core.permissions import Role
from touchpoint.knowledge import deflection, selectors, services
from touchpoint.knowledge.locales import normalize_locale
from touchpoint.knowledge.models import Article, Category
from touchpoint.knowledge.schemas import (
    ArticleIn,
    ArticleOut,
    ArticlePatch,
    ArticleQuery,
    ArticleSummaryOut,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    CategoryQuery,
    DeflectionOut,
    DeflectionQuery,
    RevisionOut,
    SearchOut,
    SearchQuery,
    SuggestionQuery,
)
from touchpoint.knowledge.search import SearchResult, highlight

router = Router(tags=["knowledge base"])

ARTICLES = Keyset("knowledge.articles", "created_at", descending=False)
CATEGORIES = Keyset("knowledge.categories", "created_at", descending=False)
REVISIONS = Keyset("knowledge.revisions", "replaced_at", descending=True)


def _article(request: HttpRequest, article_id: int) -> Article:
    return selectors.access_article(actor(request), article_id)


def _full(request: HttpRequest, article_id: int) -> Article:
    article = _article(request, article_id)
    article.workspace  # noqa: B018  (one query, for the article's address)
    return article


def _category(request: HttpRequest, category_id: int) -> Category:
    return selectors.access_category(actor(request), category_id)


# ---- articles ------------------------------------------------------------------------------------


@router.get("/knowledge/articles", response=Page[ArticleSummaryOut], summary="List articles")
def list_articles(request: HttpRequest, params: Query[ArticleQuery]) -> dict:
    """Supervisors and admins see drafts too; agents see published articles, public and internal."""
    qs = selectors.articles_for(actor(request)).select_related("category", "author", "workspace")
    if params.status:
        qs = qs.filter(status=params.status)
    if params.audience:
        qs = qs.filter(audience=params.audience)
    if params.locale:
        qs = qs.filter(locale=normalize_locale(params.locale))
    if params.category_id:
        qs = qs.filter(category_id=params.category_id)
    return page_of(ARTICLES, qs, cursor=params.cursor, limit=params.limit)


@router.post("/knowledge/articles", response={201: ArticleOut}, summary="Write an article (supervisor)")
def create_article(request: HttpRequest, payload: ArticleIn) -> Status:
    who = actor(request)
    category = selectors.access_category(who, payload.category_id) if payload.category_id else None
    original = selectors.access_article(who, payload.translation_of_id) if payload.translation_of_id else None
    article = services.create_article(
        actor=who, title=payload.title, body=payload.body, locale=payload.locale, category=category, slug=payload.slug,
        audience=payload.audience, status=payload.status, translation_of=original, position=payload.position,
    )
    return Status(201, _full(request, article.pk))


@router.get("/knowledge/articles/{article_id}", response=ArticleOut, summary="Read an article")
def get_article(request: HttpRequest, article_id: Id) -> Article:
    return _full(request, article_id)


@router.patch("/knowledge/articles/{article_id}", response=ArticleOut, summary="Change an article (supervisor)")
def update_article(request: HttpRequest, article_id: Id, payload: ArticlePatch) -> Article:
    """A change of title or body keeps the replaced version as a revision. A published article's change
    is live at once."""
    who = actor(request)
    article = _article(request, article_id)
    given = payload.model_fields_set
    changes: dict[str, Any] = {}
    if "category_id" in given:
        changes["category"] = selectors.access_category(who, payload.category_id) if payload.category_id else None
    if "translation_of_id" in given:
        changes["translation_of"] = (selectors.access_article(who, payload.translation_of_id)
                                     if payload.translation_of_id else None)
    services.update_article(actor=who, article=article, title=payload.title, body=payload.body, slug=payload.slug,
                            audience=payload.audience, locale=payload.locale, position=payload.position, **changes)
    return _full(request, article_id)


@router.delete("/knowledge/articles/{article_id}", response={204: None}, summary="Delete an article (supervisor)")
def delete_article(request: HttpRequest, article_id: Id) -> Status:
    """With its revisions, views and answers; unpublish it instead to keep them."""
    services.delete_article(actor=actor(request), article=_article(request, article_id))
    return Status(204, None)


@router.post("/knowledge/articles/{article_id}/publish", response=ArticleOut, summary="Publish an article (supervisor)")
def publish_article(request: HttpRequest, article_id: Id) -> Article:
    services.publish_article(actor=actor(request), article=_article(request, article_id))
    return _full(request, article_id)


@router.post("/knowledge/articles/{article_id}/unpublish", response=ArticleOut,
             summary="Take an article off the help center (supervisor)")
def unpublish_article(request: HttpRequest, article_id: Id) -> Article:
    services.unpublish_article(actor=actor(request), article=_article(request, article_id))
    return _full(request, article_id)


@router.get("/knowledge/articles/{article_id}/revisions", response=Page[RevisionOut],
            summary="An article's earlier versions")
def list_revisions(request: HttpRequest, article_id: Id, params: Query[PageQuery]) -> dict:
    """Newest first. The current version is the article itself."""
    article = _article(request, article_id)
    return page_of(REVISIONS, selectors.revisions_of(article), cursor=params.cursor, limit=params.limit)


@router.post("/knowledge/articles/{article_id}/revisions/{revision_id}/restore", response=ArticleOut,
             summary="Bring back an earlier version (supervisor)")
def restore_revision(request: HttpRequest, article_id: Id, revision_id: Id) -> Article:
    """The current version becomes a revision in its turn, so a restore can be undone."""
    who = actor(request)
    article = _article(request, article_id)
    services.restore_revision(actor=who, article=article, revision=selectors.access_revision(who, article, revision_id))
    return _full(request, article_id)


# ---- categories ----------------------------------------------------------------------------------


@router.get("/knowledge/categories", response=Page[CategoryOut], summary="List categories")
def list_categories(request: HttpRequest, params: Query[CategoryQuery]) -> dict:
    qs = selectors.categories_for(actor(request))
    if params.locale:
        qs = qs.filter(locale=normalize_locale(params.locale))
    return page_of(CATEGORIES, qs, cursor=params.cursor, limit=params.limit)


@router.post("/knowledge/categories", response={201: CategoryOut}, summary="Create a category (supervisor)")
def create_category(request: HttpRequest, payload: CategoryIn) -> Status:
    category = services.create_category(actor=actor(request), name=payload.name, locale=payload.locale,
                                         slug=payload.slug, description=payload.description, position=payload.position)
    return Status(201, category)


@router.get("/knowledge/categories/{category_id}", response=CategoryOut, summary="Read a category")
def get_category(request: HttpRequest, category_id: Id) -> Category:
    return _category(request, category_id)


@router.patch("/knowledge/categories/{category_id}", response=CategoryOut, summary="Change a category (supervisor)")
def update_category(request: HttpRequest, category_id: Id, payload: CategoryPatch) -> Category:
    return services.update_category(actor=actor(request), category=_category(request, category_id), name=payload.name,
                                    slug=payload.slug, description=payload.description, position=payload.position)


@router.delete("/knowledge/categories/{category_id}", response={204: None}, summary="Delete a category (supervisor)")
def delete_category(request: HttpRequest, category_id: Id) -> Status:
    """Its articles stay, without a category."""
    services.delete_category(actor=actor(request), category=_category(request, category_id))
    return Status(204, None)


# ---- search and suggestions ----------------------------------------------------------------------


def _search_out(query: str, result: SearchResult) -> dict:
    return {
        "query": query, "mode": result.mode, "note": result.note,
        "items": [{**hit._asdict(), "snippet_html": highlight(hit.snippet, result.terms),
                   "locale": result.locales.get(hit.article_id, ""),
                   "audience": result.audiences.get(hit.article_id, "public")} for hit in result.hits],
    }


@router.get("/knowledge/search", response=SearchOut, summary="Search the knowledge base")
def search_articles(request: HttpRequest, params: Query[SearchQuery]) -> dict:
    """Published articles only. Full text (title weighted above body) fused with semantic similarity when
    the ml extra is installed (`mode` says which ran); snippets with the matched words marked."""
    result = selectors.agent_search(actor(request), params.q, locale=params.locale, audience=params.audience,
                                    limit=params.limit)
    return _search_out(params.q, result)


@router.get("/conversations/{conversation_id}/article-suggestions", response=SearchOut,
            summary="Articles for a conversation")
def article_suggestions(request: HttpRequest, conversation_id: Id, params: Query[SuggestionQuery]) -> dict:
    """Found from the conversation's subject and the customer's latest messages (`query` shows what was
    searched), internal articles included; in the customer's language when there are articles in it."""
    who = actor(request)
    found = selectors.suggestions_for(who, access_conversation(who, conversation_id), limit=params.limit)
    return _search_out(found.query, found.result)


# ---- deflection ----------------------------------------------------------------------------------


@router.get("/knowledge/deflection", response=DeflectionOut, summary="Deflection figures (supervisor)")
def deflection_figures(request: HttpRequest, params: Query[DeflectionQuery]) -> dict:
    """Help-center sessions not followed by a conversation within `window_hours`, per-article views and
    helpful answers, and the searches that found nothing. Definitions: touchpoint.knowledge.deflection."""
    who = actor(request)
    who.require(Role.SUPERVISOR)
    figures = deflection.deflection(who.workspace_id, since=params.since, until=params.until,
                                    window_hours=params.window_hours)
    return {
        **{name: getattr(figures, name) for name in (
            "since", "until", "window_hours", "searches", "searches_without_result", "article_views", "visitors",
            "sessions", "pending_sessions", "sessions_with_conversation", "deflected_sessions", "deflection_rate")},
        "articles": [{**vars(a), "helpful_rate": a.helpful_rate} for a in figures.articles],
        "content_gaps": [vars(g) for g in figures.content_gaps],
    }
