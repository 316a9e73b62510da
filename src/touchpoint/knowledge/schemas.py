"""What the API says about the knowledge base."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field, StringConstraints, field_validator

from touchpoint.conversations.schemas import PersonRef
from touchpoint.core.api import Id, Input, Limit, When
from touchpoint.knowledge.models import Article, ArticleStatus, Audience
from touchpoint.knowledge.search import MAX_QUERY, article_url
from touchpoint.knowledge.services import MAX_BODY, MAX_CATEGORY_NAME, MAX_DESCRIPTION, MAX_SLUG, MAX_TITLE

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CATEGORY_NAME)]
Slug = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SLUG)]
Locale = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=16)]
Body = Annotated[str, StringConstraints(max_length=MAX_BODY)]
Position = Annotated[int, Field(ge=0, le=1_000_000)]
SearchAudience = Literal["public", "internal", "all"]

LOCALE_HELP = "A language code such as en, fr or pt-BR."
SLUG_HELP = "The last part of the article's address; made from the title when left out. Unique per locale."


# ---- categories ----------------------------------------------------------------------------------


class CategoryRef(Schema):
    id: int
    name: str
    slug: str


class CategoryOut(Schema):
    id: int
    locale: str
    name: str
    slug: str
    description: str
    position: int
    created_at: datetime
    updated_at: datetime


class CategoryIn(Input):
    name: Name
    locale: Locale = Field(description=LOCALE_HELP, examples=["en"])
    slug: Slug | None = Field(None, description="Made from the name when left out. Unique per locale.")
    description: str = Field("", max_length=MAX_DESCRIPTION)
    position: Position | None = Field(None, description="Order on the help center's home; last when left out.")


class CategoryPatch(Input):
    name: Name | None = None
    slug: Slug | None = None
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    position: Position | None = None


class CategoryQuery(Schema):
    locale: Locale | None = Field(None, description=LOCALE_HELP)
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 50


# ---- articles ------------------------------------------------------------------------------------


class ArticleSummaryOut(Schema):
    id: int
    locale: str
    title: str
    slug: str
    summary: str = Field(description="The first paragraph, plain text.")
    status: ArticleStatus
    audience: Audience = Field(description="public: the help center, the bot and agents; internal: agents only.")
    category: CategoryRef | None
    translation_of_id: int | None = Field(description="The original this article translates, if any.")
    position: int
    url: str = Field(description="Where it is read: the public help center, or the agent workspace for internal "
                                 "articles. A draft's help-center address answers 404 until it is published.")
    author: PersonRef | None = Field(description="Who wrote the current version.")
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @staticmethod
    def resolve_url(obj: Article) -> str:
        return article_url({"id": obj.pk, "audience": obj.audience, "locale": obj.locale, "slug": obj.slug,
                            "workspace__slug": obj.workspace.slug})


class ArticleOut(ArticleSummaryOut):
    body: str = Field(description="Markdown, as written.")
    body_html: str = Field(description="Rendered and sanitized: no script, event handlers or styles.")
    embedded: bool = Field(description="Whether the semantic index holds the current text (computed in the "
                                       "background after each change, with the ml extra).")

    @staticmethod
    def resolve_embedded(obj: Article) -> bool:
        return obj.embedded_hash == obj.content_hash


class ArticleIn(Input):
    title: Title
    body: Body = Field(description="Markdown. Raw HTML is shown as text; links may be http, https or mailto.")
    locale: Locale = Field(description=LOCALE_HELP, examples=["en"])
    category_id: Id | None = Field(None, description="A category of the same locale.")
    slug: Slug | None = Field(None, description=SLUG_HELP)
    audience: Audience = Audience.PUBLIC
    status: ArticleStatus = Field(ArticleStatus.DRAFT, description="draft, or published to make it live at once.")
    translation_of_id: Id | None = Field(None, description="The article (in another locale) this one translates.")
    position: Position | None = Field(None, description="Order within its category.")


class ArticlePatch(Input):
    title: Title | None = None
    body: Body | None = None
    locale: Locale | None = None
    category_id: Id | None = Field(None, description="A category, or null for none; left out: unchanged.")
    slug: Slug | None = None
    audience: Audience | None = None
    translation_of_id: Id | None = Field(None, description="The original, or null for none; left out: unchanged.")
    position: Position | None = None


class ArticleQuery(Schema):
    status: ArticleStatus | None = None
    audience: Audience | None = None
    locale: Locale | None = Field(None, description=LOCALE_HELP)
    category_id: Id | None = None
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 50


class RevisionOut(Schema):
    id: int
    number: int = Field(description="1 for the first version.")
    title: str
    body: str
    author: PersonRef | None = Field(description="Who wrote this version.")
    saved_at: datetime = Field(description="When this version was written.")
    replaced_at: datetime = Field(description="When the next version replaced it.")


# ---- search --------------------------------------------------------------------------------------


class SearchQuery(Schema):
    q: str = Field(max_length=MAX_QUERY, description="The words to look for, as a customer would type them.")
    locale: Locale | None = Field(None, description="Keep to this language (en-GB finds en articles too).")
    audience: SearchAudience = Field("all", description="all (agents: public and internal), public or internal.")
    limit: Annotated[int, Field(ge=1, le=50)] = 10

    @field_validator("q")
    @classmethod
    def _words(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("type something to search for")
        return value


class HitOut(Schema):
    article_id: int
    title: str
    url: str
    locale: str
    audience: Audience
    snippet: str = Field(description="Plain text around the matched words.")
    snippet_html: str = Field(description="The snippet escaped, with the matched words in <mark>.")
    score: float = Field(description="Reciprocal rank fusion of the two rankings; higher is better.")
    lexical_rank: int | None = Field(description="Place in the full-text ranking (1 = best), null if not found there.")
    semantic_rank: int | None = Field(description="Place in the semantic ranking, null if not found there.")


class SearchOut(Schema):
    query: str
    mode: Literal["hybrid", "lexical"] = Field(description="hybrid: full text fused with MiniLM embeddings; "
                                                           "lexical: full text only (the ml extra is missing or off).")
    note: str = Field(description="Why the search is lexical only, when it is.")
    items: list[HitOut]


class SuggestionQuery(Schema):
    limit: Annotated[int, Field(ge=1, le=20)] = 5


# ---- deflection ----------------------------------------------------------------------------------


class DeflectionQuery(Schema):
    since: When | None = Field(None, description="Start of the period (sessions starting from then); "
                                                 "default 30 days before `until`.")
    until: When | None = Field(None, description="End of the period (exclusive); default now.")
    window_hours: Annotated[int, Field(ge=1, le=720)] = Field(24, description="How long after a session's last search "
                                                                          "or view a conversation still counts.")


class ArticleFiguresOut(Schema):
    article_id: int
    title: str
    locale: str
    views: int
    helpful_yes: int
    helpful_no: int
    helpful_rate: float | None = Field(description="yes / (yes + no); null without answers.")


class ContentGapOut(Schema):
    query: str = Field(description="Lower-cased, single spaces.")
    locale: str
    searches: int
    last_at: datetime


class DeflectionOut(Schema):
    since: datetime
    until: datetime
    window_hours: int
    searches: int = Field(description="Help-center searches in the period.")
    searches_without_result: int
    article_views: int
    visitors: int
    sessions: int = Field(description="Help-center sessions starting in the period (a visitor's searches and views "
                                      "with no gap over 30 minutes).")
    pending_sessions: int = Field(description="Sessions whose window has not ended: not yet classifiable, left out.")
    sessions_with_conversation: int
    deflected_sessions: int = Field(description="Classifiable sessions not followed by a conversation within the window.")
    deflection_rate: float | None = Field(description="deflected_sessions / (sessions − pending_sessions).")
    articles: list[ArticleFiguresOut] = Field(description="Per article: views and helpful answers, most viewed first.")
    content_gaps: list[ContentGapOut] = Field(description="Searches that found nothing, most frequent first "
                                                          "(help center and bot).")
