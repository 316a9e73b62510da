"""The bot's background work: thin, the services decide."""

from django_tasks import task


@task()
def take_turn(message_id: int) -> str:
    """Answer a customer's message (enqueued in the message's own transaction: never lost)."""
    from touchpoint.bot.turns import take_turn as run

    return run(message_id)

