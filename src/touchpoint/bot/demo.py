"""The demo store's bot: Nora answers the demo store's chat, SMS and WhatsApp first, taught the shipped
commerce intents.

Training is seconds of CPU (the shipped ~500 examples, linear model), so the demo load does not wait for
it: it teaches the intents, words the bot's messages and queues `tasks.train_demo_bot`, which trains and
then switches the bot on. `touchpoint serve` runs it in its worker within seconds of starting; until
then the widget is a plain chat."""

from touchpoint.accounts.models import Membership, Workspace
from touchpoint.accounts.selectors import actor_for
from touchpoint.bot import services, turns
from touchpoint.bot.nlu import MODE_LINEAR

DEMO_GREETING = ("Hi! I'm Nora, Northwind's assistant. Ask me for a product (\"a waterproof jacket under $150\"), "
                 "whether something is in stock, or where your order is.")
DEMO_HANDOFF = "I'm passing you to a colleague who can help; they will see what we said."


def load_bot_demo(workspace: Workspace, *, supervisor: Membership) -> None:
    """Intents and wording now; the model and the switch-on in the background (see the module)."""
    actor = actor_for(supervisor)
    services.install_default_intents(actor=actor)
    services.update_bot_settings(actor=actor, name="Nora", greeting=DEMO_GREETING, handoff_message=DEMO_HANDOFF,
                                 order_number_prefix="NW", channels=["webchat", "sms", "whatsapp"])
    from touchpoint.bot.tasks import train_demo_bot

    train_demo_bot.enqueue(workspace.pk, supervisor.pk)


def train_and_switch_on(workspace_id: int, supervisor_id: int) -> str:
    """What the demo's task does: train the workspace's model, then let the bot answer."""
    supervisor = Membership.objects.filter(pk=supervisor_id, workspace_id=workspace_id).first()
    if supervisor is None:
        return "the demo workspace is gone"
    actor = actor_for(supervisor)
    model = services.train_workspace(workspace_id=workspace_id, actor=actor, mode=MODE_LINEAR)
    turns.update_settings(actor=actor, enabled=True, mode=MODE_LINEAR)
    return f"trained model {model.pk} in {model.metrics.get('train_seconds')} s; the bot is on"
