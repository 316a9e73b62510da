"""Identity values in one canonical form, so the same person is recognised however they typed it."""

import re

import phonenumbers

from touchpoint.core.errors import ValidationFailed
from touchpoint.core.text import check_identifier
from touchpoint.customers.models import IdentityKind

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN_RE = re.compile(r"^[\w.:@/+-]{1,200}$")


def normalize(kind: str, value: str, *, default_region: str | None = None) -> str:
    if kind not in IdentityKind.values:
        raise ValidationFailed(f"Unknown identity kind {kind!r}; use one of {', '.join(IdentityKind.values)}.", field="kind")
    value = check_identifier((value or "").strip(), "value")
    if not value:
        raise ValidationFailed(f"An empty {kind} cannot identify anyone.", field="value")
    if kind == IdentityKind.EMAIL:
        return _email(value)
    if kind == IdentityKind.PHONE:
        return _phone(value, default_region)
    if kind == IdentityKind.SOCIAL:
        value = value.lower()
    if not _TOKEN_RE.match(value):
        raise ValidationFailed(f"{value!r} is not a valid {kind} identifier (letters, digits and . : @ / + - _).", field="value")
    return value


def _email(value: str) -> str:
    value = value.lower()
    if len(value) > 320 or not _EMAIL_RE.match(value):
        raise ValidationFailed(f"{value!r} is not an email address.", field="value")
    return value


def _phone(value: str, default_region: str | None) -> str:
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed(
            f"{value!r} is not a phone number; write it in international form, e.g. +44 20 7946 0958.", field="value"
        ) from None
    if not phonenumbers.is_possible_number(number):
        raise ValidationFailed(f"{value!r} is not a possible phone number.", field="value")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
