"""How the bot does, as KPIS.md defines it, over the conversations it started in a period.

Counting (each conversation is counted in the period in which the bot started it):
- **started**: conversations the bot answered first (one BotSession each).
- **contained**: those the bot resolved with no human message in the conversation: the customer said
  that was all ("That's all, thanks", goodbye: `contained_confirmed`), or did not write again for
  BOT_INACTIVITY_S after the bot's last answer (`contained_idle`). A conversation a person resolved, or
  in which a person wrote, is never contained.
- **handed_off**: those the bot passed to people (`handoff_reasons` says why); **taken_over**: those an
  agent took before the bot let go; **active**: still with the bot.
- **containment_rate** = contained / started; **handoff_rate** = handed_off / started (None with nothing
  started).
- **intents**: per intent, the turns the bot read as that intent and the conversations whose task it
  was, with how many of those were contained and handed off; **fallback_rate** = out-of-scope turns /
  turns (turns counted in the period they happened).
- **first_response_after_handoff**: for handed-off conversations a person has answered, the first
  response time measured from the handoff (seconds: mean, median, 90th percentile).
- **intent_confusion**: from the trained model, the intents it mixed up on the examples held out at
  training time (`model`); live, the conversations where an agent re-tagged the intent (`live`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q

from touchpoint.bot.models import BotSession, BotTurn, Resolution, SessionState, TrainedModel
from touchpoint.conversations.models import Message, MessageKind, SenderType
from touchpoint.conversations.selectors import first_response_time
from touchpoint.core.clock import now
from touchpoint.core.errors import ValidationFailed
from touchpoint.core.permissions import Actor, Role

DEFAULT_PERIOD = timedelta(days=30)
MAX_PERIOD = timedelta(days=400)
OUT_OF_SCOPE = "(out of scope)"
CONFUSION_PAIRS = 10


@dataclass
class Durations:
    count: int = 0
    mean_s: float | None = None
    median_s: float | None = None
    p90_s: float | None = None

    @classmethod
    def of(cls, values: list[float]) -> Durations:
        if not values:
            return cls()
        values = sorted(values)
        return cls(count=len(values), mean_s=round(sum(values) / len(values), 1), median_s=_quantile(values, 0.5),
                   p90_s=_quantile(values, 0.9))


@dataclass
class BotMetrics:
    since: datetime
    until: datetime
    channel: str | None
    started: int = 0
    contained: int = 0
    contained_confirmed: int = 0
    contained_idle: int = 0
    handed_off: int = 0
    taken_over: int = 0
    resolved_by_agent: int = 0
    active: int = 0
    containment_rate: float | None = None
    handoff_rate: float | None = None
    handoff_reasons: dict[str, int] = field(default_factory=dict)
    turns: int = 0
    fallback_turns: int = 0
    fallback_rate: float | None = None
    intents: list[dict] = field(default_factory=list)
    first_response_after_handoff: Durations = field(default_factory=Durations)
    intent_confusion: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def bot_metrics(actor: Actor, *, since: datetime | None = None, until: datetime | None = None,
                channel: str | None = None) -> BotMetrics:
    """The bot's KPIs for the actor's workspace (supervisors and admins), by default the last 30 days."""
    actor.require(Role.SUPERVISOR)
    until = until or now()
    since = since or until - DEFAULT_PERIOD
    if since >= until:
        raise ValidationFailed("`since` must be before `until`.", field="since")
    if until - since > MAX_PERIOD:
        raise ValidationFailed(f"Ask for at most {MAX_PERIOD.days} days at a time.", field="since")
    result = BotMetrics(since=since, until=until, channel=channel or None)
    sessions = BotSession.objects.filter(workspace_id=actor.workspace_id, started_at__gte=since, started_at__lt=until)
    turns = BotTurn.objects.filter(workspace_id=actor.workspace_id, at__gte=since, at__lt=until)
    if channel:
        sessions = sessions.filter(channel=channel)
        turns = turns.filter(session__channel=channel)
    human = Message.objects.filter(conversation_id=OuterRef("conversation_id"), kind=MessageKind.OUTGOING,
                                   sender_type=SenderType.AGENT)
    sessions = sessions.annotate(human=Exists(human))
    _outcomes(result, sessions)
    _intents(result, sessions, turns)
    _first_responses(result, sessions)
    result.intent_confusion = {"model": model_confusion(actor.workspace_id), "live": _retagged(sessions)}
    return result


def _contained() -> Q:
    return Q(state=SessionState.RESOLVED, resolution__in=(Resolution.CONFIRMED, Resolution.INACTIVITY), human=False)


def _outcomes(result: BotMetrics, sessions) -> None:
    counts = sessions.aggregate(
        started=Count("pk"),
        contained=Count("pk", filter=_contained()),
        confirmed=Count("pk", filter=_contained() & Q(resolution=Resolution.CONFIRMED)),
        idle=Count("pk", filter=_contained() & Q(resolution=Resolution.INACTIVITY)),
        handed_off=Count("pk", filter=Q(state=SessionState.HANDED_OFF)),
        taken_over=Count("pk", filter=Q(state=SessionState.TAKEN_OVER)),
        by_agent=Count("pk", filter=Q(state=SessionState.RESOLVED) & ~_contained()),
        active=Count("pk", filter=Q(state=SessionState.ACTIVE)),
    )
    result.started, result.contained = counts["started"], counts["contained"]
    result.contained_confirmed, result.contained_idle = counts["confirmed"], counts["idle"]
    result.handed_off, result.taken_over = counts["handed_off"], counts["taken_over"]
    result.resolved_by_agent, result.active = counts["by_agent"], counts["active"]
    result.containment_rate = _rate(result.contained, result.started)
    result.handoff_rate = _rate(result.handed_off, result.started)
    result.handoff_reasons = dict(sessions.filter(state=SessionState.HANDED_OFF).values_list("handoff_reason")
                                  .annotate(n=Count("pk")).order_by("-n", "handoff_reason"))


def _intents(result: BotMetrics, sessions, turns) -> None:
    by_turn = Counter({(intent or OUT_OF_SCOPE): n for intent, n in
                       turns.values_list("intent").annotate(n=Count("pk")).order_by()})
    result.turns = sum(by_turn.values())
    result.fallback_turns = turns.filter(out_of_scope=True).count()
    result.fallback_rate = _rate(result.fallback_turns, result.turns)
    rows = sessions.values("intent").annotate(
        sessions=Count("pk"), contained=Count("pk", filter=_contained()),
        handed_off=Count("pk", filter=Q(state=SessionState.HANDED_OFF))).order_by()
    by_session = {row["intent"] or OUT_OF_SCOPE: row for row in rows}
    names = sorted(set(by_turn) | set(by_session), key=lambda name: (-by_turn.get(name, 0), name))
    result.intents = [{"intent": name, "turns": by_turn.get(name, 0),
                       "conversations": by_session.get(name, {}).get("sessions", 0),
                       "contained": by_session.get(name, {}).get("contained", 0),
                       "handed_off": by_session.get(name, {}).get("handed_off", 0)} for name in names]


def _first_responses(result: BotMetrics, sessions) -> None:
    handed = sessions.filter(state=SessionState.HANDED_OFF, conversation__first_response_at__isnull=False)
    waits = [first_response_time(s.conversation) for s in handed.select_related("conversation")[:10_000]]
    result.first_response_after_handoff = Durations.of([w.total_seconds() for w in waits if w is not None])


def _retagged(sessions) -> list[dict]:
    rows = (sessions.exclude(corrected_intent="").exclude(corrected_intent=F("intent"))
            .values_list("intent", "corrected_intent").annotate(n=Count("pk")).order_by("-n"))
    return [{"bot": bot or OUT_OF_SCOPE, "agent": agent, "conversations": n} for bot, agent, n in rows[:CONFUSION_PAIRS]]


def model_confusion(workspace_id: int) -> dict:
    """The intents the workspace's current model confused on its held-out examples, most often first."""
    model = TrainedModel.objects.filter(workspace_id=workspace_id).only("pk", "created_at", "metrics").first()
    if model is None:
        return {"model_id": None, "pairs": [], "note": "No trained model yet."}
    metrics = model.metrics if isinstance(model.metrics, dict) else {}
    pairs = confusion_pairs(metrics)
    note = "" if pairs is not None else "This model was trained without a held-out split to measure confusion on."
    return {"model_id": model.pk, "trained_at": model.created_at, "pairs": pairs or [], "note": note}


def confusion_pairs(metrics: dict) -> list[dict] | None:
    """(expected, predicted, count) from the training metrics: a `confusion` list of such pairs, or a
    matrix with its labels; None when the training measured none."""
    found = metrics.get("confusion")
    if found is None and isinstance(metrics.get("calibration"), dict):
        found = metrics["calibration"].get("confusion")
    if isinstance(found, dict) and "labels" in found and "matrix" in found:
        labels, matrix = found["labels"], found["matrix"]
        found = [{"expected": labels[i], "predicted": labels[j], "count": n}
                 for i, row in enumerate(matrix) for j, n in enumerate(row) if i != j and n]
    if not isinstance(found, list):
        return None
    pairs = [{"expected": str(p.get("expected")), "predicted": str(p.get("predicted")), "count": int(p.get("count", 0))}
             for p in found if isinstance(p, dict) and p.get("expected") != p.get("predicted") and p.get("count")]
    return sorted(pairs, key=lambda p: (-p["count"], p["expected"], p["predicted"]))[:CONFUSION_PAIRS]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile of sorted values (the 90th percentile of ten values is the ninth)."""
    rank = max(1, math.ceil(q * len(values)))
    return round(values[rank - 1], 1)
