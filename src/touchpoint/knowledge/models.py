"""The knowledge base: categories and articles in several locales, their revisions and embeddings, and
what the help center records about its visitors (searches, article views, "did this help?" votes).

Rows are written only through services.py, which renders and sanitizes the Markdown, keeps a revision
on every change and bumps the workspace's search version. Full-text search is kept by the database
itself, so bulk loads are searchable too: an FTS5 table maintained by triggers on SQLite (migrations
0002-0003); on PostgreSQL a `search_vector` column kept by a trigger, from which another trigger keeps
the BM25 postings below (migration 0004)."""

from django.db import models

from touchpoint.core.models import WorkspaceScopedQuerySet


class KnowledgeIndex(models.Model):
    """A counter per workspace that every change to a published article raises. Each process keeps the
    workspace's embedding matrix in memory and rebuilds it when this number moved, so a change made by
    another process is seen by the next search."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, primary_key=True,
                                     related_name="+")
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"knowledge index v{self.version}"


class Category(models.Model):
    """A section of the help center in one locale ("Shipping & delivery")."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    locale = models.CharField(max_length=16)
    name = models.CharField(max_length=120)
    slug = models.CharField(max_length=140)
    description = models.CharField(max_length=500, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "locale", "slug"], name="kb_category_unique_slug")]
        ordering = ["position", "name", "id"]

    def __str__(self) -> str:
        return self.name


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class Audience(models.TextChoices):
    PUBLIC = "public", "Public"  # the help center, the bot and agents
    INTERNAL = "internal", "Internal"  # agents only: never on the help center nor given to the bot


class Article(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles")
    locale = models.CharField(max_length=16)
    title = models.CharField(max_length=200)
    slug = models.CharField(max_length=220)
    body = models.TextField()  # Markdown, as written
    body_html = models.TextField()  # rendered and sanitized: what pages show
    body_text = models.TextField()  # plain text: full-text search and snippets
    summary = models.CharField(max_length=320, blank=True)  # the first paragraph: meta description, bot answers
    status = models.CharField(max_length=16, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.PUBLIC)
    # The same article in another locale points at the original, so the language switcher finds it.
    translation_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="translations")
    position = models.PositiveIntegerField(default=0)  # order within its category
    author = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    content_hash = models.CharField(max_length=64)  # of title + body: what the embeddings must match
    embedded_hash = models.CharField(max_length=64, blank=True)  # content_hash the stored vectors were made from
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "locale", "slug"], name="kb_article_unique_slug")]
        indexes = [
            models.Index(fields=["workspace", "status", "audience", "locale"], name="kb_article_visible"),
            models.Index(fields=["workspace", "category", "position"], name="kb_article_category"),
        ]
        ordering = ["position", "title", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED and self.audience == Audience.PUBLIC


class ArticleRevision(models.Model):
    """An article as it was before a save: its title, body, who wrote that version and when."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()  # 1 for the first version, counting up
    title = models.CharField(max_length=200)
    body = models.TextField()
    author = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    saved_at = models.DateTimeField()  # when this version was written
    replaced_at = models.DateTimeField()  # when a newer one took its place

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="kb_revision_unique_number")]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.title} (revision {self.number})"


class ArticleChunk(models.Model):
    """One embedded piece of an article: position 0 is the title alone, then the body in passages of a few
    sentences, each prefixed by the title. `vector` is the normalized float32 embedding, as raw bytes."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    vector = models.BinaryField()
    model = models.CharField(max_length=80)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "position"], name="kb_chunk_unique_position")]
        ordering = ["article_id", "position"]

    def __str__(self) -> str:
        return f"chunk {self.position} of article {self.article_id}"


class ArticleFeedback(models.Model):
    """A visitor's "Did this help?" answer. One per visitor and article: voting again changes the answer."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    visitor_key = models.CharField(max_length=64)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    helpful = models.BooleanField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "visitor_key"], name="kb_feedback_one_per_visitor")]
        indexes = [models.Index(fields=["workspace", "created_at"], name="kb_feedback_recent")]

    def __str__(self) -> str:
        return f"{'helpful' if self.helpful else 'not helpful'}: article {self.article_id}"


class SearchSource(models.TextChoices):
    HELP_CENTER = "help_center", "Help center"
    BOT = "bot", "Bot"


class SearchLog(models.Model):
    """A search a customer made (help center or bot): the content gaps are the searches with no result, and
    a session's searches count towards deflection."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16, choices=SearchSource.choices, default=SearchSource.HELP_CENTER)
    query = models.CharField(max_length=500)
    normalized_query = models.CharField(max_length=500)  # lower-case, single spaces: groups the content gaps
    locale = models.CharField(max_length=16, blank=True)
    mode = models.CharField(max_length=16)  # hybrid or lexical
    results_count = models.PositiveIntegerField()
    top_article_ids = models.JSONField(default=list)
    visitor_key = models.CharField(max_length=64, blank=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "at"], name="kb_search_recent"),
            models.Index(fields=["workspace", "visitor_key", "at"], name="kb_search_visitor"),
        ]

    def __str__(self) -> str:
        return self.query


class ArticleView(models.Model):
    """An article page shown to a help-center visitor (reloads within half an hour count once)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="views")
    visitor_key = models.CharField(max_length=64)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "at"], name="kb_view_recent"),
            models.Index(fields=["article", "visitor_key", "at"], name="kb_view_visitor"),
        ]

    def __str__(self) -> str:
        return f"view of article {self.article_id}"


class SearchCollection(models.Model):
    """PostgreSQL's BM25 statistics: how many published articles a workspace has per audience and
    language, and how many indexed words they hold together (for the average length). Kept by a
    database trigger from the articles' `search_vector`, never written by Python; empty on SQLite, whose
    FTS5 index keeps its own statistics."""

    pk = models.CompositePrimaryKey("workspace_id", "audience", "language")
    workspace_id = models.BigIntegerField()
    audience = models.CharField(max_length=16)
    language = models.CharField(max_length=8)  # the locale's language: the stemmer its words went through
    documents = models.PositiveIntegerField()
    words = models.PositiveBigIntegerField()

    class Meta:
        db_table = "knowledge_search_collection"

    def __str__(self) -> str:
        return f"{self.documents} {self.audience} {self.language} articles of workspace {self.workspace_id}"


class Posting(models.Model):
    """One stemmed word of one published article, for PostgreSQL's BM25 ranking: how often it is in the
    title and in the body, and the article's length (repeated here so a ranking reads only postings).
    Kept by a database trigger like SearchCollection; the lookup index (workspace, language, word, in
    byte order so a prefix is a range) is made by migration 0004 on PostgreSQL only."""

    pk = models.CompositePrimaryKey("article_id", "lexeme")
    article_id = models.BigIntegerField()
    lexeme = models.TextField()
    workspace_id = models.BigIntegerField()
    audience = models.CharField(max_length=16)
    language = models.CharField(max_length=8)
    title_tf = models.PositiveIntegerField()
    body_tf = models.PositiveIntegerField()
    length = models.PositiveIntegerField()

    class Meta:
        db_table = "knowledge_posting"

    def __str__(self) -> str:
        return f"{self.lexeme} in article {self.article_id}"
