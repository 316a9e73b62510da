"""The demo store's bot: loading the demo teaches it and queues its training; once the worker has run
that, Nora answers the demo store's chat from the demo catalog and orders."""

import pytest
from django_tasks_db.models import DBTaskResult

from tests.bot.dialogue_helpers import Chat, run_turns
from touchpoint import demo
from touchpoint.bot import turns
from touchpoint.bot.models import BotSettings, Intent, TrainedModel
from touchpoint.bot.services import forget_cached_models
from touchpoint.bot.tasks import train_demo_bot

SMALL = {"customers": 40, "conversations": 200}


@pytest.mark.slow
def test_the_demo_store_gets_nora_trained_after_the_load(db):
    forget_cached_models()
    loaded = demo.load_demo(**SMALL)
    workspace = loaded.workspace
    config = BotSettings.objects.get(workspace=workspace)
    assert config.name == "Nora" and not config.enabled  # not before it can understand
    assert Intent.objects.filter(workspace=workspace, built_in=True).count() >= 15
    assert Intent.objects.get(workspace=workspace, name="return_item").handoff_skill.name == "Returns"
    [queued] = DBTaskResult.objects.filter(task_path__endswith="train_demo_bot")
    assert train_demo_bot.call(*queued.args_kwargs["args"]).endswith("the bot is on")
    assert TrainedModel.objects.filter(workspace=workspace, mode="linear").exists()
    assert turns.answered_channels(workspace.pk) == ("webchat", "sms", "whatsapp")

    class Store:
        id = workspace.pk

    chat = Chat(Store())
    replies = chat.say("do you have a waterproof jacket?")
    run_turns()
    assert replies and replies[0].metadata["bot"]["name"] == "Nora"
    assert chat.conversation.held_by_bot
    forget_cached_models()
