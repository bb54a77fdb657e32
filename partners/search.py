"""Partner search terms: what a name and a CRM id become, and how a query reads them.

PostgreSQL writes the terms (`PartnerSearchTerm`, kept by triggers on the partner table, see
migration 0009) with the function `partners_search_words`, and a query is split by the very
same function before the search runs (`partners.selectors.partner_ids_matching`), so a word
typed finds the word stored whatever the database's locale: lower-cased, normalised to NFC,
split on every run of characters that are neither letters nor digits. So "Müller & Söhne" is
the words "müller" and "söhne", "e-mail_box" is "e", "mail" and "box", "O'Brien" is "o" and
"brien".

Limits, so a long or hostile query stays one cheap statement: only the first `MAX_QUERY_LENGTH`
characters of a query are read, of which the first `MAX_WORDS` distinct words are used, each
cut to `TERM_LENGTH` characters (as the stored terms are); a query holding a NUL or a lone
surrogate (which cannot be sent to the database) finds nothing.
"""

from __future__ import annotations

import unicodedata

MAX_WORDS = 8
TERM_LENGTH = 200
MAX_QUERY_LENGTH = 1000
# Above every character a term can hold: `term >= w AND term < w || TOP` is "starts with w"
# under the C collation (byte order, which in UTF-8 is code point order).
TOP = "\U0010ffff"


def searchable(text: str) -> str | None:
    """`text` as a query sent to the database: stripped and cut to `MAX_QUERY_LENGTH`; None
    when it is blank or cannot be sent (a NUL, a lone surrogate)."""
    text = text.strip()[:MAX_QUERY_LENGTH]
    if not text or "\x00" in text:
        return None
    if any(unicodedata.category(char) == "Cs" for char in text):
        return None
    return text
