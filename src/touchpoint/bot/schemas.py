"""What the API says about the bot's intents, trained models, settings, and a classified message."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StringConstraints

from touchpoint.bot.models import BOT_CHANNELS
from touchpoint.bot.services import MAX_DESCRIPTION, MAX_EXAMPLE_CHARS, MAX_EXAMPLES, MAX_MESSAGE
from touchpoint.conversations.schemas import PersonRef
from touchpoint.core.api import Id, Input, Limit, When

IntentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Example = Annotated[str, StringConstraints(max_length=MAX_EXAMPLE_CHARS * 2)]
Message = Annotated[str, StringConstraints(max_length=1_000)]
Channel = Literal[BOT_CHANNELS]  # type: ignore[valid-type]

NAME_HELP = "2–64 lowercase letters, digits and underscores, starting with a letter; unique in the workspace."
EXAMPLES_HELP = ("What customers write for this intent: at least 5 different texts, each at most "
                 f"{MAX_EXAMPLE_CHARS} characters; no text twice, nor one another intent already has.")


class SkillRef(Schema):
    id: int
    name: str


class IntentOut(Schema):
    id: int
    name: str = Field(description=NAME_HELP)
    description: str
    examples: list[str]
    handoff_skill: SkillRef | None = Field(description="The skill an agent needs when the bot hands this intent "
                                                        "over; null: any agent.")
    built_in: bool = Field(description="From the shipped commerce set (added when the bot was first turned on).")
    created_at: datetime
    updated_at: datetime


class IntentQuery(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 50


class IntentIn(Input):
    name: IntentName = Field(description=NAME_HELP, examples=["order_status"])
    description: str = Field("", max_length=MAX_DESCRIPTION)
    examples: list[Example] = Field(max_length=MAX_EXAMPLES, description=EXAMPLES_HELP,
                                    examples=[["where is my order", "has my parcel shipped", "track my package",
                                               "my order has not arrived", "order status please"]])
    handoff_skill_id: Id | None = Field(None, description="A skill of this workspace; null or left out: none.")


class IntentPatch(Input):
    name: IntentName | None = Field(None, description=NAME_HELP)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)
    examples: list[Example] | None = Field(None, max_length=MAX_EXAMPLES, description="Replaces every example. "
                                           + EXAMPLES_HELP)
    handoff_skill_id: Id | None = Field(None, description="A skill, or null for none; left out: unchanged.")


class TrainIn(Input):
    mode: Literal["auto", "linear", "ml"] = Field("auto", description="linear: word and character n-grams; ml: "
                                                  "with sentence embeddings (needs the ml extra on the server); "
                                                  "auto: ml when installed.")


class ModelOut(Schema):
    id: int
    created_at: datetime
    created_by: PersonRef | None
    mode: str = Field(description="linear or ml: what it was trained with.")
    source: str = Field(description='"intents" (the workspace\'s intents) or "csv:<file>" (the command line).')
    intents: list[str]
    size_bytes: int
    metrics: dict[str, Any] = Field(description="examples, intents, the out-of-scope threshold, the held-out check "
                                                "(calibration) and the intents it confused there.")
    stale: bool = Field(description="The intents changed since: train again to use the changes.")


class ClassifyIn(Input):
    text: Annotated[str, StringConstraints(max_length=MAX_MESSAGE * 5)] = Field(
        description="A customer's message, as they would write it (only its start is read).",
        examples=["where is my order NW-100234?"])


class Ranked(Schema):
    intent: str
    p: float


class ClassifyOut(Schema):
    intent: str | None = Field(description="null when the message is out of scope: the bot would not guess.")
    confidence: float
    out_of_scope: bool
    ranking: list[Ranked] = Field(description="The most likely intents, best first (even when out of scope).")
    model_id: int | None = Field(description="The model that answered; null: the workspace has none yet.")
    mode: str | None
    threshold: float | None
    entities: dict[str, Any] = Field(description="Order numbers, money, a price range, dates and emails read from "
                                                 "the message.")


class SettingsOut(Schema):
    enabled: bool
    name: str
    channels: list[str]
    confidence_threshold: float | None = Field(description="Below it the bot does not guess; null: the threshold "
                                                           "calibrated with the model.")
    greeting: str
    not_understood_message: str
    handoff_message: str
    handoff_offline_message: str
    max_failures: int
    order_number_prefix: str
    default_intents_loaded_at: datetime | None
    updated_at: datetime | None


class SettingsPatch(Input):
    enabled: bool | None = Field(None, description="Turning it on the first time adds the shipped commerce intents "
                                                   "and trains a model.")
    name: Annotated[str, StringConstraints(max_length=80)] | None = None
    channels: list[Channel] | None = None
    confidence_threshold: float | None = Field(None, ge=0, le=1, description="0–1, or null for the calibrated one; "
                                                                            "left out: unchanged.")
    greeting: Message | None = None
    not_understood_message: Message | None = None
    handoff_message: Message | None = None
    handoff_offline_message: Message | None = None
    max_failures: int | None = Field(None, ge=1, le=10)
    order_number_prefix: Annotated[str, StringConstraints(max_length=9)] | None = Field(
        None, description='The store\'s order-number prefix, e.g. "NW" for NW-100234; "" for none.')



# ---- the bot in conversations: measurement and what it did (dialogue, handoff, metrics) -------------------


class MetricsQuery(Schema):
    since: When | None = Field(None, description="Start of the period (ISO 8601 with a time zone); default: "
                                                 "30 days before `until`.")
    until: When | None = Field(None, description="End of the period, excluded; default: now.")
    channel: Channel | None = Field(None, description="Only this channel.")


class DurationsOut(Schema):
    count: int
    mean_s: float | None
    median_s: float | None
    p90_s: float | None


class IntentFiguresOut(Schema):
    intent: str = Field(description="The intent, or \"(out of scope)\".")
    turns: int = Field(description="Customer messages the bot read as this intent in the period.")
    conversations: int = Field(description="Conversations started in the period whose task was this intent.")
    contained: int
    handed_off: int


class ConfusionPairOut(Schema):
    expected: str
    predicted: str
    count: int


class RetaggedOut(Schema):
    bot: str = Field(description="The intent the bot worked on.")
    agent: str = Field(description="The intent an agent said it really was.")
    conversations: int


class ModelConfusionOut(Schema):
    model_id: int | None
    trained_at: datetime | None = None
    pairs: list[ConfusionPairOut]
    note: str = ""


class ConfusionOut(Schema):
    model: ModelConfusionOut
    live: list[RetaggedOut]


class BotMetricsOut(Schema):
    """KPIS.md bot containment and handoff rate, with what they are made of. Conversations count in the
    period the bot started them; `contained` = resolved by the bot (the customer said that was all, or left
    for BOT_INACTIVITY_S) with no human message."""

    since: datetime
    until: datetime
    channel: str | None
    started: int
    contained: int
    contained_confirmed: int
    contained_idle: int
    handed_off: int
    taken_over: int = Field(description="An agent took the conversation before the bot let go.")
    resolved_by_agent: int
    active: int
    containment_rate: float | None = Field(description="contained / started; null with nothing started.")
    handoff_rate: float | None = Field(description="handed_off / started; null with nothing started.")
    handoff_reasons: dict[str, int]
    turns: int
    fallback_turns: int = Field(description="Messages the bot found out of scope.")
    fallback_rate: float | None
    intents: list[IntentFiguresOut]
    first_response_after_handoff: DurationsOut = Field(
        description="First response time of handed-off conversations, measured from the handoff (seconds).")
    intent_confusion: ConfusionOut


class BotSessionOut(Schema):
    conversation_id: int
    channel: str
    state: Literal["active", "handed_off", "taken_over", "resolved"]
    started_at: datetime
    last_turn_at: datetime
    turns: int
    intent: str
    confidence: float | None
    verification: str = Field(description="\"\" (not verified), verified_user (the widget's signed-in customer) or "
                                          "order_email (order number and its email).")
    handoff_reason: str
    handed_off_at: datetime | None
    resolution: str
    resolved_at: datetime | None
    corrected_intent: str
    summary: dict[str, Any] = Field(description="The structured summary agents got at the handoff ({} before).")


class RetagIn(Input):
    intent: str = Field(max_length=64, description="One of the workspace's intents, or \"\" to clear.")
