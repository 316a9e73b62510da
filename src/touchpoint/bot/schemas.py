"""What the API says about the bot's intents, trained models, settings, and a classified message."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StringConstraints

from touchpoint.bot.models import BOT_CHANNELS
from touchpoint.bot.services import MAX_DESCRIPTION, MAX_EXAMPLE_CHARS, MAX_EXAMPLES, MAX_MESSAGE
from touchpoint.conversations.schemas import PersonRef
from touchpoint.core.api import Id, Input, Limit

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
