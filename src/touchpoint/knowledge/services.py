"""Every write to the knowledge base: categories, articles and their revisions, embeddings, and what the
help center records (searches, article views, "did this help?" answers).

Who may do what: supervisors and admins write categories and articles; agents read them (internal ones
included, through the selectors); the public reads published public articles and leaves searches, views
and answers, which are rate-limited per visitor and per network address.

Every change to an article keeps the previous title and body as a revision, renders and sanitizes the
Markdown once (render.py), and raises the workspace's search version so every process's in-memory
embedding matrix is rebuilt on its next search."""

import hashlib
import math
import re
import time
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils.text import slugify

from touchpoint.core import audit
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, NotFound, ValidationFailed
from touchpoint.core.events import publish
from touchpoint.core.permissions import Actor, Role, check_same_workspace
from touchpoint.knowledge import conf, embeddings
from touchpoint.knowledge.errors import RateLimited
from touchpoint.knowledge.events import ArticleChanged
from touchpoint.knowledge.locales import normalize_locale
from touchpoint.knowledge.models import (
    Article,
    ArticleChunk,
    ArticleFeedback,
    ArticleRevision,
    ArticleStatus,
    ArticleView,
    Audience,
    Category,
    KnowledgeIndex,
    SearchLog,
    SearchSource,
)
from touchpoint.knowledge.render import render_markdown
from touchpoint.knowledge.search import MAX_QUERY, SearchResult

MAX_TITLE = 200
MAX_SLUG = 200
MAX_BODY = 100_000
MAX_CATEGORY_NAME = 120
MAX_DESCRIPTION = 500
MAX_COMMENT = 1000
VIEW_DEDUP_S = 30 * 60  # a reload within half an hour is the same view
SLUG_RE = re.compile(r"^[^\W_](?:[-\w]*[^\W_])?$")
VISITOR_RE = re.compile(r"^[A-Za-z0-9-]{16,64}$")


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()  # an optional argument left as it is (None would mean "no category")


# ---- categories ----------------------------------------------------------------------------------


@transaction.atomic
def create_category(*, actor: Actor, name: str, locale: str, slug: str | None = None, description: str = "",
                    position: int | None = None) -> Category:
    actor.require(Role.SUPERVISOR)
    locale = normalize_locale(locale)
    name = _category_name(name)
    at = now()
    if position is None:
        position = (Category.objects.filter(workspace_id=actor.workspace_id, locale=locale)
                    .aggregate(last=Max("position"))["last"] or 0) + 1
    category = Category(workspace_id=actor.workspace_id, locale=locale, name=name, description=_description(description),
                        slug=_given_slug(slug) if slug else _free_slug(Category, actor.workspace_id, locale, name),
                        position=_position(position), created_at=at, updated_at=at)
    _save_unique(category, f"A category with the address {category.slug!r} exists in {locale} already; choose another slug.")
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="knowledge.category_created",
                 obj=category, data={"name": category.name, "locale": locale})
    return category


@transaction.atomic
def update_category(*, actor: Actor, category: Category, name: str | None = None, slug: str | None = None,
                    description: str | None = None, position: int | None = None) -> Category:
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, category)
    if name is not None:
        category.name = _category_name(name)
    if slug is not None:
        category.slug = _given_slug(slug)
    if description is not None:
        category.description = _description(description)
    if position is not None:
        category.position = _position(position)
    category.updated_at = now()
    _save_unique(category, f"A category with the address {category.slug!r} exists in {category.locale} already; "
                           "choose another slug.")
    _bump(actor.workspace_id)  # search results show no category, but the help center pages do
    return category


@transaction.atomic
def delete_category(*, actor: Actor, category: Category) -> None:
    """Its articles stay, without a category (the help center lists them under "Other articles")."""
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, category)
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="knowledge.category_deleted",
                 obj=category, data={"name": category.name, "locale": category.locale})
    category.delete()
    _bump(actor.workspace_id)


# ---- articles ------------------------------------------------------------------------------------


@transaction.atomic
def create_article(
    *, actor: Actor, title: str, body: str, locale: str, category: Category | None = None, slug: str | None = None,
    audience: str = Audience.PUBLIC, status: str = ArticleStatus.DRAFT, translation_of: Article | None = None,
    position: int | None = None,
) -> Article:
    """A new article, a draft unless `status="published"`. Without a slug one is made from the title
    (with -2, -3 … when taken); a slug that is given and taken is refused (409)."""
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, category, translation_of)
    locale = normalize_locale(locale)
    title = clean_title(title)
    at = now()
    article = Article(
        workspace_id=actor.workspace_id, locale=locale, title=title, audience=_audience(audience),
        slug=_given_slug(slug) if slug else _free_slug(Article, actor.workspace_id, locale, title),
        category=_category_for(category, locale), translation_of=_translation_root(translation_of, locale),
        position=_position(position) if position is not None else 0, author_id=actor.membership_id,
        created_at=at, updated_at=at,
    )
    render_body_into(article, title, _body(body))
    if _status(status) == ArticleStatus.PUBLISHED:
        _check_publishable(article)
        article.status, article.published_at = ArticleStatus.PUBLISHED, at
    _save_unique(article, _slug_taken(article))
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="knowledge.article_created",
                 obj=article, data={"title": article.title, "locale": locale, "status": article.status})
    _changed(actor.workspace_id, article, "created", content_changed=True)
    return article


@transaction.atomic
def update_article(
    *, actor: Actor, article: Article, title: str | None = None, body: str | None = None, slug: str | None = None,
    category: Category | None = KEEP, audience: str | None = None, locale: str | None = None,
    translation_of: Article | None = KEEP, position: int | None = None,
) -> Article:
    """Change what is given. A change of title or body keeps the version it replaces as a revision.
    A published article stays published: the change is live at once."""
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, article)
    article = _locked(article)
    previous = (article.title, article.body, article.author_id, article.updated_at)
    if locale is not None:
        article.locale = normalize_locale(locale)
    if title is not None:
        article.title = clean_title(title)
    if slug is not None:
        article.slug = _given_slug(slug)
    if audience is not None:
        article.audience = _audience(audience)
    if position is not None:
        article.position = _position(position)
    if category is not KEEP:
        check_same_workspace(actor, category)
        article.category = category
    if translation_of is not KEEP:
        check_same_workspace(actor, translation_of)
        article.translation_of = _translation_root(translation_of, article.locale, article)
    article.category = _category_for(article.category, article.locale)
    content_changed = (article.title, body if body is not None else article.body) != previous[:2]
    if body is not None:
        _body(body)
    if content_changed:
        _keep_revision(actor, article, *previous)
        render_body_into(article, article.title, body if body is not None else article.body)
        article.author_id = actor.membership_id
    if article.status == ArticleStatus.PUBLISHED:
        _check_publishable(article)
    article.updated_at = now()
    _save_unique(article, _slug_taken(article))
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="knowledge.article_updated",
                 obj=article, data={"title": article.title, "content_changed": content_changed})
    _changed(actor.workspace_id, article, "updated", content_changed=content_changed)
    return article


@transaction.atomic
def publish_article(*, actor: Actor, article: Article) -> Article:
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, article)
    article = _locked(article)
    if article.status == ArticleStatus.PUBLISHED:
        return article  # publishing twice changes nothing
    _check_publishable(article)
    article.status = ArticleStatus.PUBLISHED
    article.published_at = article.updated_at = now()
    article.save(update_fields=["status", "published_at", "updated_at"])
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="knowledge.article_published",
                 obj=article, data={"title": article.title})
    _changed(actor.workspace_id, article, "published", content_changed=False)
    return article


@transaction.atomic
def unpublish_article(*, actor: Actor, article: Article) -> Article:
    """Back to draft: gone from the help center, search and the bot at once; its history stays."""
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, article)
    article = _locked(article)
    if article.status == ArticleStatus.DRAFT:
        return article
    article.status = ArticleStatus.DRAFT
    article.updated_at = now()
    article.save(update_fields=["status", "updated_at"])
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="knowledge.article_unpublished",
                 obj=article, data={"title": article.title})
    _changed(actor.workspace_id, article, "unpublished", content_changed=False)
    return article


@transaction.atomic
def delete_article(*, actor: Actor, article: Article) -> None:
    """Gone with its revisions, views and answers (unpublish instead to keep them)."""
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, article)
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="knowledge.article_deleted",
                 obj=article, data={"title": article.title, "locale": article.locale, "slug": article.slug})
    article_id = article.pk
    article.delete()
    _bump(actor.workspace_id)
    publish(ArticleChanged(workspace_id=actor.workspace_id, article_id=article_id, change="deleted", content_changed=False))


@transaction.atomic
def restore_revision(*, actor: Actor, article: Article, revision: ArticleRevision) -> Article:
    """Bring back an earlier title and body. The current version becomes a revision in its turn, so a
    restore can itself be undone."""
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, article, revision)
    if revision.article_id != article.pk:
        raise NotFound(f"Article {article.pk} has no revision {revision.pk}.")
    article = _locked(article)
    if (article.title, article.body) == (revision.title, revision.body):
        return article
    _keep_revision(actor, article, article.title, article.body, article.author_id, article.updated_at)
    article.title = revision.title
    render_body_into(article, revision.title, revision.body)
    article.author_id = actor.membership_id
    article.updated_at = now()
    article.save()
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="knowledge.article_restored",
                 obj=article, data={"revision": revision.number})
    _changed(actor.workspace_id, article, "restored", content_changed=True)
    return article


def _locked(article: Article) -> Article:
    return Article.objects.select_for_update(of=("self",)).select_related("category").get(pk=article.pk)


def _keep_revision(actor: Actor, article: Article, title: str, body: str, author_id: int | None, saved_at: Any) -> None:
    number = (ArticleRevision.objects.filter(article=article).aggregate(last=Max("number"))["last"] or 0) + 1
    ArticleRevision.objects.create(workspace_id=article.workspace_id, article=article, number=number, title=title,
                                   body=body, author_id=author_id, saved_at=saved_at, replaced_at=now())


def render_body_into(article: Article, title: str, body: str) -> None:
    rendered = render_markdown(body)
    article.body = body
    article.body_html = rendered.html
    article.body_text = rendered.text
    article.summary = rendered.summary
    article.content_hash = hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest()


def _changed(workspace_id: int, article: Article, change: str, *, content_changed: bool) -> None:
    _bump(workspace_id)
    publish(ArticleChanged(workspace_id=workspace_id, article_id=article.pk, change=change,
                           content_changed=content_changed))


def _bump(workspace_id: int) -> None:
    """Raise the workspace's search version: every process rebuilds its matrix on its next search."""
    if not KnowledgeIndex.objects.filter(workspace_id=workspace_id).update(version=F("version") + 1):
        try:
            with transaction.atomic():
                KnowledgeIndex.objects.create(workspace_id=workspace_id, version=1)
        except IntegrityError:  # made by a concurrent first change
            KnowledgeIndex.objects.filter(workspace_id=workspace_id).update(version=F("version") + 1)


# ---- embeddings ----------------------------------------------------------------------------------


def embed_article(*, article_id: int) -> bool:
    """Compute and store the article's passage embeddings if its text changed since the last time.
    Returns whether it did. Nothing happens without the ml extra (search is then lexical)."""
    if not embeddings.available():
        return False
    article = Article.objects.filter(pk=article_id).values("title", "body_text", "content_hash", "embedded_hash",
                                                           "workspace_id").first()
    if article is None or article["content_hash"] == article["embedded_hash"]:
        return False
    texts = embeddings.chunk_texts(article["title"], article["body_text"])
    vectors = embeddings.encode(texts)  # outside the transaction: the model takes its time
    with transaction.atomic():
        current = Article.objects.select_for_update().filter(pk=article_id).values_list("content_hash", flat=True).first()
        if current != article["content_hash"]:
            return False  # edited meanwhile: that edit's own task embeds the new text
        ArticleChunk.objects.filter(article_id=article_id).delete()
        ArticleChunk.objects.bulk_create([
            ArticleChunk(workspace_id=article["workspace_id"], article_id=article_id, position=n, text=text,
                         vector=embeddings.to_bytes(vector), model=embeddings.MODEL_NAME)
            for n, (text, vector) in enumerate(zip(texts, vectors, strict=True))
        ])
        Article.objects.filter(pk=article_id).update(embedded_hash=article["content_hash"])
        _bump(article["workspace_id"])
    return True


def embed_stale(*, workspace_id: int | None = None, batch: int = 64) -> int:
    """Embed every article whose text changed since its embeddings were made (all, the first time).
    Articles are encoded a batch at a time; returns how many were embedded."""
    if not embeddings.available():
        return 0
    stale = Article.objects.exclude(embedded_hash=F("content_hash"))
    if workspace_id is not None:
        stale = stale.filter(workspace_id=workspace_id)
    done = 0
    for article_id in list(stale.order_by("id").values_list("id", flat=True)):
        done += embed_article(article_id=article_id)
    return done


# ---- what the help center records ----------------------------------------------------------------


def visitor_key_or_none(value: str | None) -> str | None:
    """A visitor key as the widget and the help center make them (UUID-like); anything else is dropped."""
    return value if value and VISITOR_RE.match(value) else None


def record_search(*, workspace_id: int, query: str, result: SearchResult, locale: str | None = None,
                  source: str = SearchSource.HELP_CENTER, visitor_key: str = "", customer_id: int | None = None) -> SearchLog:
    """A customer's search, for the content gaps (no result) and deflection. The bot logs its own with
    source="bot"."""
    if source not in SearchSource.values:
        raise ValidationFailed(f"Unknown search source {source!r}; use one of {', '.join(SearchSource.values)}.",
                               field="source")
    query = query.strip()[:MAX_QUERY]
    return SearchLog.objects.create(
        workspace_id=workspace_id, source=source, query=query, normalized_query=normalize_query(query),
        locale=locale or "", mode=result.mode, results_count=len(result.hits),
        top_article_ids=[hit.article_id for hit in result.hits[:5]], visitor_key=visitor_key_or_none(visitor_key) or "",
        customer_id=customer_id, at=now(),
    )


def normalize_query(query: str) -> str:
    """How the content gaps group searches: lower-case, single spaces."""
    return " ".join(query.lower().split())[:MAX_QUERY]


def record_view(*, article: Article, visitor_key: str, customer_id: int | None = None) -> ArticleView | None:
    """An article page shown to a visitor; a reload within half an hour is not counted again."""
    visitor_key = visitor_key_or_none(visitor_key) or ""
    if not visitor_key or not article.is_public:
        return None
    at = now()
    recent = ArticleView.objects.filter(article=article, visitor_key=visitor_key,
                                        at__gte=at - _seconds(VIEW_DEDUP_S)).exists()
    if recent:
        return None
    return ArticleView.objects.create(workspace_id=article.workspace_id, article=article, visitor_key=visitor_key,
                                      customer_id=customer_id, at=at)


def record_feedback(*, article: Article, visitor_key: str, helpful: bool, comment: str = "", address: str = "",
                    customer_id: int | None = None) -> ArticleFeedback:
    """A visitor's "Did this help?". One answer per visitor and article (answering again replaces it);
    at most KNOWLEDGE_FEEDBACK_PER_HOUR answers per visitor and KNOWLEDGE_FEEDBACK_PER_HOUR_PER_IP per
    address in an hour (429 beyond)."""
    visitor_key = visitor_key_or_none(visitor_key) or ""
    if not visitor_key:
        raise ValidationFailed("Your browser sent no visitor cookie; allow cookies for this site to answer.",
                               field="visitor")
    if not article.is_public:
        raise NotFound("No such article.")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(f"A comment is at most {MAX_COMMENT} characters; this one has {len(comment)}.",
                               field="comment")
    check_rate(f"kb-feedback:v:{visitor_key}", conf.feedback_per_hour(), 3600, "answers")
    if address:
        check_rate(f"kb-feedback:ip:{address}", conf.feedback_per_hour_per_address(), 3600, "answers")
    at = now()
    with transaction.atomic():
        feedback, created = ArticleFeedback.objects.select_for_update().get_or_create(
            article=article, visitor_key=visitor_key,
            defaults={"workspace_id": article.workspace_id, "helpful": helpful, "comment": comment,
                      "customer_id": customer_id, "created_at": at, "updated_at": at},
        )
        if not created:
            # A new comment replaces the old; a changed answer without one drops the old comment.
            feedback.comment = comment or (feedback.comment if helpful == feedback.helpful else "")
            feedback.helpful = helpful
            feedback.updated_at = at
            feedback.save(update_fields=["helpful", "comment", "updated_at"])
    return feedback


def check_rate(key: str, limit: int, window_s: int, noun: str) -> None:
    """A fixed window counted in the shared cache (Redis when scaled out), as the widget counts messages."""
    at = time.time()
    bucket = f"{key}:{int(at // window_s)}"
    cache.add(bucket, 0, timeout=window_s + 30)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=window_s + 30)
        count = 1
    if count > limit:
        retry_after = max(1, window_s - int(at) % window_s)
        per = "a minute" if window_s == 60 else "an hour" if window_s == 3600 else f"per {window_s} s"
        raise RateLimited(f"Slow down: at most {limit} {noun} {per}. Try again in {_wait(retry_after)}.",
                          retry_after=retry_after)


def _wait(seconds: int) -> str:
    return f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"


def _seconds(value: int) -> Any:
    from datetime import timedelta

    return timedelta(seconds=value)


# ---- checks --------------------------------------------------------------------------------------


def clean_title(value: str) -> str:
    title = " ".join((value or "").split())
    if not title or len(title) > MAX_TITLE:
        raise ValidationFailed(f"An article's title is 1–{MAX_TITLE} characters.", field="title")
    return title


def _body(value: str) -> str:
    if len(value) > MAX_BODY:
        raise ValidationFailed(f"An article's body is at most {MAX_BODY:,} characters; this one has {len(value):,}. "
                               "Split it into several articles.", field="body")
    return value


def _category_name(value: str) -> str:
    name = " ".join((value or "").split())
    if not name or len(name) > MAX_CATEGORY_NAME:
        raise ValidationFailed(f"A category's name is 1–{MAX_CATEGORY_NAME} characters.", field="name")
    return name


def _description(value: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_DESCRIPTION:
        raise ValidationFailed(f"A description is at most {MAX_DESCRIPTION} characters.", field="description")
    return value


def _position(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1_000_000:
        raise ValidationFailed("A position is a whole number from 0 to 1,000,000.", field="position")
    return value


def _audience(value: str) -> str:
    if value not in Audience.values:
        raise ValidationFailed(f"Unknown audience {value!r}; use public (the help center) or internal (agents only).",
                               field="audience")
    return value


def _status(value: str) -> str:
    if value not in ArticleStatus.values:
        raise ValidationFailed(f"Unknown status {value!r}; use draft or published.", field="status")
    return value


def _given_slug(value: str) -> str:
    slug = value.strip().lower()
    if not SLUG_RE.match(slug) or len(slug) > MAX_SLUG:
        raise ValidationFailed(f"The slug {value!r} is not usable in an address: use letters, digits and hyphens "
                               f"(at most {MAX_SLUG}), e.g. returns-and-refunds.", code="invalid_slug", field="slug")
    return slug


def _free_slug(model: type[Article] | type[Category], workspace_id: int, locale: str, title: str) -> str:
    base = slugify(title, allow_unicode=True)[:MAX_SLUG - 8].strip("-_") or ("article" if model is Article else "category")
    taken = set(model.objects.filter(workspace_id=workspace_id, locale=locale, slug__startswith=base)
                .values_list("slug", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _slug_taken(article: Article) -> str:
    return f"The address {article.slug!r} is taken by another {article.locale} article; choose another slug."


def _category_for(category: Category | None, locale: str) -> Category | None:
    if category is not None and category.locale != locale:
        raise ValidationFailed(f"The category {category.name!r} is for {category.locale} articles, and this article is "
                               f"{locale}; choose a {locale} category or none.", code="category_locale", field="category_id")
    return category


def _translation_root(original: Article | None, locale: str, article: Article | None = None) -> Article | None:
    """Translations point at one original, so every language version finds the others through it."""
    if original is None:
        return None
    root = original.translation_of or original
    if article is not None and root.pk == article.pk:
        return None  # the original itself
    if root.locale == locale:
        raise ValidationFailed(f"A translation is in another language than the article it translates ({locale}).",
                               code="translation_locale", field="translation_of_id")
    return root


def _check_publishable(article: Article) -> None:
    if not article.body_text.strip():
        raise ValidationFailed("Write the article's body before publishing it.", code="empty_article", field="body")


def _save_unique(obj: Article | Category, message: str) -> None:
    """Save; the unique index decides a clash (two people saving the same slug at once included)."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise Conflict(message, code="slug_taken", field="slug") from None
