"""Small display helpers for the agent workspace."""

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def when(value: datetime | None) -> str:
    """Compact time for lists: 14:05 today, "Mar 3" this year, "Mar 3, 2025" before."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    today = timezone.localtime()
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return f"{local:%b} {local.day}"
    return f"{local:%b} {local.day}, {local.year}"


@register.filter
def stamp(value: datetime | None) -> str:
    """Full local time for titles and the thread."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


@register.filter
def moment(value: datetime | None) -> str:
    """Time with the day when it is not today: 14:05, "Nov 23, 14:05", "2025-11-23 14:05"."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    today = timezone.localtime()
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return f"{local:%b} {local.day}, {local:%H:%M}"
    return local.strftime("%Y-%m-%d %H:%M")


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
