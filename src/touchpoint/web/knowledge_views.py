"""The knowledge base in the agent workspace: article suggestions under the composer ("Insert link" puts
the article's title and address into the reply), a page where agents search and read articles (internal
ones included), and the settings pages where supervisors and admins write them (list, create, edit with a
Markdown preview, publish / unpublish, revisions and restore, categories). The services check the role
again; views only parse, call and render."""

from django import forms as django_forms
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from touchpoint.conversations.selectors import access_conversation
from touchpoint.core.errors import DomainError, ValidationFailed
from touchpoint.core.permissions import Role
from touchpoint.knowledge import selectors, services
from touchpoint.knowledge.locales import LANGUAGES, locale_name, normalize_locale
from touchpoint.knowledge.models import Article, ArticleStatus, Audience, Category
from touchpoint.knowledge.render import render_markdown
from touchpoint.knowledge.search import MAX_QUERY, highlight
from touchpoint.knowledge.services import MAX_BODY, MAX_SLUG, MAX_TITLE
from touchpoint.web import forms
from touchpoint.web.access import DeskRequest, desk_view

SETTINGS_URL = "/settings/knowledge/"
SUGGESTIONS = 5


class SearchForm(django_forms.Form):
    q = django_forms.CharField(max_length=MAX_QUERY, required=False)
    locale = django_forms.CharField(max_length=16, required=False)


class ComposerTextForm(django_forms.Form):
    text = django_forms.CharField(max_length=100_000, required=False, strip=False)


class ArticleForm(django_forms.Form):
    title = django_forms.CharField(max_length=MAX_TITLE)
    body = django_forms.CharField(max_length=MAX_BODY, required=False, strip=False)
    locale = django_forms.CharField(max_length=16)
    slug = django_forms.CharField(max_length=MAX_SLUG, required=False)
    category = django_forms.IntegerField(required=False, min_value=1)
    audience = django_forms.ChoiceField(choices=Audience.choices)
    action = django_forms.ChoiceField(choices=[("save", "Save"), ("publish", "Save and publish"), ("preview", "Preview")],
                                      required=False)


class CategoryForm(django_forms.Form):
    name = django_forms.CharField(max_length=120)
    locale = django_forms.CharField(max_length=16)
    description = django_forms.CharField(max_length=500, required=False)


class PreviewForm(django_forms.Form):
    body = django_forms.CharField(max_length=MAX_BODY, required=False, strip=False)


# ---- in the conversation -------------------------------------------------------------------------


@require_safe
@desk_view()
def suggestions(request: DeskRequest, conversation_id: int) -> HttpResponse:
    """The block under the composer, loaded by htmx once the pane is shown."""
    conversation = access_conversation(request.actor, conversation_id)
    found = selectors.suggestions_for(request.actor, conversation, limit=SUGGESTIONS)
    items = [{"hit": hit, "snippet_html": highlight(hit.snippet, found.result.terms),
              "internal": found.result.audiences.get(hit.article_id) == Audience.INTERNAL} for hit in found.result.hits]
    return render(request, "knowledge/desk/_suggestions.html", {
        "conversation": conversation, "items": items, "mode": found.result.mode, "note": found.result.note,
    })


@require_POST
@desk_view()
def insert_link(request: DeskRequest, conversation_id: int, article_id: int) -> HttpResponse:
    """The reply box again, with the article's title and public address added where the text ends."""
    access_conversation(request.actor, conversation_id)
    article = selectors.access_article(request.actor, article_id)
    if not article.is_public:
        raise ValidationFailed("This article is internal (or a draft): customers cannot open it, so its link is not "
                               "inserted. Copy what helps into your reply instead.", code="internal_article")
    text = forms.cleaned(ComposerTextForm(request.POST))["text"]
    url = request.build_absolute_uri(selectors.article_answer(request.actor.workspace_id, article.pk).url)
    link = f"{article.title}: {url}"
    joined = f"{text.rstrip()}\n\n{link}" if text.strip() else link
    return render(request, "knowledge/desk/_composer_text.html", {"text": joined})


# ---- agents: search and read ---------------------------------------------------------------------


@require_safe
@desk_view()
def knowledge_page(request: DeskRequest) -> HttpResponse:
    data = forms.cleaned(SearchForm(request.GET))
    query, locale = data["q"].strip(), data["locale"].strip() or None
    context: dict = {"section": "knowledge", "q": query, "locale": locale or "", "locales": _locale_choices()}
    if query:
        result = selectors.agent_search(request.actor, query, locale=locale, audience="all", limit=20)
        context.update(mode=result.mode, note=result.note, results=[
            {"hit": hit, "snippet_html": highlight(hit.snippet, result.terms),
             "internal": result.audiences.get(hit.article_id) == Audience.INTERNAL,
             "locale": result.locales.get(hit.article_id, "")} for hit in result.hits])
    else:
        context["articles"] = list(selectors.articles_for(request.actor).filter(status=ArticleStatus.PUBLISHED)
                                   .select_related("category").order_by("locale", "category__position", "position",
                                                                         "title")[:500])
    return render(request, "knowledge/desk/knowledge.html", context)


@require_safe
@desk_view()
def knowledge_article(request: DeskRequest, article_id: int) -> HttpResponse:
    article = selectors.access_article(request.actor, article_id)
    return render(request, "knowledge/desk/article.html", {"section": "knowledge", "article": article})


# ---- settings: writing articles ------------------------------------------------------------------


def _locale_choices() -> list[tuple[str, str]]:
    return [(code, f"{locale_name(code)} ({code})") for code in sorted(LANGUAGES)]


def _choices(request: DeskRequest) -> dict:
    return {"section": "knowledge", "locales": _locale_choices(), "audiences": Audience.choices,
            "categories": list(selectors.categories_for(request.actor).order_by("locale", "position", "name"))}


@require_safe
@desk_view(Role.SUPERVISOR)
def knowledge_settings(request: DeskRequest) -> HttpResponse:
    return _settings_page(request)


def _settings_page(request: DeskRequest, status: int = 200, **extra: object) -> HttpResponse:
    articles = (selectors.articles_for(request.actor).select_related("category", "author")
                .order_by("locale", "category__position", "position", "title"))
    return render(request, "knowledge/desk/settings.html", {
        **_choices(request), "articles": list(articles), "category_form": {"locale": "en"}, **extra,
    }, status=status)


@require_http_methods(["GET", "POST"])
@desk_view(Role.SUPERVISOR)
def new_article(request: DeskRequest) -> HttpResponse:
    if request.method == "GET":
        return _article_page(request, None, {"locale": "en", "audience": Audience.PUBLIC})
    return _save_article(request, None)


@require_http_methods(["GET", "POST"])
@desk_view(Role.SUPERVISOR)
def edit_article(request: DeskRequest, article_id: int) -> HttpResponse:
    article = selectors.access_article(request.actor, article_id)
    if request.method == "GET":
        return _article_page(request, article, {
            "title": article.title, "body": article.body, "locale": article.locale, "slug": article.slug,
            "category": article.category_id or "", "audience": article.audience})
    return _save_article(request, article)


def _save_article(request: DeskRequest, article: Article | None) -> HttpResponse:
    kept = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
    try:
        data = forms.cleaned(ArticleForm(request.POST))
        if data["action"] == "preview":
            return _article_page(request, article, kept, preview=render_markdown(data["body"]).html)
        category = selectors.access_category(request.actor, data["category"]) if data["category"] else None
        if article is None:
            article = services.create_article(
                actor=request.actor, title=data["title"], body=data["body"], locale=data["locale"], category=category,
                slug=data["slug"].strip() or None, audience=data["audience"],
                status=ArticleStatus.PUBLISHED if data["action"] == "publish" else ArticleStatus.DRAFT)
        else:
            article = services.update_article(
                actor=request.actor, article=article, title=data["title"], body=data["body"], locale=data["locale"],
                category=category, slug=data["slug"].strip() or None, audience=data["audience"])
            if data["action"] == "publish":
                services.publish_article(actor=request.actor, article=article)
    except DomainError as error:
        if article is not None:
            article.refresh_from_db()
        return _article_page(request, article, kept, error=error.message, status=error.status)
    return redirect(f"{SETTINGS_URL}articles/{article.pk}/?saved=1")


def _article_page(request: DeskRequest, article: Article | None, form: dict, *, preview: str = "", error: str = "",
                  status: int = 200) -> HttpResponse:
    return render(request, "knowledge/desk/settings_article.html", {
        **_choices(request), "article": article, "form": form, "error": error,
        "preview": preview or (article.body_html if article is not None else ""),
        "saved": request.GET.get("saved") == "1",
        "public_url": (selectors.article_answer(request.actor.workspace_id, article.pk).url
                       if article is not None and article.is_public else ""),
        "revision_count": article.revisions.count() if article is not None else 0,
    }, status=status)


@require_POST
@desk_view(Role.SUPERVISOR)
def preview(request: DeskRequest) -> HttpResponse:
    """The Markdown as the help center will show it (htmx, as the supervisor types)."""
    body = forms.cleaned(PreviewForm(request.POST))["body"]
    return render(request, "knowledge/desk/_preview.html", {"preview": render_markdown(body).html})


@require_POST
@desk_view(Role.SUPERVISOR)
def publish(request: DeskRequest, article_id: int) -> HttpResponse:
    services.publish_article(actor=request.actor, article=selectors.access_article(request.actor, article_id))
    return redirect(request.POST.get("next") == "edit" and f"{SETTINGS_URL}articles/{article_id}/" or SETTINGS_URL)


@require_POST
@desk_view(Role.SUPERVISOR)
def unpublish(request: DeskRequest, article_id: int) -> HttpResponse:
    services.unpublish_article(actor=request.actor, article=selectors.access_article(request.actor, article_id))
    return redirect(request.POST.get("next") == "edit" and f"{SETTINGS_URL}articles/{article_id}/" or SETTINGS_URL)


@require_POST
@desk_view(Role.SUPERVISOR)
def delete(request: DeskRequest, article_id: int) -> HttpResponse:
    services.delete_article(actor=request.actor, article=selectors.access_article(request.actor, article_id))
    return redirect(SETTINGS_URL)


@require_safe
@desk_view(Role.SUPERVISOR)
def revisions(request: DeskRequest, article_id: int) -> HttpResponse:
    article = selectors.access_article(request.actor, article_id)
    return render(request, "knowledge/desk/revisions.html", {
        "section": "knowledge", "article": article, "revisions": list(selectors.revisions_of(article)[:200]),
    })


@require_POST
@desk_view(Role.SUPERVISOR)
def restore(request: DeskRequest, article_id: int, revision_id: int) -> HttpResponse:
    article = selectors.access_article(request.actor, article_id)
    services.restore_revision(actor=request.actor, article=article,
                              revision=selectors.access_revision(request.actor, article, revision_id))
    return redirect(f"{SETTINGS_URL}articles/{article_id}/?saved=1")


@require_POST
@desk_view(Role.SUPERVISOR)
def create_category(request: DeskRequest) -> HttpResponse:
    try:
        data = forms.cleaned(CategoryForm(request.POST))
        services.create_category(actor=request.actor, name=data["name"], locale=normalize_locale(data["locale"]),
                                 description=data["description"])
    except DomainError as error:
        kept = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
        return _settings_page(request, error.status, category_error=error.message, category_form=kept)
    return redirect(SETTINGS_URL)


@require_POST
@desk_view(Role.SUPERVISOR)
def delete_category(request: DeskRequest, category_id: int) -> HttpResponse:
    category: Category = selectors.access_category(request.actor, category_id)
    services.delete_category(actor=request.actor, category=category)
    return redirect(SETTINGS_URL)
