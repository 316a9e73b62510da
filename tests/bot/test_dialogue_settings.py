"""The bot's settings page: supervisors switch it on per channel, name it, word its messages, teach and
edit intents, train it and read how it does; agents cannot change any of it (403), and another
workspace's intents answer like unknown ones (404). A refused change writes nothing."""

import pytest
from django.test import Client

from tests.bot.dialogue_helpers import Chat, enable_bot, stock_store
from touchpoint.bot import services as bot
from touchpoint.bot import turns
from touchpoint.bot.models import BotSettings, Intent, TrainedModel
from touchpoint.bot.services import forget_cached_models


@pytest.fixture(autouse=True)
def _fresh_models():
    forget_cached_models()
    yield
    forget_cached_models()


def _client(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


SETTINGS = {"enabled": "1", "channels": ["webchat", "whatsapp"], "name": "Nora", "greeting": "Hello from Nora!",
            "handoff_message": "A colleague takes over now.", "handoff_offline_message": "We are away; we'll write back.",
            "not_understood_message": "Say it another way?", "confidence_threshold": "", "max_failures": "3",
            "order_number_prefix": "NW"}


def test_a_supervisor_switches_the_bot_on_per_channel_and_names_it(desk):
    enable_bot(desk)
    response = _client(desk.supervisor).post("/settings/bot/", SETTINGS)
    assert response.status_code == 302
    config = BotSettings.objects.get(workspace_id=desk.id)
    assert (config.enabled, config.channels, config.name, config.greeting, config.max_failures) == (
        True, ["webchat", "whatsapp"], "Nora", "Hello from Nora!", 3)
    assert turns.answered_channels(desk.id) == ("webchat", "whatsapp")  # at once in this process
    page = _client(desk.supervisor).get("/settings/bot/").content.decode()
    assert 'value="Nora"' in page and "Hello from Nora!" in page and "order_status" in page
    assert 'href="/settings/bot/"' in page  # the top bar's link


def test_the_page_shows_the_models_figures_and_the_bots(desk):
    stock_store(desk)
    enable_bot(desk)
    Chat(desk).say("I want to talk to a person")
    page = _client(desk.supervisor).get("/settings/bot/").content.decode()
    assert 'id="bot-accuracy"' in page and "held-out examples" in page
    assert "customer_asked 1" in page  # handoff reasons
    assert "Train now" in page


def test_a_bad_setting_is_refused_with_the_reason_and_nothing_changes(desk):
    enable_bot(desk)
    before = BotSettings.objects.get(workspace_id=desk.id)
    response = _client(desk.supervisor).post("/settings/bot/", {**SETTINGS, "confidence_threshold": "3"})
    assert response.status_code == 422 and "confidence threshold is a number from 0 to 1" in response.content.decode()
    response = _client(desk.supervisor).post("/settings/bot/", {**SETTINGS, "channels": ["fax"]})
    assert response.status_code == 422
    after = BotSettings.objects.get(workspace_id=desk.id)
    assert (after.name, after.channels, after.confidence_threshold) == (before.name, before.channels, None)


def test_agents_cannot_see_or_change_bot_settings(desk):
    enable_bot(desk)
    agent = _client(desk.agent)
    assert agent.get("/settings/bot/").status_code == 403
    assert agent.post("/settings/bot/", {**SETTINGS, "enabled": ""}).status_code == 403
    assert agent.post("/settings/bot/train/").status_code == 403
    intent = Intent.objects.filter(workspace_id=desk.id).first()
    assert agent.post(f"/settings/bot/intents/{intent.pk}/", {"examples": "a\nb\nc\nd\ne"}).status_code == 403
    assert agent.post(f"/settings/bot/intents/{intent.pk}/delete/").status_code == 403
    assert BotSettings.objects.get(workspace_id=desk.id).enabled
    assert Intent.objects.get(pk=intent.pk).examples == intent.examples
    assert 'href="/settings/bot/"' not in agent.get("/").content.decode()


def test_editing_an_intents_examples_and_its_refusals(desk):
    enable_bot(desk)
    intent = Intent.objects.get(workspace_id=desk.id, name="opening_hours")
    supervisor = _client(desk.supervisor)
    lines = "\n".join(["when do you open", "what time do you open on saturday", "are you open now",
                       "your hours please", "when does the shop close"])
    assert supervisor.post(f"/settings/bot/intents/{intent.pk}/", {"examples": lines, "description": "Hours",
                                                                  "handoff_skill": ""}).status_code == 302
    assert Intent.objects.get(pk=intent.pk).examples[0] == "when do you open"
    refused = supervisor.post(f"/settings/bot/intents/{intent.pk}/", {"examples": "too\nfew", "description": ""})
    assert refused.status_code == 422 and "at least 5 examples" in refused.content.decode()
    assert "too\nfew" in refused.content.decode()  # what they typed stays in the form
    assert Intent.objects.get(pk=intent.pk).examples[0] == "when do you open"


def test_another_workspaces_intent_is_unknown_here(desk, other_desk):
    enable_bot(other_desk)
    theirs = Intent.objects.filter(workspace_id=other_desk.id).first()
    supervisor = _client(desk.supervisor)
    assert supervisor.get(f"/settings/bot/intents/{theirs.pk}/").status_code == 404
    assert supervisor.post(f"/settings/bot/intents/{theirs.pk}/", {"examples": "a\nb\nc\nd\ne"}).status_code == 404
    assert supervisor.post(f"/settings/bot/intents/{theirs.pk}/delete/").status_code == 404
    assert Intent.objects.filter(pk=theirs.pk).exists()


def test_a_new_intent_then_train_now(desk):
    supervisor = _client(desk.supervisor)
    for name, words in (("gift_wrap", ["gift wrap please", "can you wrap it as a gift", "do you offer gift wrapping",
                                        "wrap my order as a present", "is gift wrapping free"]),
                        ("store_pickup", ["can I pick it up in store", "collect from the shop", "click and collect",
                                          "pick up my order at the store", "do you have in-store pickup"])):
        response = supervisor.post("/settings/bot/intents/", {"name": name, "examples": "\n".join(words)})
        assert response.status_code == 302
    refused = supervisor.post("/settings/bot/intents/", {"name": "Bad Name", "examples": "a\nb\nc\nd\ne"})
    assert refused.status_code == 422 and "not usable" in refused.content.decode()
    page = supervisor.post("/settings/bot/train/")
    assert page.status_code == 200 and "on 2 intents" in page.content.decode()
    model = TrainedModel.objects.get(workspace_id=desk.id)
    assert sorted(model.intents) == ["gift_wrap", "store_pickup"]
    assert bot.classify(desk.id, "could you gift wrap it").intent == "gift_wrap"
