"""Template filters of program pages: rates, Markdown terms, history changes."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from incentives.markdown import render_markdown
from tenancy import audit

register = template.Library()


@register.filter
def rate(value: float | None) -> str:
    """A rate as a percentage ('50%', '33.3%'), or 'no data' when its denominator is empty."""
    if value is None:
        return "no data"
    percent = round(value * 100, 1)
    return f"{percent:g}%"


@register.filter
def markdown(body: str) -> SafeString:
    """Terms written in Markdown, rendered and sanitised."""
    return render_markdown(body)


@register.filter
def change_items(changes: object) -> list[tuple[str, object, object]]:
    """A history row's `{field: [old, new]}` as (field, old, new) triples, field names humanised."""
    if not isinstance(changes, dict):
        return []
    items = []
    for field, pair in changes.items():
        old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        items.append((field.replace("_", " "), old, new))
    return items


@register.filter
def shown(value: object) -> str:
    """A value from history as text: lists joined, eligibility as 'types: var; tiers: 3'."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {shown(items)}" for key, items in value.items())
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


# Where a program's history says more than the words every history shares.
ACTIONS = {
    "created": "created the program",
    "activate": "activated the program",
    "pause": "paused the program",
    "close": "closed the program",
    "accepted": "accepted the terms",
    "declined": "declined the invitation",
}


@register.filter
def action_label(action: str) -> str:
    """A history row's action as words."""
    return ACTIONS.get(action) or audit.action_label(action)
