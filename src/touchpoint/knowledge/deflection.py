"""Deflection: how often the help center answered a customer who then did not need to write to the desk.

Definitions (the README repeats them):
- A **help-center session** is one visitor's run of help-center searches and article views with no gap
  longer than SESSION_GAP (30 minutes). The visitor is the help-center visitor key (a cookie), which is
  the chat widget's visitor id when the visitor came from the widget or the site passed it on
  (`?visitor=`). A session counts in the period its first search or view falls in.
- A session is **followed by a conversation** when a customer linked to the visitor (their chat-visitor
  identity has the visitor key as its value, or a search or view of the session carried the customer)
  opened a conversation, on any channel, from the session's start to `window` hours (default 24) after
  its last search or view.
- A session whose window has not ended yet cannot be classified: it is reported as pending and left out.
- **Deflected sessions** = classifiable sessions not followed by a conversation;
  **deflection rate** = deflected sessions / classifiable sessions.
- Per article: views in the period, and the "Did this help?" answers given (or last changed) in it;
  helpful % = yes / (yes + no).
- **Content gaps**: help-center and bot searches in the period that found nothing, grouped by the query
  lower-cased with single spaces, most frequent first.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q

from touchpoint.conversations.models import Conversation
from touchpoint.core.clock import now
from touchpoint.core.errors import ValidationFailed
from touchpoint.customers.models import Identity, IdentityKind
from touchpoint.knowledge.models import Article, ArticleFeedback, ArticleView, SearchLog, SearchSource

SESSION_GAP = timedelta(minutes=30)
DEFAULT_PERIOD = timedelta(days=30)
MAX_WINDOW_HOURS = 24 * 30
GAPS_LISTED = 50


@dataclass(frozen=True)
class ArticleFigures:
    article_id: int
    title: str
    locale: str
    views: int
    helpful_yes: int
    helpful_no: int

    @property
    def helpful_rate(self) -> float | None:
        answers = self.helpful_yes + self.helpful_no
        return round(self.helpful_yes / answers, 4) if answers else None


@dataclass(frozen=True)
class ContentGap:
    query: str
    locale: str
    searches: int
    last_at: datetime


@dataclass(frozen=True)
class Deflection:
    since: datetime
    until: datetime
    window_hours: int
    searches: int
    searches_without_result: int
    article_views: int
    visitors: int
    sessions: int
    pending_sessions: int
    sessions_with_conversation: int
    deflected_sessions: int
    articles: list[ArticleFigures] = field(default_factory=list)
    content_gaps: list[ContentGap] = field(default_factory=list)

    @property
    def deflection_rate(self) -> float | None:
        classified = self.sessions - self.pending_sessions
        return round(self.deflected_sessions / classified, 4) if classified else None


@dataclass
class _Session:
    visitor_key: str
    start: datetime
    end: datetime
    customer_ids: set[int] = field(default_factory=set)


def deflection(workspace_id: int, *, since: datetime | None = None, until: datetime | None = None,
               window_hours: int = 24) -> Deflection:
    until = until or now()
    since = since or until - DEFAULT_PERIOD
    if since >= until:
        raise ValidationFailed("`since` must be before `until`.", field="since")
    if not 1 <= window_hours <= MAX_WINDOW_HOURS:
        raise ValidationFailed(f"The window is 1–{MAX_WINDOW_HOURS} hours.", field="window_hours")
    window = timedelta(hours=window_hours)
    searches = SearchLog.objects.filter(workspace_id=workspace_id, at__gte=since, at__lt=until)
    help_center = searches.filter(source=SearchSource.HELP_CENTER)
    views = ArticleView.objects.filter(workspace_id=workspace_id, at__gte=since, at__lt=until)
    sessions = _sessions([
        *help_center.exclude(visitor_key="").values_list("visitor_key", "at", "customer_id"),
        *views.values_list("visitor_key", "at", "customer_id"),
    ])
    followed = _followed(workspace_id, sessions, window)
    moment = now()
    pending = [s for s in sessions if s.end + window > moment]
    classified = [s for s in sessions if s.end + window <= moment]
    with_conversation = sum(1 for s in classified if id(s) in followed)
    return Deflection(
        since=since, until=until, window_hours=window_hours,
        searches=help_center.count(), searches_without_result=help_center.filter(results_count=0).count(),
        article_views=views.count(), visitors=len({s.visitor_key for s in sessions}), sessions=len(sessions),
        pending_sessions=len(pending), sessions_with_conversation=with_conversation,
        deflected_sessions=len(classified) - with_conversation,
        articles=_article_figures(workspace_id, since, until), content_gaps=_content_gaps(searches),
    )


def _sessions(events: list[tuple[str, datetime, int | None]]) -> list[_Session]:
    found: list[_Session] = []
    current: dict[str, _Session] = {}
    for key, at, customer_id in sorted(events, key=lambda e: (e[0], e[1])):
        session = current.get(key)
        if session is None or at - session.end > SESSION_GAP:
            session = current[key] = _Session(visitor_key=key, start=at, end=at)
            found.append(session)
        session.end = at
        if customer_id:
            session.customer_ids.add(customer_id)
    return found


def _followed(workspace_id: int, sessions: list[_Session], window: timedelta) -> set[int]:
    """The sessions (by id()) a linked customer opened a conversation after, within the window."""
    if not sessions:
        return set()
    keys = {s.visitor_key for s in sessions}
    by_key: dict[str, set[int]] = defaultdict(set)
    for value, customer_id in (Identity.objects.filter(workspace_id=workspace_id, kind=IdentityKind.VISITOR,
                                                       value__in=keys).values_list("value", "customer_id")):
        by_key[value].add(customer_id)
    customers = set().union(*by_key.values(), *(s.customer_ids for s in sessions))
    if not customers:
        return set()
    first, last = min(s.start for s in sessions), max(s.end for s in sessions) + window
    opened: dict[int, list[datetime]] = defaultdict(list)
    for customer_id, at in (Conversation.objects.filter(workspace_id=workspace_id, customer_id__in=customers,
                                                        created_at__gte=first, created_at__lte=last)
                            .values_list("customer_id", "created_at")):
        opened[customer_id].append(at)
    followed = set()
    for session in sessions:
        linked = by_key.get(session.visitor_key, set()) | session.customer_ids
        if any(session.start <= at <= session.end + window for c in linked for at in opened.get(c, ())):
            followed.add(id(session))
    return followed


def _article_figures(workspace_id: int, since: datetime, until: datetime) -> list[ArticleFigures]:
    views = dict(ArticleView.objects.filter(workspace_id=workspace_id, at__gte=since, at__lt=until)
                 .values("article_id").annotate(n=Count("id")).values_list("article_id", "n"))
    answers = {row["article_id"]: row for row in (
        ArticleFeedback.objects.filter(workspace_id=workspace_id, updated_at__gte=since, updated_at__lt=until)
        .values("article_id").annotate(yes=Count("id", filter=Q(helpful=True)), no=Count("id", filter=Q(helpful=False))))}
    ids = set(views) | set(answers)
    articles = Article.objects.filter(workspace_id=workspace_id, pk__in=ids).values_list("id", "title", "locale")
    figures = [ArticleFigures(article_id=i, title=title, locale=locale, views=views.get(i, 0),
                              helpful_yes=answers.get(i, {}).get("yes", 0), helpful_no=answers.get(i, {}).get("no", 0))
               for i, title, locale in articles]
    return sorted(figures, key=lambda f: (-f.views, -(f.helpful_yes + f.helpful_no), f.article_id))


def _content_gaps(searches) -> list[ContentGap]:
    rows = (searches.filter(results_count=0).values("normalized_query", "locale")
            .annotate(n=Count("id"), last=Max("at")).order_by("-n", "-last")[:GAPS_LISTED])
    return [ContentGap(query=r["normalized_query"], locale=r["locale"], searches=r["n"], last_at=r["last"]) for r in rows]
