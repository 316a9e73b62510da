"""One place to read the time, so tests and the demo can move it."""

import zoneinfo
from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def within_business_hours(hours: dict, timezone_name: str, holidays: list[str] = (), at: datetime | None = None) -> bool:
    """Whether the desk is open at `at`: inside one of the day's ranges ({"mon": [["09:00", "17:00"]]}),
    in the workspace's own time zone, and not on one of its holidays (ISO dates). Days left out are closed."""
    local = (at or now()).astimezone(zoneinfo.ZoneInfo(timezone_name or "UTC"))
    if local.date().isoformat() in holidays:
        return False
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    clock = local.strftime("%H:%M")
    # A range ending at 23:59 covers the day's last minute too.
    return any(start <= clock < end or clock == end == "23:59" for start, end in hours.get(day, []))
