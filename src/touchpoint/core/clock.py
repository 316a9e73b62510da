"""One place to read the time, so tests and the demo can move it."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
