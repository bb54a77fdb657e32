"""Program eligibility: structured data over partner attributes, evaluated as one query.

`{"types": ["var", "msp"], "tiers": [3, 4], "regions": ["EMEA"], "countries": ["DE"], ...}`:
a partner is eligible when it is active and, for every attribute with a non-empty list, its value
is in the list. An empty or missing list means "any".
"""

from __future__ import annotations

from django.db.models import Q

from partners.models import Partner, PartnerStatus, PartnerType, Segment, Stage, Tier
from tenancy.errors import ApplicationError
from tenancy.text import clean_text

# Sizes of a rule: a program's eligibility names at most MAX_VALUES values an attribute, each of
# at most MAX_VALUE_LENGTH characters. A real rule names a handful of regions or tiers; these keep
# a rule (and the program form that shows it as ticked boxes) small whatever a client sends.
MAX_VALUES = 200
MAX_VALUE_LENGTH = 100
MAX_ID = 2**63 - 1  # a bigint

# eligibility key -> (partner field, label, allowed values or None for free text)
ATTRIBUTES: dict[str, tuple[str, str, list[str] | None]] = {
    "types": ("type", "type", PartnerType.values),
    "tiers": ("tier_id", "tier", None),
    "regions": ("region", "region", None),
    "territories": ("territory", "territory", None),
    "countries": ("country", "country", None),
    "stages": ("stage", "stage", Stage.values),
    "segments": ("segment", "segment", Segment.values),
}


def clean_eligibility(data: object) -> dict[str, list]:
    """Validate and normalise a rule; raises ApplicationError naming each refused list
    (`eligibility.regions`) or value (`eligibility.tiers[3]`) with its reason.

    Each attribute is a list of at most `MAX_VALUES` values: tiers are tier ids of the tenant
    (JSON integers: no fractions, no booleans, no text), types, stages and segments one of the
    partner model's choices, regions, territories and countries text of at most
    `MAX_VALUE_LENGTH` characters under the rule of `tenancy.text.clean_text` (NFC, no control,
    invisible or reordering character); countries are two-letter codes."""
    if data in (None, ""):
        return {}
    if not isinstance(data, dict):
        raise ApplicationError(
            "Eligibility must be an object of attribute lists.", field="eligibility"
        )
    unknown = sorted(str(key)[:40] for key in set(data) - set(ATTRIBUTES))
    if unknown:
        raise ApplicationError(
            f"Unknown eligibility attribute: {', '.join(unknown)}.", field="eligibility"
        )
    cleaned: dict[str, list] = {}
    errors: dict[str, list[str]] = {}
    for key, values in data.items():
        field = f"eligibility.{key}"
        if values in (None, ""):
            continue
        if not isinstance(values, list):
            errors[field] = ["Give a list of values."]
            continue
        if len(values) > MAX_VALUES:
            errors[field] = [f"At most {MAX_VALUES} values; {len(values)} given."]
            continue
        clean = _clean_tiers if key == "tiers" else _clean_texts
        values = clean(key, values, field, errors)
        if values:
            cleaned[key] = sorted(set(values))
    if errors:
        first_field, [first, *_] = next(iter(errors.items()))
        raise ApplicationError(f"{first_field}: {first}", errors=errors)
    return cleaned


def _clean_texts(key: str, values: list, field: str, errors: dict) -> list[str]:
    _, label, allowed = ATTRIBUTES[key]
    kept = []
    for index, value in enumerate(values):
        name = f"{field}[{index}]"
        if not isinstance(value, str):
            errors[name] = [f"Give the {label} as text."]
            continue
        if len(value) > MAX_VALUE_LENGTH:
            errors[name] = [f"At most {MAX_VALUE_LENGTH} characters."]
            continue
        try:
            value = clean_text(value, field=name, label=f"The {label}")
        except ApplicationError as error:
            errors.update(error.errors)
            continue
        if not value:
            continue
        if key == "countries":
            value = value.upper()
            if len(value) != 2 or not (value.isascii() and value.isalpha()):
                errors[name] = [f"Use a two-letter country code; not {value}."]
                continue
        if allowed is not None and value not in allowed:
            errors[name] = [f"Unknown {label}: {value}. Choose from {', '.join(allowed)}."]
            continue
        kept.append(value)
    return kept


def _clean_tiers(key: str, values: list, field: str, errors: dict) -> list[int]:
    ids: dict[int, int] = {}  # tier id -> position of its first mention
    for index, value in enumerate(values):
        # bool is an int in Python, a float 5.7 would read as 5: only a whole JSON number is an id.
        if type(value) is not int or not 1 <= value <= MAX_ID:
            errors[f"{field}[{index}]"] = ["Give a tier by its id, a whole number."]
            continue
        ids.setdefault(value, index)
    found = set(Tier.objects.filter(pk__in=list(ids)).values_list("pk", flat=True))
    for tier_id, index in ids.items():
        if tier_id not in found:
            errors[f"{field}[{index}]"] = [f"No such tier: {tier_id}."]
    return [tier_id for tier_id in ids if tier_id in found]


def eligibility_q(eligibility: dict, prefix: str = "") -> Q:
    """The condition on Partner rows (or on rows reaching Partner through `prefix`)."""
    condition = Q(**{f"{prefix}status": PartnerStatus.ACTIVE})
    for key, (field, _, _) in ATTRIBUTES.items():
        values = eligibility.get(key) or []
        if values:
            condition &= Q(**{f"{prefix}{field}__in": values})
    return condition


def ineligibility_reasons(
    eligibility: dict, partner: Partner, *, for_staff: bool = False
) -> list[str]:
    """Why `partner` is not eligible, in sentences a partner admin understands (or, with
    `for_staff`, vendor staff acting for the partner); [] if it is."""
    reasons = []
    whose = f"{partner.name}'s" if for_staff else "your company's"
    if partner.status != PartnerStatus.ACTIVE:
        reasons.append(
            f"{partner.name} is not active."
            if for_staff
            else "Your company's partner account is not active."
        )
    for key, (field, label, _) in ATTRIBUTES.items():
        values = eligibility.get(key) or []
        if not values:
            continue
        actual = getattr(partner, field)
        if actual in values:
            continue
        shown = _describe(key, values)
        mine = _describe(key, [actual]) if actual not in (None, "") else "not set"
        reasons.append(f"The program is open to {label} {shown}; {whose} {label} is {mine}.")
    return reasons


def _describe(key: str, values: list) -> str:
    if key == "tiers":
        names = dict(Tier.objects.filter(pk__in=values).values_list("pk", "name"))
        return " or ".join(names.get(v, str(v)) for v in values)
    choices = {"types": PartnerType, "stages": Stage, "segments": Segment}.get(key)
    if choices is not None:
        labels = dict(choices.choices)
        return " or ".join(str(labels.get(v, v)) for v in values)
    return " or ".join(str(v) for v in values)


def describe_eligibility(eligibility: dict) -> list[str]:
    """One line an attribute, for program pages: 'Tier: Gold or Platinum'."""
    lines = []
    for key, (_, label, _) in ATTRIBUTES.items():
        values = eligibility.get(key) or []
        if values:
            lines.append(f"{label.capitalize()}: {_describe(key, values)}")
    return lines or ["Every active partner"]
