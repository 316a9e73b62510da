"""What the API says about customers, their identities and their timeline."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StringConstraints

from touchpoint.core.api import Id, Input
from touchpoint.customers.models import IdentityKind

AttributeValue = str | int | float | bool
AttributeName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ConsentPurpose = Literal["email_marketing", "sms_marketing", "surveys", "tracking"]


class IdentityOut(Schema):
    id: int
    kind: IdentityKind
    value: str
    verified: bool = Field(description="A site's signature vouched for it (the widget's user_hash).")
    claimed: bool = Field(description="Only typed into the chat widget by a visitor, unconfirmed: it identifies "
                                      "them to nothing else; any other source naming it takes it over.")
    created_at: datetime


class CustomerOut(Schema):
    id: int
    name: str
    display_name: str
    language: str
    custom_attributes: dict[str, Any]
    consent: dict[str, Any] = Field(description='Per purpose: {"granted": bool, "at": ISO time, "by": user id}.')
    identities: list[IdentityOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_identities(obj) -> list:
        return list(obj.identities.all())


class IdentityIn(Input):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320, examples=["jo@example.com", "+44 20 7946 0958"])


class CustomerIn(Input):
    name: str = Field("", max_length=200)
    language: str = Field("", max_length=16, examples=["en", "fr-CA"])
    custom_attributes: dict[AttributeName, AttributeValue] = Field(default_factory=dict, max_length=200)
    identities: list[IdentityIn] = Field(default_factory=list, max_length=50)


class CustomerPatch(Input):
    name: str | None = Field(None, max_length=200)
    language: str | None = Field(None, max_length=16)
    custom_attributes: dict[AttributeName, AttributeValue | None] | None = Field(
        None, max_length=200, description="Merged into the existing attributes; a null value removes that attribute.",
    )
    consent: dict[ConsentPurpose, bool] | None = Field(None, description="Grant (true) or withdraw (false) per purpose.")


class MergeIn(Input):
    source_id: Id = Field(description="The duplicate customer to fold into this one.")


class TimelineEntryOut(Schema):
    at: datetime
    kind: str = Field(description="What happened, e.g. conversation.opened, message.incoming.")
    title: str
    body: str
    ref: dict[str, Any] = Field(description="Ids to link to, e.g. conversation_id.")


class TimelineOut(Schema):
    items: list[TimelineEntryOut]
    next_before: datetime | None = Field(description="Pass as `before` for older entries; null when there are none.")
