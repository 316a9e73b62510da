"""The demo store's bot: Nora answers the demo store's chat, SMS and WhatsApp first, taught the shipped
commerce intents and trained at the demo load (the linear model: about a second for the shipped ~500
examples on a quiet two-core machine), so `touchpoint demo` leaves a bot that answers at once."""

from touchpoint.accounts.models import Membership, Workspace
from touchpoint.accounts.selectors import actor_for
from touchpoint.bot import services, turns
from touchpoint.bot.nlu import MODE_LINEAR

DEMO_GREETING = ("Hi! I'm Nora, Northwind's assistant. Ask me for a product (\"a waterproof jacket under $150\"), "
                 "whether something is in stock, or where your order is.")
DEMO_HANDOFF = "I'm passing you to a colleague who can help; they will see what we said."


def load_bot_demo(workspace: Workspace, *, supervisor: Membership) -> None:
    """Teach the shipped intents (their handoff skills are the demo's Orders, Returns and Billing), train,
    and switch the bot on for the demo store's chat and messaging."""
    actor = actor_for(supervisor)
    services.install_default_intents(actor=actor)
    services.train_workspace(workspace_id=workspace.pk, actor=actor, mode=MODE_LINEAR)
    turns.update_settings(actor=actor, enabled=True, name="Nora", greeting=DEMO_GREETING,
                          handoff_message=DEMO_HANDOFF, order_number_prefix="NW",
                          channels=["webchat", "sms", "whatsapp"], mode=MODE_LINEAR)
