"""What the knowledge base tells the rest of the system, after its transactions commit."""

from dataclasses import dataclass

from touchpoint.core.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ArticleChanged(DomainEvent):
    """An article was created, edited, restored, published, unpublished or deleted.

    `content_changed` says whether its title or body changed (its embeddings are then stale)."""

    name = "knowledge.article_changed"
    article_id: int
    change: str  # created, updated, restored, published, unpublished, deleted
    content_changed: bool
