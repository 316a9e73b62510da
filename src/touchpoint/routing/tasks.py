"""Routing's background work: thin, each calls a service."""

from django_tasks import task

from touchpoint.routing import services


@task()
def away_if_still_gone(membership_id: int) -> None:
    services.away_if_still_gone(membership_id)
