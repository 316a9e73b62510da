"""Placeholders in canned replies and macro messages: `{{customer.first_name}}`, with a default after a
bar, `{{customer.first_name|there}}`, used when the value is missing.

Rendering produces plain text and escapes nothing: the text goes to the reply service as plain text,
which escapes it into HTML. That is what keeps a customer named `<script>…` inert, whatever the
template says around the name.

`{{order.number}}` reads an `order_number` custom field of the conversation, else the customer's latest
order in the commerce data, else a custom attribute `order_number` of the customer.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from touchpoint.accounts.models import Membership
from touchpoint.commerce.selectors import latest_order_number
from touchpoint.conversations.models import Conversation
from touchpoint.core.errors import ValidationFailed
from touchpoint.customers.models import IdentityKind

# {{ name }} or {{ name | default }}; the default runs to the closing braces and may hold spaces.
_PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}|]*?)\s*(?:\|([^{}]*))?\}\}")


@dataclass(frozen=True)
class Rendered:
    """The text to send, and the placeholders that had no value and no default (shown empty), so the
    agent can fill them in before sending."""

    text: str
    missing: list[str] = field(default_factory=list)


@dataclass
class PlaceholderContext:
    """What placeholders read: the conversation (with its customer) and the agent writing."""

    conversation: Conversation
    agent: Membership | None
    _email: str | None = None

    def customer_email(self) -> str:
        if self._email is None:
            identities = self.conversation.customer.identities.filter(kind=IdentityKind.EMAIL)
            self._email = identities.order_by("-verified", "created_at", "id").values_list("value", flat=True).first() or ""
        return self._email


def _customer_name(ctx: PlaceholderContext) -> str:
    return ctx.conversation.customer.name.strip()


def _first_name(ctx: PlaceholderContext) -> str:
    words = _customer_name(ctx).split()
    return words[0] if words else ""


def _order_number(ctx: PlaceholderContext) -> str:
    """The order this conversation is about when it says so (its `order_number` field), else the
    customer's latest order in the commerce data, else the customer's `order_number` attribute."""
    return (_attribute_order_number(ctx.conversation.custom_fields)
            or latest_order_number(ctx.conversation.customer_id)
            or _attribute_order_number(ctx.conversation.customer.custom_attributes))


def _attribute_order_number(source: object) -> str:
    value = source.get("order_number") if isinstance(source, dict) else None
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return ""


PLACEHOLDERS: dict[str, Callable[[PlaceholderContext], str]] = {
    "customer.name": _customer_name,
    "customer.first_name": _first_name,
    "customer.email": lambda ctx: ctx.customer_email(),
    "agent.name": lambda ctx: ctx.agent.display_name if ctx.agent else "",
    "conversation.id": lambda ctx: str(ctx.conversation.pk),
    "order.number": _order_number,
}


def unknown_placeholders(text: str) -> list[str]:
    """The names in `text` that are no placeholder, each once, in order of appearance."""
    names = (match.group(1) for match in _PLACEHOLDER_RE.finditer(text))
    return list(dict.fromkeys(name for name in names if name not in PLACEHOLDERS))


def check_placeholders(text: str, *, field_name: str, where: str = "") -> None:
    """Refuse a template that names placeholders we cannot fill: a typo found at save time, not when
    a customer receives `{{custmer.name}}`."""
    unknown = unknown_placeholders(text)
    if unknown:
        listed = ", ".join("{{" + name + "}}" for name in unknown)
        known = ", ".join("{{" + name + "}}" for name in PLACEHOLDERS)
        raise ValidationFailed(f"{where}Unknown placeholder{'s' if len(unknown) > 1 else ''} {listed}; use {known}, "
                               "optionally with a default as in {{customer.first_name|there}}.",
                               code="unknown_placeholder", field=field_name)


def render(text: str, ctx: PlaceholderContext) -> Rendered:
    """Fill every placeholder. A name that is unknown by now (the template predates a change) is left
    as written and reported missing, like an empty value without a default."""
    missing: list[str] = []
    values: dict[str, str] = {}

    def fill(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name not in PLACEHOLDERS:
            missing.append(name)
            return match.group(0)
        if name not in values:
            values[name] = PLACEHOLDERS[name](ctx)
        if values[name]:
            return values[name]
        if default is not None and default.strip():
            return default.strip()
        missing.append(name)
        return ""

    text = _PLACEHOLDER_RE.sub(fill, text)
    return Rendered(text=text, missing=list(dict.fromkeys(missing)))
