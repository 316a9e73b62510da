"""Reads of the knowledge base that more than one caller needs: the agent side (API, composer), the
public help center, and the bot.

Who sees what:
- supervisors and admins: every article, drafts included;
- agents: published articles, public and internal;
- the public (help center, bot): published public articles only.
"""

from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Count, Prefetch, Q, QuerySet

from touchpoint.accounts.models import Workspace
from touchpoint.conversations.models import Conversation, Message, MessageKind
from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Actor, Role
from touchpoint.knowledge import search
from touchpoint.knowledge.locales import DEFAULT_LOCALE, is_locale, language_of, normalize_locale
from touchpoint.knowledge.models import Article, ArticleRevision, ArticleStatus, Audience, Category
from touchpoint.knowledge.search import ArticleHit, SearchResult, article_url

SUGGESTION_MESSAGES = 3  # the customer's latest messages that make the composer's query
SUGGESTION_CHARS = 400


# ---- the agent side ------------------------------------------------------------------------------


def articles_for(actor: Actor) -> QuerySet[Article]:
    qs = Article.objects.filter(workspace_id=actor.workspace_id)
    if actor.can(Role.SUPERVISOR):
        return qs
    return qs.filter(status=ArticleStatus.PUBLISHED)


def access_article(actor: Actor, article_id: int) -> Article:
    found = articles_for(actor).filter(pk=article_id).select_related("category", "author").first()
    if found is None:
        raise NotFound(f"No article with id {article_id} in this workspace.")
    return found


def categories_for(actor: Actor) -> QuerySet[Category]:
    return Category.objects.filter(workspace_id=actor.workspace_id)


def access_category(actor: Actor, category_id: int) -> Category:
    found = categories_for(actor).filter(pk=category_id).first()
    if found is None:
        raise NotFound(f"No category with id {category_id} in this workspace.")
    return found


def revisions_of(article: Article) -> QuerySet[ArticleRevision]:
    return article.revisions.select_related("author").order_by("-number")


def access_revision(actor: Actor, article: Article, revision_id: int) -> ArticleRevision:
    found = ArticleRevision.objects.filter(workspace_id=actor.workspace_id, article=article, pk=revision_id).first()
    if found is None:
        raise NotFound(f"Article {article.pk} has no revision with id {revision_id}.")
    return found


def agent_search(actor: Actor, query: str, *, locale: str | None = None, audience: str = "all",
                 limit: int = 10) -> SearchResult:
    """What an agent finds: published articles, internal ones included unless `audience="public"`."""
    return search.search(actor.workspace_id, query, locale=locale, audience=audience, limit=limit)


@dataclass(frozen=True)
class Suggestions:
    query: str  # what was searched: the subject and the customer's latest words
    result: SearchResult


def suggestions_for(actor: Actor, conversation: Conversation, *, limit: int = 5) -> Suggestions:
    """Articles for the open conversation, found from its subject and the customer's latest messages, in
    the customer's language when the knowledge base has articles in it."""
    if conversation.workspace_id != actor.workspace_id:
        raise NotFound(f"No conversation with id {conversation.pk} in this workspace.")
    texts = list(Message.objects.filter(conversation=conversation, kind=MessageKind.INCOMING)
                 .order_by("-created_at", "-id").values_list("content_text", flat=True)[:SUGGESTION_MESSAGES])
    query = " ".join([conversation.subject, *reversed(texts)]).strip()
    query = " ".join(query.split())[-SUGGESTION_CHARS:]
    language = language_of(conversation.customer.language) if conversation.customer.language else ""
    locale = language if language and is_locale(language) and _has_language(actor.workspace_id, language) else None
    return Suggestions(query=query, result=search.search(actor.workspace_id, query, locale=locale, audience="all",
                                                          limit=limit))


def _has_language(workspace_id: int, language: str) -> bool:
    return Article.objects.filter(Q(locale=language) | Q(locale__startswith=f"{language}-"), workspace_id=workspace_id,
                                  status=ArticleStatus.PUBLISHED).exists()


# ---- for the bot ---------------------------------------------------------------------------------


def search_articles(workspace_id: int, query: str, *, locale: str | None = None, audience: str = "public",
                    limit: int = 5) -> list[ArticleHit]:
    """The best published articles for a customer's words, best first; [] for an empty knowledge base or
    a query with nothing to look for. Only the first 500 characters of the query are read. A locale keeps
    to its language ("en-GB" finds "en" articles too); an unknown locale is refused (ValidationFailed).
    `audience` is "public" (customers), "internal" or "all" (agents)."""
    return search.search(workspace_id, query, locale=locale, audience=audience, limit=limit).hits


class ArticleAnswer(NamedTuple):
    title: str
    first_paragraph: str  # plain text
    url: str


def article_answer(workspace_id: int, article_id: int) -> ArticleAnswer:
    """What the bot says from an article: its title, first paragraph and the public link. Only published
    public articles are answered from; any other id raises NotFound."""
    row = (Article.objects.filter(workspace_id=workspace_id, pk=article_id, status=ArticleStatus.PUBLISHED,
                                  audience=Audience.PUBLIC)
           .values("id", "title", "slug", "locale", "audience", "summary", "workspace__slug").first())
    if row is None:
        raise NotFound(f"No published article with id {article_id} in this workspace.")
    return ArticleAnswer(title=row["title"], first_paragraph=row["summary"], url=article_url(row))


# ---- the public help center ----------------------------------------------------------------------


def help_center_workspace(slug: str) -> Workspace:
    found = Workspace.objects.filter(slug=slug).first()
    if found is None:
        raise NotFound("No help center at this address.")
    return found


def public_articles(workspace_id: int) -> QuerySet[Article]:
    return Article.objects.filter(workspace_id=workspace_id, status=ArticleStatus.PUBLISHED, audience=Audience.PUBLIC)


def help_center_locales(workspace_id: int) -> list[str]:
    """The locales that have published public articles, most articles first (ties by code)."""
    rows = public_articles(workspace_id).values("locale").annotate(n=Count("id")).order_by("-n", "locale")
    return [row["locale"] for row in rows]


def preferred_locale(locales: list[str], accept_language: str) -> str:
    """The visitor's language among the help center's (Accept-Language), else English, else the largest."""
    if not locales:
        return DEFAULT_LOCALE
    for part in accept_language.split(","):
        code = part.split(";")[0].strip()
        if not code or code == "*" or not is_locale(code):
            continue
        wanted = normalize_locale(code)
        for candidate in (wanted, language_of(wanted)):
            if candidate in locales:
                return candidate
        same_language = [loc for loc in locales if language_of(loc) == language_of(wanted)]
        if same_language:
            return same_language[0]
    return DEFAULT_LOCALE if DEFAULT_LOCALE in locales else locales[0]


@dataclass(frozen=True)
class Section:
    category: Category | None  # None: the articles without a category
    articles: list[Article]


def help_center_sections(workspace_id: int, locale: str) -> list[Section]:
    """The home page: each category of the locale with its published public articles, in order; the
    articles without a category last. Two queries."""
    visible = public_articles(workspace_id).filter(locale=locale).only(
        "id", "title", "slug", "summary", "category_id", "position", "locale")
    categories = list(Category.objects.filter(workspace_id=workspace_id, locale=locale)
                      .prefetch_related(Prefetch("articles", queryset=visible, to_attr="visible")))
    sections = [Section(category=c, articles=list(c.visible)) for c in categories if c.visible]  # type: ignore[attr-defined]
    loose = list(visible.filter(category__isnull=True))
    if loose:
        sections.append(Section(category=None, articles=loose))
    return sections


def help_center_category(workspace_id: int, locale: str, slug: str) -> Section:
    category = Category.objects.filter(workspace_id=workspace_id, locale=locale, slug=slug).first()
    if category is None:
        raise NotFound("No such category in this help center.")
    articles = list(public_articles(workspace_id).filter(category=category).only(
        "id", "title", "slug", "summary", "category_id", "position", "locale"))
    return Section(category=category, articles=articles)


def help_center_article(workspace_id: int, locale: str, slug: str) -> Article:
    found = public_articles(workspace_id).filter(locale=locale, slug=slug).select_related("category").first()
    if found is None:
        raise NotFound("No such article in this help center.")
    return found


def translations_of(article: Article) -> dict[str, Article]:
    """The article's published public versions in each locale, itself included."""
    root = article.translation_of_id or article.pk
    found = public_articles(article.workspace_id).filter(Q(pk=root) | Q(translation_of_id=root)).only(
        "id", "slug", "locale", "title")
    return {a.locale: a for a in found}


def related_articles(article: Article, *, limit: int = 5) -> list[Article]:
    """Others of its category, for the article page's "Related articles"."""
    if article.category_id is None:
        return []
    return list(public_articles(article.workspace_id).filter(category_id=article.category_id)
                .exclude(pk=article.pk).only("id", "title", "slug", "locale")[:limit])
