"""Text from outside made storable: what every channel's inbound text passes through before it is stored.

Two things in a Python string cannot be stored: NUL, which PostgreSQL refuses in text (SQLite keeps
it, so a desk would behave differently on each), and lone UTF-16 surrogates (a JSON "\\ud800" escape, an
undecodable byte kept by `surrogateescape`), which no UTF-8 database can encode. A customer's message
must not be lost for an invisible character, so free text is cleaned: NUL removed, a lone surrogate
replaced by U+FFFD (the replacement character), a pair of surrogates that arrived as two code points
joined into the character they encode. Identifiers (addresses, external ids) are not text to clean:
changing one would point at someone else, so they are refused instead (`check_identifier`)."""

import re

from touchpoint.core.errors import ValidationFailed

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str) -> str:
    """The text with NUL removed and lone surrogates replaced; storable text comes back as it was."""
    if not _UNSTORABLE.search(value):
        return value
    value = value.replace("\x00", "")
    # Through UTF-16, which can carry surrogates: pairs decode to their character, lone ones to U+FFFD.
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clean_data(value: object) -> object:
    """clean_text over every string of a JSON-like value (keys included), e.g. a message's metadata."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_data(k): clean_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_data(v) for v in value]
    return value


def check_identifier(value: str, field: str) -> str:
    """An identifier as given, or ValidationFailed if it holds characters that cannot be stored."""
    if _UNSTORABLE.search(value):
        raise ValidationFailed(f"The {field} contains characters that cannot be stored (NUL or a lone surrogate); "
                               "send it as plain text.", code="unstorable_text", field=field)
    return value
