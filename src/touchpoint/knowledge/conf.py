"""The knowledge base's settings: a Django setting of the same name wins, then the environment variable,
then the default. (They live here rather than in settings.py so the app carries its own.)"""

import os
from typing import Any

from django.conf import settings


def _value(name: str, default: Any, cast: type) -> Any:
    if hasattr(settings, name):
        return getattr(settings, name)
    raw = os.environ.get(name)
    if raw is None:
        return default
    if cast is bool:
        return raw.lower() in ("1", "true", "yes", "on")
    return cast(raw)


def semantic_enabled() -> bool:
    """KNOWLEDGE_SEMANTIC (default on): semantic search when the ml extra is installed."""
    return _value("KNOWLEDGE_SEMANTIC", True, bool)


def feedback_per_hour() -> int:
    """KNOWLEDGE_FEEDBACK_PER_HOUR (10): "Did this help?" answers one visitor may give in an hour."""
    return _value("KNOWLEDGE_FEEDBACK_PER_HOUR", 10, int)


def feedback_per_hour_per_address() -> int:
    """KNOWLEDGE_FEEDBACK_PER_HOUR_PER_IP (60): the same from one network address (cookie-less bots)."""
    return _value("KNOWLEDGE_FEEDBACK_PER_HOUR_PER_IP", 60, int)


def searches_per_minute() -> int:
    """KNOWLEDGE_SEARCHES_PER_MINUTE (30): help-center searches per visitor and per address in a minute."""
    return _value("KNOWLEDGE_SEARCHES_PER_MINUTE", 30, int)


def semantic_min_similarity() -> float:
    """KNOWLEDGE_SEMANTIC_MIN_SIMILARITY (0.3): below this cosine similarity an article is no semantic match."""
    return _value("KNOWLEDGE_SEMANTIC_MIN_SIMILARITY", 0.3, float)
