"""Every write of the bot's language understanding, and `classify` / `understand`, what the dialogue calls.

Who may do what: supervisors and admins teach intents, train models and change the bot's settings;
every member of the workspace may read them and try the classifier.

Training is CPU work of a second (a few hundred examples, linear) to a minute (10,000, with
embeddings), so `train_workspace` reads the examples, trains outside any transaction, and writes the
model in one short transaction: a long training never holds the database's write lock.

`classify(workspace_id, text)` reads the id of the workspace's newest model (one indexed query) and
keeps the loaded classifier in an in-process cache keyed by that id: a retrained model has a new id,
so every process picks it up on its next message, and an old one simply ages out of the cache.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction

from touchpoint.accounts.models import Skill
from touchpoint.bot import corpus, selectors
from touchpoint.bot.entities import CatalogVocabulary, Entities, extract_entities
from touchpoint.bot.models import BOT_CHANNELS, BotSettings, Intent, TrainedModel
from touchpoint.bot.nlu import (
    MODE_AUTO,
    IntentClassifier,
    IntentPrediction,
    ModelFileError,
    TrainingError,
    TrainingParams,
)
from touchpoint.core import audit
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, NotFound, ValidationFailed
from touchpoint.core.permissions import Actor, Role, check_same_workspace

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
MIN_EXAMPLES = 5
MAX_EXAMPLES = 1_000
MAX_EXAMPLE_CHARS = 500
MAX_DESCRIPTION = 300
MAX_MESSAGE = 2_000
MAX_PREFIX = 8
KEEP_MODELS = 5  # older trainings beyond these are deleted
MODEL_CACHE_SIZE = 16

# The shipped intents' descriptions and the skill (by name, when the workspace has it) their handoff needs.
DEFAULT_INTENTS: dict[str, tuple[str, str | None]] = {
    "order_status": ("Where an order is: status, tracking, delivery estimate (also \"where is my order\").",
                     "Orders"),
    "cancel_order": ("Cancel an order or part of it.", "Orders"),
    "return_item": ("Send something back or exchange it; the return policy and label.", "Returns"),
    "refund_status": ("A refund: when it arrives, or asking for one.", "Billing"),
    "shipping_cost": ("What delivery costs; free-shipping thresholds.", "Orders"),
    "delivery_time": ("How long delivery takes before ordering; delivery options.", "Orders"),
    "product_search": ("Looking for a product by type, attributes or price.", None),
    "stock_check": ("Whether a product or size is in stock, and when it comes back.", None),
    "opening_hours": ("When the store and support are open.", None),
    "talk_to_human": ("The customer asks for a person.", None),
    "greeting": ("Hello.", None),
    "goodbye": ("The customer is done.", None),
    "thanks": ("Thanks.", None),
    "change_address": ("Change the delivery address of an order.", "Orders"),
    "payment_problem": ("A declined card, a double charge, payment methods.", "Billing"),
    "discount_code": ("Promo codes, vouchers, gift cards, sales.", "Billing"),
    "size_guide": ("Which size to choose; how products fit.", None),
    "warranty": ("A broken or faulty product; warranty and repairs.", "Returns"),
    "complaint": ("The customer is unhappy and wants to complain.", None),
}


class _Keep:
    """The value of an optional argument that leaves a field as it is (None means "none")."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


# ---- intents ----------------------------------------------------------------------------------------


@transaction.atomic
def create_intent(*, actor: Actor, name: str, examples: Sequence[str], description: str = "",
                  handoff_skill: Skill | None = None) -> Intent:
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, handoff_skill)
    at = now()
    intent = Intent(workspace_id=actor.workspace_id, name=_name(name), description=_description(description),
                    handoff_skill=handoff_skill, created_at=at, updated_at=at)
    intent.examples = _examples(actor.workspace_id, intent.name, examples, exclude_id=None)
    _save_unique(intent)
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="bot_intent.created",
                 obj=intent, data={"name": intent.name, "examples": len(intent.examples)})
    return intent


@transaction.atomic
def update_intent(*, actor: Actor, intent: Intent, name: str | None = None, description: str | None = None,
                  examples: Sequence[str] | None = None, handoff_skill: Skill | None = KEEP) -> Intent:
    """Change what is given; `handoff_skill=None` removes the skill, leaving it out keeps it. A changed
    intent is used once the workspace's model is trained again."""
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, intent)
    if name is not None:
        intent.name = _name(name)
    if description is not None:
        intent.description = _description(description)
    if examples is not None or name is not None:
        intent.examples = _examples(actor.workspace_id, intent.name,
                                    intent.examples if examples is None else examples, exclude_id=intent.pk)
    if handoff_skill is not KEEP:
        check_same_workspace(actor, handoff_skill)
        intent.handoff_skill = handoff_skill
    intent.updated_at = now()
    _save_unique(intent)
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="bot_intent.updated",
                 obj=intent, data={"name": intent.name, "examples": len(intent.examples)})
    return intent


@transaction.atomic
def delete_intent(*, actor: Actor, intent: Intent) -> None:
    actor.require(Role.SUPERVISOR)
    check_same_workspace(actor, intent)
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="bot_intent.deleted",
                 obj=intent, data={"name": intent.name})
    intent.delete()


@transaction.atomic
def install_default_intents(*, actor: Actor) -> list[Intent]:
    """Add the shipped commerce intents (bot/data/commerce_intents.csv) whose names the workspace does
    not use yet; its own intents are left as they are. Returns the intents added."""
    actor.require(Role.SUPERVISOR)
    settings = _settings_for_update(actor.workspace_id)
    added = _install_defaults(actor, settings)
    settings.default_intents_loaded_at = now()
    settings.updated_at = now()
    settings.save()
    return added


def _install_defaults(actor: Actor, settings: BotSettings) -> list[Intent]:
    shipped = corpus.shipped()
    taken = set(Intent.objects.filter(workspace_id=actor.workspace_id).values_list("name", flat=True))
    skills = {s.name.lower(): s for s in Skill.objects.filter(workspace_id=actor.workspace_id)}
    taught = {_key(text): name for text, name in selectors.training_examples(actor.workspace_id)}
    by_intent: dict[str, list[str]] = {}
    for text, name in shipped.pairs():
        if _key(text) not in taught:  # the workspace's own example of the same words wins
            by_intent.setdefault(name, []).append(text)
    at = now()
    added = []
    for name, examples in by_intent.items():
        if name in taken or len(examples) < MIN_EXAMPLES:
            continue
        description, skill_name = DEFAULT_INTENTS.get(name, ("", None))
        intent = Intent(workspace_id=actor.workspace_id, name=name, description=description, examples=examples,
                        handoff_skill=skills.get(skill_name.lower()) if skill_name else None, built_in=True,
                        created_at=at, updated_at=at)
        intent.save()
        added.append(intent)
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="bot_intent.defaults_added",
                 obj=settings, data={"intents": [i.name for i in added]})
    return added


def _name(value: str) -> str:
    name = (value or "").strip()
    if not NAME_RE.match(name):
        raise ValidationFailed(f"The intent name {value!r} is not usable: use 2–64 lowercase letters, digits and "
                               "underscores, starting with a letter, e.g. order_status.", field="name")
    return name


def _description(value: str) -> str:
    if len(value or "") > MAX_DESCRIPTION:
        raise ValidationFailed(f"A description is at most {MAX_DESCRIPTION} characters.", field="description")
    return (value or "").strip()


def _key(text: str) -> str:
    """How two examples are compared: case and spacing do not make a different example."""
    return " ".join(text.casefold().split())


def _examples(workspace_id: int, name: str, examples: Sequence[str] | Any, *, exclude_id: int | None) -> list[str]:
    """The examples as stored: stripped, distinct, long enough a list, none taught as another intent."""
    if isinstance(examples, str) or not isinstance(examples, Sequence):
        raise ValidationFailed("Examples are a list of texts, e.g. [\"where is my order\", ...].", field="examples")
    cleaned: list[str] = []
    seen: dict[str, int] = {}
    for n, example in enumerate(examples, 1):
        if not isinstance(example, str) or not example.strip():
            raise ValidationFailed(f"Example {n} is empty; write what a customer would type.", field="examples")
        text = " ".join(example.split())
        if len(text) > MAX_EXAMPLE_CHARS:
            raise ValidationFailed(f"Example {n} is {len(text)} characters; at most {MAX_EXAMPLE_CHARS}.",
                                   field="examples")
        if _key(text) in seen:
            raise ValidationFailed(f"Example {n} ({text!r}) repeats example {seen[_key(text)]}; remove one.",
                                   code="duplicate_example", field="examples")
        seen[_key(text)] = n
        cleaned.append(text)
    if len(cleaned) < MIN_EXAMPLES:
        raise ValidationFailed(f"An intent needs at least {MIN_EXAMPLES} examples to be learnt; {name} has "
                               f"{len(cleaned)}. Add different ways a customer would say it.", field="examples")
    if len(cleaned) > MAX_EXAMPLES:
        raise ValidationFailed(f"An intent has at most {MAX_EXAMPLES} examples; {name} has {len(cleaned)}.",
                               field="examples")
    others = Intent.objects.filter(workspace_id=workspace_id).exclude(pk=exclude_id).values_list("name", "examples")
    for other, their_examples in others:
        clash = next((text for text in their_examples if _key(text) in seen), None)
        if clash is not None:
            raise ValidationFailed(f"The example {clash!r} is taught as intent {other} already; one text cannot "
                                   "mean two intents. Remove it from one of them.", code="duplicate_example",
                                   field="examples")
    return cleaned


# ---- settings ---------------------------------------------------------------------------------------


def update_bot_settings(
    *, actor: Actor, enabled: bool | None = None, confidence_threshold: float | None = KEEP,
    greeting: str | None = None, not_understood_message: str | None = None, handoff_message: str | None = None,
    handoff_offline_message: str | None = None, max_failures: int | None = None,
    order_number_prefix: str | None = None, name: str | None = None, channels: Sequence[str] | None = None,
    mode: str = MODE_AUTO,
) -> BotSettings:
    """Change what is given (`confidence_threshold=None`: back to the calibrated one). Turning the bot on
    the first time adds the shipped commerce intents and trains a model, so it answers at once."""
    actor.require(Role.SUPERVISOR)
    with transaction.atomic():
        settings = _settings_for_update(actor.workspace_id)
        first_enable = bool(enabled) and settings.default_intents_loaded_at is None
        if enabled is not None:
            settings.enabled = bool(enabled)
        if confidence_threshold is not KEEP:
            settings.confidence_threshold = _threshold(confidence_threshold)
        for field_name, value in (("greeting", greeting), ("not_understood_message", not_understood_message),
                                  ("handoff_message", handoff_message),
                                  ("handoff_offline_message", handoff_offline_message)):
            if value is not None:
                setattr(settings, field_name, _message(value, field_name))
        if max_failures is not None:
            if not isinstance(max_failures, int) or isinstance(max_failures, bool) or not 1 <= max_failures <= 10:
                raise ValidationFailed("max_failures is a whole number from 1 to 10.", field="max_failures")
            settings.max_failures = max_failures
        if order_number_prefix is not None:
            settings.order_number_prefix = _prefix(order_number_prefix)
        if name is not None:
            if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80:
                raise ValidationFailed("The bot's name is 1–80 characters.", field="name")
            settings.name = name.strip()
        if channels is not None:
            settings.channels = _channels(channels)
        if first_enable:
            _install_defaults(actor, settings)
            settings.default_intents_loaded_at = now()
        if settings.enabled and Intent.objects.filter(workspace_id=actor.workspace_id).count() < 2:
            raise ValidationFailed("The bot needs at least two intents to answer; add intents before turning it on.",
                                   code="not_enough_intents", field="enabled")
        settings.updated_at = now()
        settings.save()
        audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="bot_settings.updated",
                     obj=settings, data={"enabled": settings.enabled,
                                         "confidence_threshold": settings.confidence_threshold})
    if settings.enabled:
        model = selectors.current_model(actor.workspace_id)
        if model is None or selectors.model_is_stale(model):
            train_workspace(workspace_id=actor.workspace_id, actor=actor, mode=mode)
    return settings


def _channels(value: Sequence[str]) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence) or any(c not in BOT_CHANNELS for c in value):
        raise ValidationFailed(f"Channels are a list of {', '.join(BOT_CHANNELS)}.", field="channels")
    return list(dict.fromkeys(value))


def _settings_for_update(workspace_id: int) -> BotSettings:
    BotSettings.objects.get_or_create(workspace_id=workspace_id)
    return BotSettings.objects.select_for_update().get(workspace_id=workspace_id)


def _threshold(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= float(value) <= 1:
        raise ValidationFailed("The confidence threshold is a number from 0 to 1 (e.g. 0.5), or null for the "
                               "calibrated one.", field="confidence_threshold")
    return float(value)


def _message(value: str, field_name: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 1_000:
        raise ValidationFailed(f"{field_name} is 1–1,000 characters of text.", field=field_name)
    return value.strip()


def _prefix(value: str) -> str:
    prefix = value.strip().rstrip("-").upper()
    if prefix and (len(prefix) > MAX_PREFIX or not prefix.isalnum()):
        raise ValidationFailed(f"An order-number prefix is up to {MAX_PREFIX} letters or digits, e.g. NW for "
                               "NW-100234.", field="order_number_prefix")
    return prefix


# ---- training -----------------------------------------------------------------------------------------


def train_workspace(*, workspace_id: int, actor: Actor | None = None, mode: str = MODE_AUTO,
                    params: TrainingParams | None = None) -> TrainedModel:
    """Train from the workspace's intents and make the result its model. `actor` None: the system (the
    command line); otherwise a supervisor or admin of that workspace."""
    _check_trainer(actor, workspace_id)
    examples = selectors.training_examples(workspace_id)
    if len({name for _, name in examples}) < 2:
        raise ValidationFailed("The bot needs at least two intents with examples to learn from; add intents "
                               "(or turn the bot on to add the shipped commerce set).", code="not_enough_intents")
    return train_from_examples(workspace_id=workspace_id, examples=examples, actor=actor, mode=mode, params=params,
                               source="intents")


def train_from_examples(*, workspace_id: int, examples: Sequence[tuple[str, str]], source: str,
                        actor: Actor | None = None, mode: str = MODE_AUTO,
                        params: TrainingParams | None = None) -> TrainedModel:
    """Train from given (text, intent) pairs (e.g. a CSV file) and make the result the workspace's model."""
    _check_trainer(actor, workspace_id)
    try:
        classifier = IntentClassifier.train(examples, mode=mode, params=params)
    except TrainingError as error:
        raise ValidationFailed(str(error), code="training_failed") from None
    blob = classifier.to_bytes()
    with transaction.atomic():
        model = TrainedModel.objects.create(
            workspace_id=workspace_id, created_at=now(), created_by_id=actor.membership_id if actor else None,
            mode=classifier.trained_mode, source=source[:200], intents=list(classifier.intents),
            examples_digest=selectors.examples_digest(list(examples)), metrics=classifier.metrics,
            size_bytes=len(blob), blob=blob,
        )
        old = TrainedModel.objects.filter(workspace_id=workspace_id).values_list("pk", flat=True)[KEEP_MODELS:]
        TrainedModel.objects.filter(pk__in=list(old)).delete()
        audit.record(workspace_id=workspace_id, actor_id=actor.membership_id if actor else None,
                     action="bot_model.trained", obj=model,
                     data={"mode": model.mode, "intents": len(model.intents), "source": model.source,
                           "threshold": classifier.threshold})
    _remember(selectors.model_key(model), classifier)
    return model


def _check_trainer(actor: Actor | None, workspace_id: int) -> None:
    if actor is None:
        return
    actor.require(Role.SUPERVISOR)
    if actor.workspace_id != workspace_id:
        raise NotFound("No such workspace.")


# ---- classifying: what the dialogue calls ----------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    """An intent prediction with the model that made it (None when the workspace has no model yet)."""

    prediction: IntentPrediction
    model_id: int | None
    mode: str | None
    threshold: float | None

    @property
    def intent(self) -> str | None:
        return self.prediction.intent

    @property
    def confidence(self) -> float:
        return self.prediction.confidence

    @property
    def out_of_scope(self) -> bool:
        return self.prediction.out_of_scope

    @property
    def ranking(self) -> list[tuple[str, float]]:
        return self.prediction.ranking

    def as_dict(self) -> dict[str, Any]:
        return {**self.prediction.as_dict(), "model_id": self.model_id, "mode": self.mode, "threshold": self.threshold}


@dataclass(frozen=True)
class Understanding:
    classification: Classification
    entities: Entities


NO_MODEL = IntentPrediction(intent=None, confidence=0.0, ranking=[], out_of_scope=True)

_cache: OrderedDict[tuple[int, str], IntentClassifier] = OrderedDict()
_cache_lock = threading.Lock()


def classify(workspace_id: int, text: str) -> Classification:
    """The intent of a customer's message with the workspace's current model and threshold. Without a
    model (or with one this version cannot load) every message is out of scope: the bot does not guess."""
    current = selectors.current_model_key(workspace_id)
    if current is None:
        return Classification(NO_MODEL, None, None, None)
    model_id = current[0]
    classifier = load_classifier(current)
    if classifier is None:
        return Classification(NO_MODEL, model_id, None, None)
    threshold = selectors.bot_settings(workspace_id).confidence_threshold
    prediction = classifier.predict(text if isinstance(text, str) else "", threshold=threshold)
    return Classification(prediction, model_id, classifier.mode, threshold if threshold is not None
                          else classifier.threshold)


def understand(workspace_id: int, text: str, *, vocabulary: CatalogVocabulary | None = None,
               today: date | None = None, default_currency: str | None = None) -> Understanding:
    """Intent and entities of one message, with the workspace's order-number prefix."""
    prefix = selectors.bot_settings(workspace_id).order_number_prefix
    entities = extract_entities(text, vocabulary, today=today, order_prefixes=(prefix,) if prefix else (),
                                default_currency=default_currency)
    return Understanding(classify(workspace_id, text), entities)


def load_classifier(key: tuple[int, str]) -> IntentClassifier | None:
    """The classifier of a stored model, from this process's cache or unpickled once. `key` is the
    model's (id, created_at) from `selectors.current_model_key`: a restored database that reuses an id
    for another model does not get the old one's classifier."""
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    model_id = key[0]
    blob = TrainedModel.objects.filter(pk=model_id).values_list("blob", flat=True).first()
    if blob is None:
        return None
    try:
        classifier = IntentClassifier.from_bytes(bytes(blob))
    except ModelFileError:
        log.exception("intent model %s cannot be loaded; retrain the workspace's model", model_id)
        return None
    _remember(key, classifier)
    return classifier


def _remember(key: tuple[int, str], classifier: IntentClassifier) -> None:
    with _cache_lock:
        _cache[key] = classifier
        _cache.move_to_end(key)
        while len(_cache) > MODEL_CACHE_SIZE:
            _cache.popitem(last=False)


def forget_cached_models() -> None:
    """Empty this process's model cache (tests; a process that wants its memory back)."""
    with _cache_lock:
        _cache.clear()


# ---- shared -------------------------------------------------------------------------------------------


def _save_unique(intent: Intent) -> None:
    """Save; the unique index decides a duplicate name (two people saving the same name at once included)."""
    try:
        with transaction.atomic():
            intent.save()
    except IntegrityError:
        raise Conflict(f"An intent named {intent.name!r} exists already; choose another name.", field="name") from None
