"""Partner search terms: how a name and a CRM id become terms, and how a query becomes words.

PostgreSQL writes the terms (`PartnerSearchTerm`, kept by triggers on the partner table, see
migration 0009); this module splits a query the same way, so a word typed finds the word
stored. Both sides lower-case with Unicode's full mapping (PostgreSQL through the ICU root
collation, whatever the database's own locale), normalise to NFC and split on every run of
characters that are neither a letter (categories L*) nor a decimal digit (Nd): ICU's
`u_isalnum`, which is what `[[:alnum:]]` means in a regular expression under an ICU collation.
So "Müller & Söhne" is the words "müller" and "söhne", "e-mail_box" is "e", "mail" and "box",
"O'Brien" is "o" and "brien", and "x²" is "x" ("²" is a digit of category No, not Nd).

Limits, so a long or hostile query stays one cheap statement: the first `MAX_WORDS` distinct
words of a query are used and the rest ignored, each cut to `TERM_LENGTH` characters (as the
stored terms are); a query longer than `TERM_LENGTH`, or holding a NUL or a lone surrogate, is
never a CRM id.
"""

from __future__ import annotations

import unicodedata

MAX_WORDS = 8
TERM_LENGTH = 200
# Above every character a term can hold: `term >= w AND term < w || TOP` is "starts with w"
# under the C collation (byte order, which in UTF-8 is code point order).
TOP = "\U0010ffff"


def _is_word_character(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] == "L" or category == "Nd"


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text.lower())


def search_words(text: str) -> list[str]:
    """The distinct words of `text`, lower-cased, in order of first appearance, at most
    `MAX_WORDS` of them, each at most `TERM_LENGTH` characters."""
    words: list[str] = []
    current: list[str] = []
    for char in _folded(text) + " ":
        if _is_word_character(char):
            current.append(char)
            continue
        word = "".join(current)[:TERM_LENGTH]
        current.clear()
        if word and word not in words:
            words.append(word)
            if len(words) == MAX_WORDS:
                break
    return words


def crm_id_term(text: str) -> str | None:
    """`text` as the term of a CRM id it could equal, or None when no CRM id can equal it."""
    text = text.strip()
    if not text or len(text) > TERM_LENGTH or "\x00" in text:
        return None
    if any(unicodedata.category(char) == "Cs" for char in text):
        return None  # a lone surrogate cannot be sent as UTF-8
    return _folded(text)
