"""Reads of the bot's settings, intents and trained models, always inside one workspace.

Everyone in a workspace may read its intents and models (agents see what the bot was taught);
supervisors and admins change them (services.py)."""

import hashlib
import json

from django.db.models import QuerySet

from touchpoint.accounts.models import Skill
from touchpoint.bot.models import BotSettings, Intent, TrainedModel
from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Actor, Role


def bot_settings(workspace_id: int) -> BotSettings:
    """The workspace's settings; the defaults (unsaved) when it never changed them."""
    found = BotSettings.objects.filter(workspace_id=workspace_id).first()
    return found or BotSettings(workspace_id=workspace_id)


def intents_for(actor: Actor) -> QuerySet[Intent]:
    actor.require(Role.AGENT)
    return Intent.objects.filter(workspace_id=actor.workspace_id)


def access_intent(actor: Actor, intent_id: int) -> Intent:
    found = intents_for(actor).filter(pk=intent_id).select_related("handoff_skill").first()
    if found is None:
        raise NotFound(f"No intent with id {intent_id} in this workspace.")
    return found


def intent_named(workspace_id: int, name: str) -> Intent | None:
    return Intent.objects.filter(workspace_id=workspace_id, name=name).select_related("handoff_skill").first()


def handoff_skill_for(workspace_id: int, intent_name: str | None) -> Skill | None:
    """The skill an agent needs to take over a conversation about this intent (None: anyone)."""
    if not intent_name:
        return None
    intent = intent_named(workspace_id, intent_name)
    return intent.handoff_skill if intent is not None else None


def training_examples(workspace_id: int) -> list[tuple[str, str]]:
    """(text, intent) for every example of the workspace's intents, in a stable order."""
    rows = Intent.objects.filter(workspace_id=workspace_id).order_by("name").values_list("name", "examples")
    return [(text, name) for name, examples in rows for text in examples]


def examples_digest(examples: list[tuple[str, str]]) -> str:
    """A fingerprint of what a model is trained on: equal digests, equal training data."""
    canonical = json.dumps(sorted(examples), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def current_model(workspace_id: int) -> TrainedModel | None:
    """The model the bot uses (the newest), without its blob."""
    return TrainedModel.objects.filter(workspace_id=workspace_id).defer("blob").first()


def current_model_key(workspace_id: int) -> tuple[int, str] | None:
    """(id, created_at) of the workspace's current model: what the classifier cache is keyed by."""
    found = TrainedModel.objects.filter(workspace_id=workspace_id).values_list("pk", "created_at").first()
    return (found[0], found[1].isoformat()) if found else None


def model_key(model: TrainedModel) -> tuple[int, str]:
    return model.pk, model.created_at.isoformat()


def models_for(actor: Actor) -> QuerySet[TrainedModel]:
    actor.require(Role.AGENT)
    return TrainedModel.objects.filter(workspace_id=actor.workspace_id).defer("blob")


def access_model(actor: Actor, model_id: int) -> TrainedModel:
    found = models_for(actor).filter(pk=model_id).first()
    if found is None:
        raise NotFound(f"No trained model with id {model_id} in this workspace.")
    return found


def model_is_stale(model: TrainedModel) -> bool:
    """Whether the workspace's intents changed since this model was trained from them."""
    if model.source != "intents":
        return False
    return model.examples_digest != examples_digest(training_examples(model.workspace_id))
