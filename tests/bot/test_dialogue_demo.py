"""The demo store's bot: the demo load teaches it the shipped intents and trains it, so Nora answers the
demo store's chat at once, from the demo catalog and orders."""

import pytest

from tests.bot.dialogue_helpers import Chat
from touchpoint import demo
from touchpoint.bot import turns
from touchpoint.bot.models import BotSettings, Intent, TrainedModel
from touchpoint.bot.services import forget_cached_models

SMALL = {"customers": 40, "conversations": 200}


@pytest.mark.slow
def test_the_demo_store_gets_nora_trained_at_the_load(db):
    forget_cached_models()
    workspace = demo.load_demo(**SMALL).workspace
    config = BotSettings.objects.get(workspace=workspace)
    assert (config.name, config.enabled, config.order_number_prefix) == ("Nora", True, "NW")
    assert Intent.objects.filter(workspace=workspace, built_in=True).count() >= 15
    assert Intent.objects.get(workspace=workspace, name="return_item").handoff_skill.name == "Returns"
    assert TrainedModel.objects.filter(workspace=workspace, mode="linear").count() == 1
    assert turns.answered_channels(workspace.pk) == ("webchat", "sms", "whatsapp")

    class Store:
        id = workspace.pk

    replies = Chat(Store()).say("do you have a waterproof jacket?")
    assert replies and replies[0].metadata["bot"]["name"] == "Nora"
    assert replies[0].metadata["bot"]["cards"], "the demo catalog has jackets"
    forget_cached_models()
