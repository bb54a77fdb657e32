"""The one rule for query strings, applied by the API base view and the page mixin before a
view reads its parameters, and by code that parses a parameter as an id by hand.

A value is refused, naming its parameter, when it holds a control character (NUL included),
a character that did not decode (a lone surrogate or invalid UTF-8 arrives as U+FFFD), digits
other than 0-9 (`²`, `٣`: Python reads some of them as numbers, the database none), or more than
`MAX_QUERY_VALUE` characters. The API answers 400 with the usual error body; pages show a 400
page with the reason.
"""

from __future__ import annotations

import unicodedata

from tenancy.errors import ApplicationError

MAX_QUERY_VALUE = 200


class BadQuery(ApplicationError):
    """A query-string parameter that cannot be read; `errors` names it."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}", code="invalid_query", errors={name: [reason]})


def _ascii_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def value_problem(value: str) -> str | None:
    """Why `value` cannot be a query-string value, or None."""
    if len(value) > MAX_QUERY_VALUE:
        return f"Longer than {MAX_QUERY_VALUE} characters."
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc":
            return "Contains a control character."
        if category == "Cs" or char == "\ufffd":
            return "Contains characters that are not valid text."
    if value.isdigit() and not _ascii_digits(value):
        return "A number written in digits other than 0-9."
    return None


def check_query(params) -> None:
    """Raises `BadQuery` for the first parameter (name or value) that cannot be read."""
    for name in params:
        problem = value_problem(name)
        if problem is not None:
            raise BadQuery("query", f"A parameter name: {problem[0].lower()}{problem[1:]}")
        for value in params.getlist(name):
            problem = value_problem(value)
            if problem is not None:
                raise BadQuery(name, problem)


def query_int(params, name: str) -> int | None:
    """The parameter `name` as an id, None when absent or empty; `BadQuery` when it is not
    written in the digits 0-9."""
    ids = query_ints(params, name)
    return ids[-1] if ids else None


def query_ints(params, name: str) -> list[int]:
    """Every value of the repeatable parameter `name` as an id (empty values skipped)."""
    ids = []
    for value in params.getlist(name):
        if value == "":
            continue
        if not _ascii_digits(value):
            raise BadQuery(name, f"“{value[:40]}” is not a whole number.")
        ids.append(int(value))
    return ids


def query_choice(params, name: str, choices) -> str | None:
    """The parameter `name`, None when absent or empty; `BadQuery` when it is not one of
    `choices` (the values a documented enum lists)."""
    value = params.get(name)
    if value in (None, ""):
        return None
    if value not in choices:
        raise BadQuery(name, f"“{value[:40]}” is not one of {', '.join(choices)}.")
    return value
