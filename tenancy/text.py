"""One rule for the names and identifiers people type: partner and company names, CRM ids,
tiers, programs, people, API tokens. A text is normalised to NFC (so a CRM id typed on a Mac
and the same id typed elsewhere are one id), stripped of surrounding whitespace, and refused
when it holds a character that a reader cannot see or that reorders what they see."""

from __future__ import annotations

import unicodedata

from tenancy.errors import ApplicationError

# Unicode categories refused anywhere in a name: control (Cc: NUL, escape, line breaks, tabs),
# format (Cf: zero-width spaces and joiners, bidi marks, embeddings, overrides and isolates
# U+200B-U+200F, U+202A-U+202E, U+2066-U+2069, the byte order mark U+FEFF, soft hyphen...),
# and surrogates (Cs: a lone half of a pair).
REFUSED_CATEGORIES = {"Cc", "Cf", "Cs"}


def hidden_character(text: str) -> str | None:
    """The first character of `text` that the rule refuses, or None."""
    for char in text:
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            return char
    return None


def clean_text(value: str | None, *, field: str, label: str = "This field") -> str:
    """`value` in NFC without surrounding whitespace; None is "". Raises ApplicationError on
    `field` when what is left holds an invisible, control or text-reordering character."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApplicationError(f"{label} must be text.", field=field)
    value = unicodedata.normalize("NFC", value).strip()
    char = hidden_character(value)
    if char is not None:
        raise ApplicationError(
            f"{label} contains an invisible or control character "
            f"(U+{ord(char):04X}); remove it and try again.",
            field=field,
        )
    return value
