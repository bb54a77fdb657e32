"""Program eligibility: structured data over partner attributes, evaluated as one query.

`{"types": ["var", "msp"], "tiers": [3, 4], "regions": ["EMEA"], "countries": ["DE"], ...}`:
a partner is eligible when it is active and, for every attribute with a non-empty list, its value
is in the list. An empty or missing list means "any".
"""

from __future__ import annotations

from django.db.models import Q

from partners.models import Partner, PartnerStatus, PartnerType, Segment, Stage, Tier
from tenancy.errors import ApplicationError

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
    """Validate and normalise; raises ApplicationError naming `eligibility.<key>`."""
    if data in (None, ""):
        return {}
    if not isinstance(data, dict):
        raise ApplicationError(
            "Eligibility must be an object of attribute lists.", field="eligibility"
        )
    unknown = sorted(set(data) - set(ATTRIBUTES))
    if unknown:
        raise ApplicationError(
            f"Unknown eligibility attribute: {', '.join(unknown)}.", field="eligibility"
        )
    cleaned: dict[str, list] = {}
    for key, values in data.items():
        field = f"eligibility.{key}"
        if values in (None, ""):
            continue
        if not isinstance(values, list):
            raise ApplicationError("Give a list of values.", field=field)
        _, label, allowed = ATTRIBUTES[key]
        if key == "tiers":
            values = _clean_tiers(values, field)
        else:
            values = [str(v).strip() for v in values if str(v).strip()]
            if key == "countries":
                values = [v.upper() for v in values]
                bad = [v for v in values if len(v) != 2 or not v.isalpha()]
                if bad:
                    raise ApplicationError(
                        f"Use two-letter country codes; not {', '.join(bad)}.", field=field
                    )
            if allowed is not None:
                bad = [v for v in values if v not in allowed]
                if bad:
                    raise ApplicationError(
                        f"Unknown {label}: {', '.join(bad)}. Choose from {', '.join(allowed)}.",
                        field=field,
                    )
        if values:
            cleaned[key] = sorted(set(values))
    return cleaned


def _clean_tiers(values: list, field: str) -> list[int]:
    try:
        ids = sorted({int(v) for v in values})
    except (TypeError, ValueError):
        raise ApplicationError("Tiers are given by id.", field=field) from None
    found = set(Tier.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ApplicationError(f"No such tier: {', '.join(missing)}.", field=field)
    return ids


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
