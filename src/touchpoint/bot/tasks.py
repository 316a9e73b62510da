"""The bot's background work: thin, the services decide."""

from django_tasks import task


@task()
def take_turn(message_id: int) -> str:
    """Answer a customer's message (enqueued in the message's own transaction: never lost)."""
    from touchpoint.bot.turns import take_turn as run

    return run(message_id)


@task()
def train_demo_bot(workspace_id: int, supervisor_id: int) -> str:
    """The demo store's model, trained after the demo load (it takes seconds), then the bot switched on."""
    from touchpoint.bot.demo import train_and_switch_on

    return train_and_switch_on(workspace_id, supervisor_id)
