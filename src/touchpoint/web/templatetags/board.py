"""Display helpers of the wallboard and the agent's panel: durations and rates read at a glance."""

from django import template

register = template.Library()

NONE = "—"  # nothing to measure yet (no contact, no capacity): not zero
KIND_NAMES = {"voice": ("call", "calls"), "chat": ("chat", "chats"), "message": ("message", "messages")}


@register.filter
def duration(seconds: float | None) -> str:
    """45 s, 3 min 05 s, 2 h 05 min: precise where seconds matter, short where they do not."""
    if seconds is None:
        return NONE
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


@register.filter
def percent(rate: float | None) -> str:
    """0.7777… → 77.8 %."""
    return NONE if rate is None else f"{rate * 100:.1f} %"


@register.filter
def kinds(name: str, count: int = 2) -> str:
    """A work kind as people say it: calls, chats, messages."""
    singular, plural = KIND_NAMES.get(name, (name, name))
    return singular if count == 1 else plural


@register.filter
def get(mapping: dict, key: str):
    return mapping.get(key) if mapping else None
