"""Small display helpers for the agent workspace."""

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


def _relative(value: datetime | None, this_year: str, older: str) -> str:
    """The time alone when it is today, else the given formats ({d} is the day without a leading zero)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    today = timezone.localtime()
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return local.strftime(this_year if local.year == today.year else older).replace("{d}", str(local.day))


@register.filter
def when(value: datetime | None) -> str:
    """Compact time for lists: 14:05 today, "Mar 3" this year, "Mar 3, 2025" before."""
    return _relative(value, "%b {d}", "%b {d}, %Y")


@register.filter
def stamp(value: datetime | None) -> str:
    """Full local time for titles and the thread."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


@register.filter
def moment(value: datetime | None) -> str:
    """Time with the day when it is not today: 14:05, "Nov 23, 14:05", "2025-11-23 14:05"."""
    return _relative(value, "%b {d}, %H:%M", "%Y-%m-%d %H:%M")


@register.filter
def sort_key(value: datetime) -> str:
    """What the live client compares to place a row: microseconds since the epoch, zero-padded."""
    return f"{int(value.timestamp() * 1_000_000):020d}"


@register.filter
def initials(name: str) -> str:
    parts = [p for p in str(name).split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


@register.filter
def filesize(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
