"""Intents, settings and trained models per workspace through the services: validation that changes
nothing, roles, workspace isolation, training, the model cache and classify / understand."""

from datetime import date
from decimal import Decimal

import pytest

from tests.bot.nlu_helpers import SMALL, _empty_model_cache  # noqa: F401  (autouse fixture)
from touchpoint.accounts import services as accounts
from touchpoint.bot import selectors, services
from touchpoint.bot.models import BotSettings, Intent, TrainedModel
from touchpoint.bot.nlu import IntentClassifier
from touchpoint.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from touchpoint.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def teach(desk, intents: dict[str, list[str]] | None = None) -> list[Intent]:
    return [services.create_intent(actor=desk.supervisor_actor, name=name, examples=examples)
            for name, examples in (intents or SMALL).items()]


# ---- writing intents ---------------------------------------------------------------------------------


def test_a_supervisor_creates_an_intent_and_it_is_audited(desk):
    skill = accounts.create_skill(actor=desk.supervisor_actor, name="Orders")
    intent = services.create_intent(actor=desk.supervisor_actor, name="order_status", description="Where it is",
                                    examples=["  where is   my order ", *SMALL["order_status"][1:]], handoff_skill=skill)
    assert intent.examples[0] == "where is my order" and len(intent.examples) == 8
    assert intent.handoff_skill == skill and not intent.built_in
    assert AuditEntry.objects.filter(action="bot_intent.created", object_id=str(intent.pk)).exists()
    assert selectors.handoff_skill_for(desk.id, "order_status") == skill
    assert selectors.handoff_skill_for(desk.id, "nothing") is None and selectors.handoff_skill_for(desk.id, None) is None


@pytest.mark.parametrize(("name", "examples", "code", "message"), [
    ("Order Status", SMALL["order_status"], "validation_failed", "lowercase letters, digits and underscores"),
    ("x", SMALL["order_status"], "validation_failed", "2–64"),
    ("9lives", SMALL["order_status"], "validation_failed", "starting with a letter"),
    ("order_status", SMALL["order_status"][:4], "validation_failed", "at least 5 examples"),
    ("order_status", [*SMALL["order_status"][:5], "WHERE is my  order"], "duplicate_example",
     "repeats example 1"),
    ("order_status", [*SMALL["order_status"][:5], ""], "validation_failed", "Example 6 is empty"),
    ("order_status", [*SMALL["order_status"][:5], "x" * 501], "validation_failed", "at most 500"),
    ("order_status", "where is my order", "validation_failed", "a list of texts"),
    ("order_status", [*SMALL["order_status"][:5], 42], "validation_failed", "Example 6 is empty"),
])
def test_bad_intents_are_refused_with_a_reason_and_nothing_is_written(desk, name, examples, code, message):
    with pytest.raises(ValidationFailed, match=message) as refused:
        services.create_intent(actor=desk.supervisor_actor, name=name, examples=examples)
    assert refused.value.code == code and not Intent.objects.exists()


def test_one_text_cannot_be_taught_as_two_intents(desk):
    teach(desk, {"refund": SMALL["refund"]})
    with pytest.raises(ValidationFailed, match="taught as intent refund already") as refused:
        services.create_intent(actor=desk.supervisor_actor, name="money_back",
                               examples=["I want a REFUND", "a", "b", "c", "d"])
    assert refused.value.code == "duplicate_example" and Intent.objects.count() == 1


def test_a_duplicate_name_is_a_conflict(desk):
    teach(desk, {"refund": SMALL["refund"]})
    with pytest.raises(Conflict, match="exists already"):
        services.create_intent(actor=desk.supervisor_actor, name="refund", examples=SMALL["greeting"])


def test_updating_an_intent_changes_only_what_is_given(desk):
    skill = accounts.create_skill(actor=desk.supervisor_actor, name="Billing")
    intent = services.create_intent(actor=desk.supervisor_actor, name="refund", examples=SMALL["refund"],
                                    handoff_skill=skill)
    services.update_intent(actor=desk.supervisor_actor, intent=intent, description="Money back")
    intent.refresh_from_db()
    assert intent.description == "Money back" and intent.handoff_skill == skill and intent.examples == SMALL["refund"]
    services.update_intent(actor=desk.supervisor_actor, intent=intent, name="refund_request", handoff_skill=None,
                           examples=[*SMALL["refund"], "reimburse me"])
    intent.refresh_from_db()
    assert (intent.name, intent.handoff_skill, len(intent.examples)) == ("refund_request", None, 9)
    with pytest.raises(ValidationFailed):
        services.update_intent(actor=desk.supervisor_actor, intent=intent, examples=["too", "few"])
    intent.refresh_from_db()
    assert len(intent.examples) == 9


def test_agents_may_read_intents_but_not_change_them(desk):
    intent, *_ = teach(desk)
    assert selectors.access_intent(desk.agent_actor, intent.pk) == intent
    with pytest.raises(PermissionDenied):
        services.create_intent(actor=desk.agent_actor, name="new_one", examples=SMALL["greeting"])
    with pytest.raises(PermissionDenied):
        services.update_intent(actor=desk.agent_actor, intent=intent, description="mine")
    with pytest.raises(PermissionDenied):
        services.delete_intent(actor=desk.agent_actor, intent=intent)
    with pytest.raises(PermissionDenied):
        services.train_workspace(workspace_id=desk.id, actor=desk.agent_actor)
    with pytest.raises(PermissionDenied):
        services.update_bot_settings(actor=desk.agent_actor, enabled=True)
    assert Intent.objects.count() == 4 and not TrainedModel.objects.exists() and not BotSettings.objects.exists()


def test_a_workspace_cannot_read_or_change_another_workspaces_intents(desk, other_desk):
    intent, *_ = teach(desk)
    with pytest.raises(NotFound):
        selectors.access_intent(other_desk.supervisor_actor, intent.pk)
    assert not selectors.intents_for(other_desk.supervisor_actor).exists()
    with pytest.raises(NotFound):
        services.update_intent(actor=other_desk.supervisor_actor, intent=intent, description="theirs")
    with pytest.raises(NotFound):
        services.delete_intent(actor=other_desk.supervisor_actor, intent=intent)
    foreign_skill = accounts.create_skill(actor=other_desk.supervisor_actor, name="Orders")
    with pytest.raises(NotFound):
        services.create_intent(actor=desk.supervisor_actor, name="cancel", examples=SMALL["greeting"][:5],
                               handoff_skill=foreign_skill)
    # the same text may be another workspace's example of another intent
    services.create_intent(actor=other_desk.supervisor_actor, name="status", examples=SMALL["order_status"])
    intent.refresh_from_db()
    assert intent.description == "" and Intent.objects.filter(workspace_id=desk.id).count() == 4


# ---- training and classifying ---------------------------------------------------------------------------


def test_training_a_workspace_stores_its_model_and_classify_uses_it(desk, django_assert_max_num_queries):
    teach(desk)
    model = services.train_workspace(workspace_id=desk.id, actor=desk.supervisor_actor, mode="linear")
    assert model.mode == "linear" and model.source == "intents" and sorted(model.intents) == sorted(SMALL)
    assert model.size_bytes == len(bytes(model.blob)) > 0 and model.metrics["examples"] == 32
    assert model.created_by_id == desk.supervisor.pk and not selectors.model_is_stale(model)
    assert AuditEntry.objects.filter(action="bot_model.trained", object_id=str(model.pk)).exists()
    found = services.classify(desk.id, "where's my parcel?")
    assert found.intent == "order_status" and found.model_id == model.pk and found.mode == "linear"
    assert found.as_dict()["intent"] == "order_status" and found.threshold == model.metrics["threshold"]
    assert services.classify(desk.id, "qwzx vbnm 😀").out_of_scope
    with django_assert_max_num_queries(2):  # the current model's id and the settings; the model is cached
        services.classify(desk.id, "hello")


def test_a_workspace_without_a_model_never_guesses(desk):
    found = services.classify(desk.id, "where is my order")
    assert found.out_of_scope and found.intent is None and found.model_id is None and found.ranking == []


def test_fewer_than_two_intents_cannot_be_trained(desk):
    with pytest.raises(ValidationFailed, match="at least two intents") as refused:
        services.train_workspace(workspace_id=desk.id, actor=desk.supervisor_actor)
    teach(desk, {"refund": SMALL["refund"]})
    with pytest.raises(ValidationFailed, match="at least two intents"):
        services.train_workspace(workspace_id=desk.id)
    assert refused.value.code == "not_enough_intents" and not TrainedModel.objects.exists()


def test_a_workspace_cannot_train_another_or_use_its_model(desk, other_desk):
    teach(desk)
    with pytest.raises(NotFound):
        services.train_workspace(workspace_id=desk.id, actor=other_desk.supervisor_actor)
    model = services.train_workspace(workspace_id=desk.id, mode="linear")
    with pytest.raises(NotFound):
        selectors.access_model(other_desk.agent_actor, model.pk)
    assert not selectors.models_for(other_desk.admin_actor).exists()
    assert services.classify(other_desk.id, "where is my order").model_id is None
    assert selectors.access_model(desk.agent_actor, model.pk) == model


def test_a_changed_intent_makes_the_model_stale_until_retrained(desk):
    intent, *_ = teach(desk)
    model = services.train_workspace(workspace_id=desk.id, mode="linear")
    services.update_intent(actor=desk.supervisor_actor, intent=intent, examples=[*intent.examples, "and another one"])
    assert selectors.model_is_stale(model)
    newer = services.train_workspace(workspace_id=desk.id, mode="linear")
    assert not selectors.model_is_stale(newer) and selectors.current_model(desk.id) == newer


def test_only_the_newest_models_are_kept_and_the_newest_answers(desk, monkeypatch):
    teach(desk)
    monkeypatch.setattr(services, "KEEP_MODELS", 2)
    first = services.train_workspace(workspace_id=desk.id, mode="linear")
    services.train_workspace(workspace_id=desk.id, mode="linear")
    third = services.train_workspace(workspace_id=desk.id, mode="linear")
    assert TrainedModel.objects.filter(workspace_id=desk.id).count() == 2
    assert not TrainedModel.objects.filter(pk=first.pk).exists()
    assert services.classify(desk.id, "hello").model_id == third.pk


def test_the_model_is_loaded_from_the_database_once_per_process(desk, monkeypatch):
    teach(desk)
    model = services.train_workspace(workspace_id=desk.id, mode="linear")
    services.forget_cached_models()
    loads = []
    original = IntentClassifier.from_bytes.__func__

    def counting(cls, data):
        loads.append(len(data))
        return original(cls, data)

    monkeypatch.setattr(IntentClassifier, "from_bytes", classmethod(counting))
    for text in ("hello", "where is my order", "refund please"):
        assert services.classify(desk.id, text).model_id == model.pk
    assert len(loads) == 1


def test_a_model_this_version_cannot_load_leaves_the_bot_out_of_scope(desk):
    teach(desk)
    model = services.train_workspace(workspace_id=desk.id, mode="linear")
    TrainedModel.objects.filter(pk=model.pk).update(blob=b"not a model")
    services.forget_cached_models()
    found = services.classify(desk.id, "where is my order")
    assert found.out_of_scope and found.model_id == model.pk and found.mode is None


def test_the_workspace_threshold_overrides_the_calibrated_one(desk):
    teach(desk)
    services.train_workspace(workspace_id=desk.id, mode="linear")
    services.update_bot_settings(actor=desk.supervisor_actor, confidence_threshold=0.99)
    strict = services.classify(desk.id, "where's my parcel?")
    assert strict.out_of_scope and strict.threshold == 0.99
    services.update_bot_settings(actor=desk.supervisor_actor, confidence_threshold=None)
    assert not services.classify(desk.id, "where's my parcel?").out_of_scope


def test_training_from_given_examples_stores_a_model_for_the_workspace(desk):
    examples = [(text, intent) for intent, texts in SMALL.items() for text in texts]
    model = services.train_from_examples(workspace_id=desk.id, examples=examples, source="csv:small.csv",
                                         mode="linear")
    assert model.source == "csv:small.csv" and not selectors.model_is_stale(model)
    assert services.classify(desk.id, "hi there").intent == "greeting"
    with pytest.raises(ValidationFailed, match="at least 2 intents") as refused:
        services.train_from_examples(workspace_id=desk.id, examples=[("hi", "greeting")], source="csv:x")
    assert refused.value.code == "training_failed"


# ---- settings and the shipped intents ------------------------------------------------------------------------


def test_settings_have_defaults_until_changed(desk):
    settings = selectors.bot_settings(desk.id)
    assert settings.pk is None and not settings.enabled and settings.confidence_threshold is None
    assert settings.channels == ["webchat", "sms", "whatsapp"] and settings.max_failures == 2


@pytest.mark.parametrize(("change", "field"), [
    ({"confidence_threshold": 1.5}, "confidence_threshold"),
    ({"confidence_threshold": "high"}, "confidence_threshold"),
    ({"greeting": "  "}, "greeting"),
    ({"max_failures": 0}, "max_failures"),
    ({"order_number_prefix": "NW-100"}, "order_number_prefix"),
    ({"channels": ["fax"]}, "channels"),
    ({"name": ""}, "name"),
])
def test_bad_settings_are_refused_and_nothing_changes(desk, change, field):
    with pytest.raises(ValidationFailed) as refused:
        services.update_bot_settings(actor=desk.supervisor_actor, **change)
    assert refused.value.field == field and not BotSettings.objects.filter(greeting="  ").exists()
    assert selectors.bot_settings(desk.id).confidence_threshold is None


def test_turning_the_bot_on_adds_the_commerce_intents_and_trains(desk):
    orders = accounts.create_skill(actor=desk.supervisor_actor, name="Orders")
    own = services.create_intent(actor=desk.supervisor_actor, name="order_status",
                                 examples=["where is my order", "parcel?", "package?", "tracking?", "shipped?"])
    settings = services.update_bot_settings(actor=desk.supervisor_actor, enabled=True, order_number_prefix="nw-",
                                            mode="linear")
    assert settings.enabled and settings.default_intents_loaded_at is not None and settings.order_number_prefix == "NW"
    names = set(Intent.objects.filter(workspace_id=desk.id).values_list("name", flat=True))
    assert {"cancel_order", "return_item", "talk_to_human", "complaint", "greeting"} <= names and len(names) >= 19
    own.refresh_from_db()
    assert not own.built_in and own.examples[0] == "where is my order"  # the workspace's own intent is kept
    cancel = Intent.objects.get(workspace_id=desk.id, name="cancel_order")
    assert cancel.built_in and cancel.handoff_skill == orders and len(cancel.examples) >= 25
    assert all("where is my order" not in i.examples for i in Intent.objects.filter(built_in=True))
    model = selectors.current_model(desk.id)
    assert model is not None and model.source == "intents"
    assert services.classify(desk.id, "I want to cancel my order").intent == "cancel_order"
    # turning it off and on again neither adds the intents again nor retrains an up-to-date model
    services.update_bot_settings(actor=desk.supervisor_actor, enabled=False)
    services.update_bot_settings(actor=desk.supervisor_actor, enabled=True, mode="linear")
    assert Intent.objects.filter(workspace_id=desk.id).count() == len(names)
    assert TrainedModel.objects.filter(workspace_id=desk.id).count() == 1


def test_the_bot_cannot_be_turned_on_without_intents_to_answer(desk):
    services.install_default_intents(actor=desk.supervisor_actor)
    Intent.objects.filter(workspace_id=desk.id).delete()
    with pytest.raises(ValidationFailed, match="at least two intents"):
        services.update_bot_settings(actor=desk.supervisor_actor, enabled=True)
    assert not selectors.bot_settings(desk.id).enabled


def test_understand_reads_intent_and_entities_with_the_order_prefix(desk):
    teach(desk)
    services.train_workspace(workspace_id=desk.id, mode="linear")
    services.update_bot_settings(actor=desk.supervisor_actor, order_number_prefix="NW")
    found = services.understand(desk.id, "where is my order nw100234, it was $80", today=date(2026, 3, 4))
    assert found.classification.intent == "order_status"
    assert found.entities.order_numbers == ("NW-100234",)
    assert found.entities.money[0].amount == Decimal("80")
