"""The bot in the agent workspace: supervisors' settings page (switch it on per channel, its name and
messages, its intents and their examples, "Train now", how the model and the bot do), and the "Bot
summary" block of a conversation it handed over, where an agent can also say what it was really about.
The services check the role and every value again: these pages are a door, not the lock."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from touchpoint.accounts.selectors import skills_for
from touchpoint.bot import handoff, metrics, turns
from touchpoint.bot import selectors as bot_selectors
from touchpoint.bot import services as bot
from touchpoint.bot.models import BotSession
from touchpoint.conversations.selectors import access_conversation
from touchpoint.core.errors import DomainError, ValidationFailed
from touchpoint.core.permissions import Role
from touchpoint.web.access import DeskRequest, desk_view

SETTINGS_URL = "/settings/bot/"
CHANNEL_LABELS = {"webchat": "Web chat", "sms": "SMS", "whatsapp": "WhatsApp", "api": "API (inbound messages)"}


def _settings_page(request: DeskRequest, *, error: str = "", status: int = 200, notice: str = "") -> HttpResponse:
    actor = request.actor
    config = bot_selectors.bot_settings(actor.workspace_id)
    model = bot_selectors.current_model(actor.workspace_id)
    intents = list(bot_selectors.intents_for(actor).select_related("handoff_skill"))
    return render(request, "web/settings_bot.html", {
        "section": "bot", "config": config, "channels": CHANNEL_LABELS, "intents": intents, "model": model,
        "model_figures": _model_figures(model), "stale": model is not None and bot_selectors.model_is_stale(model),
        "figures": metrics.bot_metrics(actor), "skills": list(skills_for(actor)), "error": error, "notice": notice,
        "bot_name": turns.bot_identity(config)["name"],
    }, status=status)


def _model_figures(model) -> dict:
    """What the stored training metrics say, as the page shows them."""
    if model is None:
        return {}
    found = model.metrics if isinstance(model.metrics, dict) else {}
    held = (found.get("calibration") or {}).get(found.get("mode") or model.mode) or {}
    return {
        "mode": found.get("mode") or model.mode, "examples": found.get("examples"), "intents": found.get("intents"),
        "accuracy": held.get("held_out_accuracy"), "held_out": held.get("held_out"),
        "macro_f1": found.get("macro_f1", held.get("macro_f1")), "answered": held.get("answered"),
        "answered_accuracy": held.get("answered_accuracy"), "threshold": found.get("threshold"),
        "oos_recall": found.get("oos_recall", held.get("oos_recall")), "seconds": found.get("train_seconds"),
        "confusion": metrics.confusion_pairs(found) or [],
    }


@require_http_methods(["GET", "POST"])
@desk_view(Role.SUPERVISOR)
def bot_settings(request: DeskRequest) -> HttpResponse:
    if request.method == "GET":
        return _settings_page(request)
    data = request.POST
    try:
        threshold = data.get("confidence_threshold", "").strip()
        turns.update_settings(
            actor=request.actor, enabled=data.get("enabled") == "1", name=data.get("name", ""),
            channels=data.getlist("channels"),
            confidence_threshold=_number(threshold, "confidence_threshold") if threshold else None,
            greeting=data.get("greeting", ""), handoff_message=data.get("handoff_message", ""),
            handoff_offline_message=data.get("handoff_offline_message", ""),
            not_understood_message=data.get("not_understood_message", ""),
            max_failures=int(_number(data.get("max_failures", "2"), "max_failures")),
            order_number_prefix=data.get("order_number_prefix", ""))
    except DomainError as error:
        return _settings_page(request, error=error.message, status=error.status)
    return redirect(SETTINGS_URL)


def _number(value: str, field: str) -> float:
    try:
        return float(value.replace(",", "."))
    except ValueError:
        raise ValidationFailed(f"{field.replace('_', ' ').capitalize()} must be a number.", field=field) from None


@require_POST
@desk_view(Role.SUPERVISOR)
def train(request: DeskRequest) -> HttpResponse:
    """Train now, from the workspace's intents: the page then shows the new model's figures."""
    try:
        model = bot.train_workspace(workspace_id=request.actor.workspace_id, actor=request.actor)
    except DomainError as error:
        return _settings_page(request, error=error.message, status=error.status)
    return _settings_page(request, notice=f"Trained a {model.mode} model on {len(model.intents)} intents.")


@require_POST
@desk_view(Role.SUPERVISOR)
def create_intent(request: DeskRequest) -> HttpResponse:
    try:
        bot.create_intent(actor=request.actor, name=request.POST.get("name", ""),
                          examples=_lines(request.POST.get("examples", "")),
                          description=request.POST.get("description", ""),
                          handoff_skill=_skill(request, request.POST.get("handoff_skill", "")))
    except DomainError as error:
        return _settings_page(request, error=error.message, status=error.status)
    return redirect(SETTINGS_URL)


@require_http_methods(["GET", "POST"])
@desk_view(Role.SUPERVISOR)
def intent(request: DeskRequest, intent_id: int) -> HttpResponse:
    found = bot_selectors.access_intent(request.actor, intent_id)
    error, status = "", 200
    if request.method == "POST":
        try:
            bot.update_intent(actor=request.actor, intent=found, description=request.POST.get("description", ""),
                              examples=_lines(request.POST.get("examples", "")),
                              handoff_skill=_skill(request, request.POST.get("handoff_skill", "")))
        except DomainError as err:
            error, status = err.message, err.status
            found = bot_selectors.access_intent(request.actor, intent_id)
        else:
            return redirect(SETTINGS_URL)
    return render(request, "web/settings_bot_intent.html", {
        "section": "bot", "intent": found, "skills": list(skills_for(request.actor)), "error": error,
        "examples_text": request.POST.get("examples") if error else "\n".join(found.examples),
    }, status=status)


@require_POST
@desk_view(Role.SUPERVISOR)
def delete_intent(request: DeskRequest, intent_id: int) -> HttpResponse:
    bot.delete_intent(actor=request.actor, intent=bot_selectors.access_intent(request.actor, intent_id))
    return redirect(SETTINGS_URL)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _skill(request: DeskRequest, value: str):
    if not value.strip():
        return None
    if not value.isdigit():
        raise ValidationFailed("Choose a skill from the list, or none.", field="handoff_skill")
    found = skills_for(request.actor).filter(pk=int(value)).first()
    if found is None:
        raise ValidationFailed("That skill is not in this workspace.", field="handoff_skill")
    return found


# ---- the conversation pane's bot summary ---------------------------------------------------------------


@require_safe
@desk_view()
def summary(request: DeskRequest, conversation_id: int) -> HttpResponse:
    """The "Bot summary" block: loaded after the pane (nothing when the bot never answered it)."""
    conversation = access_conversation(request.actor, conversation_id)
    return _summary(request, conversation)


def _summary(request: DeskRequest, conversation, *, status: int = 200) -> HttpResponse:
    session = BotSession.objects.filter(workspace_id=request.actor.workspace_id, conversation=conversation).first()
    intents = [] if session is None else list(bot_selectors.intents_for(request.actor).values_list("name", flat=True))
    return render(request, "web/_bot_summary.html", {"conversation": conversation, "session": session,
                                                       "summary": handoff.shown_summary(session),
                                                       "intents": intents}, status=status)


@require_POST
@desk_view()
def correct_intent(request: DeskRequest, conversation_id: int) -> HttpResponse:
    """An agent says what the conversation was really about: live intent confusion for the metrics."""
    conversation = access_conversation(request.actor, conversation_id)
    handoff.correct_intent(actor=request.actor, conversation=conversation, intent=request.POST.get("intent", ""))
    if not request.htmx:
        return redirect(f"/conversations/{conversation_id}/")
    return _summary(request, conversation)
