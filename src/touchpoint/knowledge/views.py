"""The public help center: /help/<workspace>/<locale>/ with categories, articles, search and "Did this help?".

Server-rendered HTML with no script at all, readable without signing in; the answer form is a plain POST
with Django's CSRF token and works without JavaScript. Only published public articles are ever shown.

Each visitor carries a random visitor key in a cookie (`tp_visitor`); a link from the chat widget or the
shop may pass the widget's visitor id as `?visitor=<id>`, which then becomes the key, so a later chat
from that browser is recognised as following the help-center visit (see deflection.py). The key only
counts visits; it grants nothing."""

import uuid
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from touchpoint.accounts.models import Workspace
from touchpoint.core.errors import DomainError, NotFound
from touchpoint.knowledge import conf, search, selectors, services
from touchpoint.knowledge.errors import RateLimited
from touchpoint.knowledge.locales import is_locale, locale_name, normalize_locale
from touchpoint.knowledge.models import Article, ArticleFeedback
from touchpoint.knowledge.search import MAX_QUERY, help_center_path, highlight

VISITOR_COOKIE = "tp_visitor"
VISITOR_COOKIE_AGE = 365 * 24 * 3600
SEARCH_RESULTS = 20


class Visit:
    """Who is reading (their visitor key) and which help center, as each page needs them."""

    def __init__(self, request: HttpRequest, workspace_slug: str, locale: str | None = None) -> None:
        self.request = request
        self.workspace: Workspace = selectors.help_center_workspace(workspace_slug)
        self.locales = selectors.help_center_locales(self.workspace.pk)
        self.locale = locale
        given = services.visitor_key_or_none(request.GET.get("visitor"))
        cookie = services.visitor_key_or_none(request.COOKIES.get(VISITOR_COOKIE))
        self.visitor_key = given or cookie or str(uuid.uuid4())
        self.set_cookie = self.visitor_key != cookie

    def context(self, **extra: object) -> dict:
        locale = self.locale or ""
        return {
            "workspace": self.workspace, "locale": locale, "locale_label": locale_name(locale) if locale else "",
            "home_url": help_center_path(self.workspace.slug, locale) if locale else f"/help/{self.workspace.slug}/",
            "search_url": help_center_path(self.workspace.slug, locale) + "search/" if locale else "",
            "switcher": self.switcher(), **extra,
        }

    def switcher(self, targets: dict[str, str] | None = None) -> list[dict]:
        """The other languages of the help center, each to the same page when it exists there."""
        if len(self.locales) < 2:
            return []
        return [{"locale": loc, "name": locale_name(loc), "current": loc == self.locale,
                 "url": (targets or {}).get(loc) or help_center_path(self.workspace.slug, loc)} for loc in self.locales]

    def page(self, template: str, context: dict, status: int = 200) -> HttpResponse:
        response = render(self.request, template, context, status=status)
        return self.finish(response)

    def finish(self, response: HttpResponse) -> HttpResponse:
        if self.set_cookie:
            response.set_cookie(VISITOR_COOKIE, self.visitor_key, max_age=VISITOR_COOKIE_AGE, httponly=True,
                                samesite="Lax", secure=self.request.is_secure())
        return response

    def absolute(self, path: str) -> str:
        return self.request.build_absolute_uri(path)


def _address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _not_found(request: HttpRequest, message: str = "This page does not exist.") -> HttpResponse:
    return render(request, "knowledge/help/not_found.html", {"message": message}, status=404)


def _visit(request: HttpRequest, workspace_slug: str, locale: str | None) -> Visit | HttpResponse:
    try:
        return Visit(request, workspace_slug, locale)
    except NotFound as error:
        return _not_found(request, error.message)


def _canonical_locale(locale: str) -> str | None:
    return normalize_locale(locale) if is_locale(locale) else None


def help_view(view):
    """Resolve the help center and the locale; unknown ones answer 404, a non-canonical locale (EN, en_gb)
    redirects to its canonical address."""

    def wrapper(request: HttpRequest, workspace_slug: str, locale: str, **kwargs) -> HttpResponse:
        canonical = _canonical_locale(locale)
        if canonical is None:
            return _not_found(request, f"This help center has no pages in {locale!r}.")
        if canonical != locale:
            return HttpResponseRedirect(request.get_full_path().replace(f"/{locale}/", f"/{canonical}/", 1), status=301)
        visit = _visit(request, workspace_slug, canonical)
        if isinstance(visit, HttpResponse):
            return visit
        try:
            return view(request, visit, **kwargs)
        except RateLimited as error:
            response = visit.page("knowledge/help/message.html", visit.context(
                title="Slow down", message=error.message), status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        except NotFound as error:
            return visit.finish(_not_found(request, error.message))

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@require_safe
def help_root(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """/help/<workspace>/: to the visitor's language among the help center's (Accept-Language)."""
    visit = _visit(request, workspace_slug, None)
    if isinstance(visit, HttpResponse):
        return visit
    locale = selectors.preferred_locale(visit.locales, request.headers.get("Accept-Language", ""))
    target = help_center_path(visit.workspace.slug, locale)
    if request.GET.get("visitor"):
        target += "?visitor=" + quote(request.GET["visitor"])
    return visit.finish(HttpResponseRedirect(target))


@require_safe
@help_view
def help_home(request: HttpRequest, visit: Visit) -> HttpResponse:
    assert visit.locale is not None
    sections = selectors.help_center_sections(visit.workspace.pk, visit.locale)
    return visit.page("knowledge/help/home.html", visit.context(
        sections=sections, canonical=visit.absolute(help_center_path(visit.workspace.slug, visit.locale)),
        description=f"Answers from {visit.workspace.name}: guides and questions customers ask.",
        alternates=[(loc, visit.absolute(help_center_path(visit.workspace.slug, loc))) for loc in visit.locales],
    ))


@require_safe
@help_view
def help_category(request: HttpRequest, visit: Visit, slug: str) -> HttpResponse:
    assert visit.locale is not None
    section = selectors.help_center_category(visit.workspace.pk, visit.locale, slug)
    category = section.category
    assert category is not None
    path = help_center_path(visit.workspace.slug, visit.locale) + f"categories/{quote(category.slug)}/"
    return visit.page("knowledge/help/category.html", visit.context(
        section=section, canonical=visit.absolute(path),
        description=category.description or f"{category.name}: articles from {visit.workspace.name}.",
    ))


@require_safe
@help_view
def help_article(request: HttpRequest, visit: Visit, slug: str) -> HttpResponse:
    assert visit.locale is not None
    article = selectors.help_center_article(visit.workspace.pk, visit.locale, slug)
    services.record_view(article=article, visitor_key=visit.visitor_key)
    return _article_page(visit, article)


def _article_page(visit: Visit, article: Article, *, error: str = "", comment: str = "", status: int = 200) -> HttpResponse:
    translations = selectors.translations_of(article)
    targets = {loc: help_center_path(visit.workspace.slug, loc, a.slug) for loc, a in translations.items()}
    answer = ArticleFeedback.objects.filter(article=article, visitor_key=visit.visitor_key).first()
    path = help_center_path(visit.workspace.slug, article.locale, article.slug)
    context = visit.context(
        article=article, canonical=visit.absolute(path), description=article.summary, feedback_url=f"{path}feedback/",
        related=[(a, help_center_path(visit.workspace.slug, a.locale, a.slug))
                 for a in selectors.related_articles(article)],
        answer=answer, answered=visit.request.GET.get("answered") == "1", error=error, comment=comment,
        alternates=[(loc, visit.absolute(url)) for loc, url in targets.items()] if len(targets) > 1 else [],
    )
    context["switcher"] = visit.switcher(targets)
    return visit.page("knowledge/help/article.html", context, status=status)


@require_POST
@help_view
def help_feedback(request: HttpRequest, visit: Visit, slug: str) -> HttpResponse:
    """The "Did this help?" form: answer, then back to the article (POST, redirect, GET)."""
    assert visit.locale is not None
    article = selectors.help_center_article(visit.workspace.pk, visit.locale, slug)
    helpful = request.POST.get("helpful")
    comment = request.POST.get("comment", "")
    if helpful not in ("yes", "no"):
        return _article_page(visit, article, error="Choose Yes or No.", comment=comment, status=422)
    if visit.set_cookie:
        return _article_page(visit, article, error="Your browser did not send our cookie; allow cookies for this "
                                                    "site, then answer again.", comment=comment, status=422)
    try:
        services.record_feedback(article=article, visitor_key=visit.visitor_key, helpful=helpful == "yes",
                                 comment=comment, address=_address(request))
    except RateLimited:
        raise
    except DomainError as error:
        return _article_page(visit, article, error=error.message, comment=comment, status=error.status)
    path = help_center_path(visit.workspace.slug, article.locale, article.slug)
    return visit.finish(HttpResponseRedirect(f"{path}?answered=1#feedback", status=303))


@require_safe
@help_view
def help_search(request: HttpRequest, visit: Visit) -> HttpResponse:
    assert visit.locale is not None
    query = request.GET.get("q", "")
    context = visit.context(q=query, canonical=visit.absolute(help_center_path(visit.workspace.slug, visit.locale)
                                                                + "search/"),
                            description=f"Search the {visit.workspace.name} help center.", noindex=True)
    if not query.strip():
        return visit.page("knowledge/help/search.html", {**context, "results": None})
    if len(query) > MAX_QUERY:
        return visit.page("knowledge/help/search.html", {
            **context, "results": None, "error": f"A search is at most {MAX_QUERY} characters; shorten it."}, status=422)
    services.check_rate(f"kb-search:v:{visit.visitor_key}", conf.searches_per_minute(), 60, "searches")
    services.check_rate(f"kb-search:ip:{_address(request)}", conf.searches_per_minute() * 4, 60, "searches")
    result = search.search(visit.workspace.pk, query, locale=visit.locale, audience="public", limit=SEARCH_RESULTS)
    services.record_search(workspace_id=visit.workspace.pk, query=query, result=result, locale=visit.locale,
                           visitor_key=visit.visitor_key)
    results = [{"hit": hit, "snippet_html": highlight(hit.snippet, result.terms), "url": hit.url}
               for hit in result.hits]
    return visit.page("knowledge/help/search.html", {**context, "results": results})
