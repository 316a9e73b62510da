"""What the knowledge base does when its own articles change: embed the new text in the background.

The task is enqueued inside the article's transaction (the database task queue is the outbox), so an
edit that commits is always embedded, and one that rolls back never is."""

from touchpoint.core.events import subscribe_in_transaction
from touchpoint.knowledge.events import ArticleChanged


def register() -> None:
    subscribe_in_transaction(ArticleChanged, enqueue_embedding)


def enqueue_embedding(event: ArticleChanged) -> None:
    if not event.content_changed or event.change == "deleted":
        return
    from touchpoint.knowledge import embeddings, tasks

    if embeddings.available():  # without the ml extra there is nothing to compute
        tasks.embed_article.enqueue(event.article_id)
