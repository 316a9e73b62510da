"""The knowledge base's background work: thin, each calls a service."""

from django_tasks import task

from touchpoint.knowledge import services


@task()
def embed_article(article_id: int) -> None:
    services.embed_article(article_id=article_id)


@task()
def embed_workspace(workspace_id: int) -> None:
    services.embed_stale(workspace_id=workspace_id)
