"""API for the bot's language understanding: intents, training, models, settings, and trying a message.

Everyone in the workspace reads; supervisors and admins write (the services decide, so a refusal is
403 whoever calls). Training runs in the request: a second for a few hundred examples (linear), a
few seconds with embeddings."""

from django.http import HttpRequest
from ninja import Query, Router, Status

from touchpoint.accounts.selectors import access_skill
from touchpoint.bot import handoff, metrics, selectors, services, turns
from touchpoint.bot.models import BotSession, BotSettings, Intent, TrainedModel
from touchpoint.bot.schemas import (
    BotMetricsOut,
    BotSessionOut,
    ClassifyIn,
    ClassifyOut,
    IntentIn,
    IntentOut,
    IntentPatch,
    IntentQuery,
    MetricsQuery,
    ModelOut,
    RetagIn,
    SettingsOut,
    SettingsPatch,
    TrainIn,
)
from touchpoint.conversations.selectors import access_conversation
from touchpoint.core.api import Id, Keyset, Page, actor, page_of
from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Role

router = Router(tags=["bot"])

INTENTS = Keyset("bot.intents", "created_at", descending=False)
MODELS = Keyset("bot.models", "created_at", descending=True)


# ---- intents ----------------------------------------------------------------------------------------


def _intent(request: HttpRequest, intent_id: int) -> Intent:
    return selectors.access_intent(actor(request), intent_id)


@router.get("/bot/intents", response=Page[IntentOut], summary="List the bot's intents")
def list_intents(request: HttpRequest, params: Query[IntentQuery]) -> dict:
    qs = selectors.intents_for(actor(request)).select_related("handoff_skill")
    return page_of(INTENTS, qs, cursor=params.cursor, limit=params.limit)


@router.post("/bot/intents", response={201: IntentOut}, summary="Teach an intent (supervisor)")
def create_intent(request: HttpRequest, payload: IntentIn) -> Status:
    who = actor(request)
    who.require(Role.SUPERVISOR)
    skill = access_skill(who, payload.handoff_skill_id) if payload.handoff_skill_id is not None else None
    intent = services.create_intent(actor=who, name=payload.name, description=payload.description,
                                    examples=payload.examples, handoff_skill=skill)
    return Status(201, _intent(request, intent.pk))


@router.post("/bot/intents/defaults", response={201: list[IntentOut]},
             summary="Add the shipped commerce intents (supervisor)")
def install_default_intents(request: HttpRequest) -> Status:
    """Those whose names the workspace does not use yet; its own intents are kept as they are."""
    added = services.install_default_intents(actor=actor(request))
    return Status(201, [_intent(request, intent.pk) for intent in added])


@router.get("/bot/intents/{intent_id}", response=IntentOut)
def get_intent(request: HttpRequest, intent_id: Id) -> Intent:
    return _intent(request, intent_id)


@router.patch("/bot/intents/{intent_id}", response=IntentOut, summary="Change an intent (supervisor)")
def update_intent(request: HttpRequest, intent_id: Id, payload: IntentPatch) -> Intent:
    who = actor(request)
    intent = _intent(request, intent_id)
    who.require(Role.SUPERVISOR)
    skill = services.KEEP
    if "handoff_skill_id" in payload.model_fields_set:
        skill = access_skill(who, payload.handoff_skill_id) if payload.handoff_skill_id is not None else None
    services.update_intent(actor=who, intent=intent, name=payload.name, description=payload.description,
                           examples=payload.examples, handoff_skill=skill)
    return _intent(request, intent_id)


@router.delete("/bot/intents/{intent_id}", response={204: None}, summary="Delete an intent (supervisor)")
def delete_intent(request: HttpRequest, intent_id: Id) -> Status:
    services.delete_intent(actor=actor(request), intent=_intent(request, intent_id))
    return Status(204, None)


# ---- training and models ----------------------------------------------------------------------------------


def _model_out(model: TrainedModel) -> dict:
    return {"id": model.pk, "created_at": model.created_at, "created_by": model.created_by, "mode": model.mode,
            "source": model.source, "intents": model.intents, "size_bytes": model.size_bytes, "metrics": model.metrics,
            "stale": selectors.model_is_stale(model)}


@router.post("/bot/train", response={201: ModelOut}, summary="Train the bot on its intents (supervisor)")
def train(request: HttpRequest, payload: TrainIn) -> Status:
    """The new model answers from the next message on, in every process."""
    who = actor(request)
    model = services.train_workspace(workspace_id=who.workspace_id, actor=who, mode=payload.mode)
    return Status(201, _model_out(selectors.access_model(who, model.pk)))


@router.get("/bot/models", response=Page[ModelOut], summary="The trained models, newest (the current one) first")
def list_models(request: HttpRequest, params: Query[IntentQuery]) -> dict:
    qs = selectors.models_for(actor(request)).select_related("created_by")
    found = page_of(MODELS, qs, cursor=params.cursor, limit=params.limit)
    return {"items": [_model_out(m) for m in found["items"]], "next_cursor": found["next_cursor"]}


@router.get("/bot/models/current", response=ModelOut, summary="The model the bot uses now")
def current_model(request: HttpRequest) -> dict:
    who = actor(request)
    model = selectors.models_for(who).select_related("created_by").first()
    if model is None:
        raise NotFound("This workspace has no trained model yet; POST /bot/train (or turn the bot on).")
    return _model_out(model)


@router.post("/bot/classify", response=ClassifyOut, summary="Try a message: its intent and entities")
def classify(request: HttpRequest, payload: ClassifyIn) -> dict:
    """What the bot would understand, with the current model and threshold. Nothing is stored."""
    who = actor(request)
    who.require(Role.AGENT)
    found = services.understand(who.workspace_id, payload.text)
    return {**found.classification.as_dict(), "entities": found.entities.as_dict()}


# ---- settings ---------------------------------------------------------------------------------------------


@router.get("/bot/settings", response=SettingsOut, summary="The bot's settings")
def get_settings(request: HttpRequest) -> BotSettings:
    who = actor(request)
    who.require(Role.AGENT)
    return selectors.bot_settings(who.workspace_id)


@router.patch("/bot/settings", response=SettingsOut, summary="Change the bot's settings (supervisor)")
def update_settings(request: HttpRequest, payload: SettingsPatch) -> BotSettings:
    who = actor(request)
    given = payload.model_dump(exclude_unset=True)
    threshold = given.pop("confidence_threshold", services.KEEP)
    # Through the dialogue's wrapper: a channel switched off hands its conversations to people at once.
    return turns.update_settings(actor=who, confidence_threshold=threshold, **given)


# ---- the bot in conversations: measurement and what it did ------------------------------------------------


@router.get("/bot/metrics", response=BotMetricsOut, summary="Containment, handoffs and intents "
            "(supervisor)")
def get_bot_metrics(request: HttpRequest, params: Query[MetricsQuery]) -> dict:
    return metrics.bot_metrics(actor(request), since=params.since, until=params.until,
                               channel=params.channel).as_dict()


def _bot_session(request: HttpRequest, conversation_id: int) -> BotSession:
    who = actor(request)
    conversation = access_conversation(who, conversation_id)
    found = BotSession.objects.filter(workspace_id=who.workspace_id, conversation=conversation).first()
    if found is None:
        raise NotFound(f"The bot did not answer conversation {conversation_id}.")
    return found


@router.get("/conversations/{conversation_id}/bot-session", response=BotSessionOut,
            summary="What the bot did in a conversation")
def get_bot_session(request: HttpRequest, conversation_id: Id) -> BotSession:
    return _bot_session(request, conversation_id)


@router.put("/conversations/{conversation_id}/bot-session/intent", response=BotSessionOut,
            summary="Say what a conversation the bot answered was really about")
def retag_bot_session(request: HttpRequest, conversation_id: Id, payload: RetagIn) -> BotSession:
    who = actor(request)
    session = _bot_session(request, conversation_id)
    handoff.correct_intent(actor=who, conversation=session.conversation, intent=payload.intent)
    return _bot_session(request, conversation_id)
