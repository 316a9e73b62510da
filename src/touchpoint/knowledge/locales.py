"""The languages a help center can be written in.

A locale is a language code (`en`, `fr`) with an optional region (`pt-BR`). Only languages listed
here are accepted, so a typo such as `eng` is refused instead of creating a help center nobody can
reach. Each language also names the PostgreSQL text-search configuration that stems its words (the
same mapping lives in the search migration's SQL function)."""

import re

from touchpoint.core.errors import ValidationFailed

# code: (name in the language itself, PostgreSQL text-search configuration)
LANGUAGES: dict[str, tuple[str, str]] = {
    "ar": ("العربية", "arabic"),
    "ca": ("Català", "catalan"),
    "cs": ("Čeština", "simple"),
    "da": ("Dansk", "danish"),
    "de": ("Deutsch", "german"),
    "el": ("Ελληνικά", "greek"),
    "en": ("English", "english"),
    "es": ("Español", "spanish"),
    "fi": ("Suomi", "finnish"),
    "fr": ("Français", "french"),
    "he": ("עברית", "simple"),
    "hi": ("हिन्दी", "hindi"),
    "hu": ("Magyar", "hungarian"),
    "id": ("Bahasa Indonesia", "indonesian"),
    "it": ("Italiano", "italian"),
    "ja": ("日本語", "simple"),
    "ko": ("한국어", "simple"),
    "nb": ("Norsk bokmål", "norwegian"),
    "nl": ("Nederlands", "dutch"),
    "pl": ("Polski", "simple"),
    "pt": ("Português", "portuguese"),
    "ro": ("Română", "romanian"),
    "ru": ("Русский", "russian"),
    "sv": ("Svenska", "swedish"),
    "tr": ("Türkçe", "turkish"),
    "uk": ("Українська", "simple"),
    "zh": ("中文", "simple"),
}
DEFAULT_LOCALE = "en"
_LOCALE_RE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{2}|\d{3}))?$")


def normalize_locale(value: str, *, field: str = "locale") -> str:
    """`en`, `pt-BR`: the language lower-case, the region upper-case; refused when the language is unknown."""
    match = _LOCALE_RE.match((value or "").strip())
    if not match or match.group(1).lower() not in LANGUAGES:
        known = ", ".join(sorted(LANGUAGES))
        raise ValidationFailed(f"Unknown locale {value!r}: use a language code such as en, fr or pt-BR "
                               f"(languages: {known}).", code="unknown_locale", field=field)
    language, region = match.group(1).lower(), match.group(2)
    return f"{language}-{region.upper()}" if region else language


def is_locale(value: str) -> bool:
    try:
        normalize_locale(value)
    except ValidationFailed:
        return False
    return True


def language_of(locale: str) -> str:
    return locale.split("-")[0].lower()


def locale_name(locale: str) -> str:
    """How the language switcher names a locale: in its own language, with the region if any."""
    name = LANGUAGES.get(language_of(locale), (locale, "simple"))[0]
    return f"{name} ({locale.split('-')[1]})" if "-" in locale else name


def text_search_config(locale: str) -> str:
    return LANGUAGES.get(language_of(locale), ("", "simple"))[1]
