"""The kinds of claim a partner rep can make, and the fields each one carries.

A sale claims revenue: invoice number and date, SKU, quantity, unit price, amount, currency, end
customer and serial numbers. A behaviour claims something the partner did: a deal registered, a
lead followed up, a demo given, training completed (days), a certification (its name and who
holds it), a business plan, a customer-satisfaction survey (its score), on-time delivery (its
rate), a deal closed (the days it took). Each type says which of its fields are required and
checks them, naming the field and the reason of every problem at once (`ClaimType.clean`).

Where a value lives: the sale's fields are columns of the claim (the rules and the metrics read
them set-based); a behaviour's number (days, score, rate) is the claim's `measure`, so a KPI
sums or averages one column; its words (deal, customer, certification, person) are `details`.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

from tenancy.errors import ApplicationError
from tenancy.text import clean_text

MAX_SERIALS = 500
SERIAL_LENGTH = 100
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Amounts and prices are kept to 2 places with 12 digits before the point (the columns'
# size): what does not fit is refused by its field rather than by the database.
MONEY_LIMIT = Decimal("999999999999.99")
QUANTITY_LIMIT = 10_000_000
CENT = Decimal("0.01")


class ClaimKind(models.TextChoices):
    SALE = "sale", "Sale"
    DEAL_REGISTRATION = "deal_registration", "Deal registration"
    LEAD_FOLLOW_UP = "lead_follow_up", "Lead follow-up"
    PRODUCT_DEMO = "product_demo", "Product demo"
    TRAINING = "training", "Training completed"
    CERTIFICATION = "certification", "Certification"
    BUSINESS_PLAN = "business_plan", "Business plan"
    CSAT_SURVEY = "csat_survey", "Customer-satisfaction survey"
    ON_TIME_DELIVERY = "on_time_delivery", "On-time delivery"
    CLOSED_DEAL = "closed_deal", "Closed deal"


@dataclass(frozen=True)
class Field:
    """One field of a claim type's form and API body.

    `kind`: text, date, integer, money, currency, decimal (a measure) or serials (a list).
    `home`: where the cleaned value goes: a claim column (its name), `measure`, or `details`."""

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    home: str = "details"
    max_length: int = 200
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    help_text: str = ""


@dataclass(frozen=True)
class ClaimType:
    kind: str
    label: str
    fields: tuple[Field, ...]
    # The field that dates the claim (the sale's invoice date, the activity's date): the rules
    # check it against the program period and claim window.
    date_field: str = "occurred_on"
    extra_checks: tuple = field(default=())

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def clean(self, data: Mapping[str, object], *, currency: str | None = None) -> dict:
        """The type's fields of `data`, cleaned: {field name: value}, values None when left
        out. Raises ApplicationError with every problem by field; a field this type does not
        have is one of them."""
        errors: dict[str, list[str]] = {}
        cleaned: dict[str, object] = {}
        for name in data:
            if name not in self.field_names:
                errors.setdefault(name, []).append(
                    f"A {self.label.lower()} claim has no field {name!r}."
                )
        for spec in self.fields:
            try:
                value = _clean_value(spec, data.get(spec.name))
            except ApplicationError as error:
                errors.setdefault(spec.name, []).append(error.message)
                continue
            if value is None and spec.required:
                errors.setdefault(spec.name, []).append(f"{spec.label} is required.")
            cleaned[spec.name] = value
        if not errors:
            for check in self.extra_checks:
                for name, message in check(cleaned, currency):
                    errors.setdefault(name, []).append(message)
        if errors:
            first = next(iter(errors.values()))[0]
            raise ApplicationError(first, errors=errors)
        return cleaned

    def split(self, cleaned: Mapping[str, object]) -> tuple[dict, Decimal | None, dict, list]:
        """Cleaned values by where they are kept: (claim columns, measure, details, serials)."""
        columns: dict[str, object] = {}
        details: dict[str, object] = {}
        measure = None
        serials: list[str] = []
        for spec in self.fields:
            value = cleaned.get(spec.name)
            if spec.home == "measure":
                measure = value
            elif spec.home == "serials":
                serials = list(value or [])
            elif spec.home == "details":
                if value not in (None, ""):
                    details[spec.name] = value
            else:
                columns[spec.home] = value
        return columns, measure, details, serials


def _clean_value(spec: Field, raw: object) -> object:
    """One field's value, cleaned, or None when it is empty; ApplicationError otherwise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return [] if spec.kind == "serials" else None
    cleaner = _CLEANERS[spec.kind]
    return cleaner(spec, raw)


def _text(spec: Field, raw: object) -> str:
    if not isinstance(raw, str):
        raise ApplicationError(f"{spec.label} must be text.")
    value = clean_text(raw, field=spec.name, label=spec.label)
    if len(value) > spec.max_length:
        raise ApplicationError(f"{spec.label} is longer than {spec.max_length} characters.")
    return value


def _date(spec: Field, raw: object) -> datetime.date:
    if isinstance(raw, datetime.datetime):
        raw = raw.date()
    if isinstance(raw, datetime.date):
        return raw
    if not isinstance(raw, str):
        raise ApplicationError(f"{spec.label} must be a date (YYYY-MM-DD).")
    try:
        value = datetime.date.fromisoformat(raw.strip())
    except ValueError:
        raise ApplicationError(f"{spec.label} must be a date (YYYY-MM-DD).") from None
    if not (datetime.date(2000, 1, 1) <= value <= datetime.date(2100, 12, 31)):
        raise ApplicationError(f"{spec.label} must be between 2000 and 2100.")
    return value


def _integer(spec: Field, raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ApplicationError(f"{spec.label} must be a whole number.")
    text = raw.strip() if isinstance(raw, str) else str(raw)
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", text):
        raise ApplicationError(f"{spec.label} must be a whole number.")
    return _within(spec, int(text))


def _decimal(spec: Field, raw: object, *, places: int = 2) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | str | Decimal | float):
        raise ApplicationError(f"{spec.label} must be a number.")
    text = raw.strip() if isinstance(raw, str) else str(raw)
    if not re.fullmatch(r"[+-]?([0-9]{1,15})(\.[0-9]{1,10})?", text):
        raise ApplicationError(f"{spec.label} must be a number such as 1250.50.")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ApplicationError(f"{spec.label} must be a number such as 1250.50.") from None
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ApplicationError(f"{spec.label} has more than {places} decimal places.")
    return _within(spec, value)


def _within(spec: Field, value):
    if spec.minimum is not None and value < spec.minimum:
        raise ApplicationError(f"{spec.label} must be at least {spec.minimum}.")
    if spec.maximum is not None and value > spec.maximum:
        raise ApplicationError(f"{spec.label} must be at most {spec.maximum}.")
    return value


def _currency(spec: Field, raw: object) -> str:
    if not isinstance(raw, str) or not _CURRENCY.match(raw.strip().upper()):
        raise ApplicationError(f"{spec.label} must be a three-letter ISO 4217 code, such as EUR.")
    return raw.strip().upper()


def _serials(spec: Field, raw: object) -> list[str]:
    """A list of serial numbers, or one text of them separated by commas, spaces or lines;
    each kept once, in the order given."""
    if isinstance(raw, str):
        items = [part for part in re.split(r"[\s,;]+", raw) if part]
    elif isinstance(raw, list | tuple):
        items = raw
    else:
        raise ApplicationError(f"{spec.label} must be a list of serial numbers.")
    seen: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise ApplicationError(f"{spec.label} must be a list of serial numbers (text).")
        value = clean_text(item, field=spec.name, label=spec.label)
        if len(value) > SERIAL_LENGTH:
            raise ApplicationError(
                f"A serial number is longer than {SERIAL_LENGTH} characters: {value[:20]}…"
            )
        if value:
            seen.setdefault(value, None)
    if len(seen) > MAX_SERIALS:
        raise ApplicationError(f"{spec.label}: at most {MAX_SERIALS} serial numbers a claim.")
    return list(seen)


_CLEANERS = {
    "text": _text,
    "date": _date,
    "integer": _integer,
    "money": _decimal,
    "decimal": _decimal,
    "currency": _currency,
    "serials": _serials,
}


def _sale_amount_matches(cleaned: dict, currency: str | None) -> list[tuple[str, str]]:
    """The amount is the quantity times the unit price (to the cent); the currency is the
    program's."""
    problems = []
    quantity, price, amount = cleaned["quantity"], cleaned["unit_price"], cleaned["amount"]
    if quantity is not None and price is not None and amount is not None:
        expected = (price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
        if expected != amount:
            problems.append(
                (
                    "amount",
                    f"Amount {amount} is not the quantity times the unit price ({expected}).",
                )
            )
    if currency is not None and cleaned["currency"] not in (None, currency):
        problems.append(("currency", f"This program pays in {currency}; the sale must be too."))
    return problems


def _occurred(label: str = "Date") -> Field:
    return Field(
        "occurred_on", label, kind="date", required=True, home="occurred_on",
        help_text="When it happened: the program period and claim window are checked on it.",
    )  # fmt: skip


_MONEY = {"kind": "money", "minimum": Decimal("0.01"), "maximum": MONEY_LIMIT}

TYPES: dict[str, ClaimType] = {
    t.kind: t
    for t in (
        ClaimType(
            ClaimKind.SALE,
            "Sale",
            (
                Field("invoice_number", "Invoice number", required=True, home="invoice_number",
                      max_length=64),
                _occurred("Invoice date"),
                Field("sku", "SKU / product", required=True, home="sku", max_length=64),
                Field("quantity", "Quantity", kind="integer", required=True, home="quantity",
                      minimum=1, maximum=QUANTITY_LIMIT),
                Field("unit_price", "Unit price", required=True, home="unit_price", **_MONEY),
                Field("amount", "Amount", required=True, home="amount", **_MONEY),
                Field("currency", "Currency", kind="currency", required=True, home="currency"),
                Field("end_customer", "End customer", required=True, home="end_customer"),
                Field("serial_numbers", "Serial numbers", kind="serials", home="serials",
                      help_text="One a line, or separated by commas."),
            ),
            extra_checks=(_sale_amount_matches,),
        ),
        ClaimType(
            ClaimKind.DEAL_REGISTRATION,
            "Deal registration",
            (
                Field("deal_name", "Deal", required=True),
                Field("end_customer", "End customer", required=True, home="end_customer"),
                _occurred("Registered on"),
                Field("expected_value", "Expected value", home="measure", **_MONEY),
            ),
        ),
        ClaimType(
            ClaimKind.LEAD_FOLLOW_UP,
            "Lead follow-up",
            (
                Field("lead", "Lead", required=True),
                _occurred("Followed up on"),
                Field("outcome", "Outcome", max_length=500),
            ),
        ),
        ClaimType(
            ClaimKind.PRODUCT_DEMO,
            "Product demo",
            (
                Field("end_customer", "Customer", required=True, home="end_customer"),
                Field("sku", "Product", home="sku", max_length=64),
                _occurred("Demo date"),
            ),
        ),
        ClaimType(
            ClaimKind.TRAINING,
            "Training completed",
            (
                Field("course", "Course", required=True),
                Field("person", "Who took it", required=True),
                Field("days", "Days", kind="decimal", required=True, home="measure",
                      minimum=Decimal("0.5"), maximum=Decimal(365)),
                _occurred("Completed on"),
            ),
        ),
        ClaimType(
            ClaimKind.CERTIFICATION,
            "Certification",
            (
                Field("certification", "Certification", required=True),
                Field("person", "Certified person", required=True),
                _occurred("Certified on"),
            ),
        ),
        ClaimType(
            ClaimKind.BUSINESS_PLAN,
            "Business plan",
            (
                Field("plan_name", "Plan", required=True),
                _occurred("Agreed on"),
            ),
        ),
        ClaimType(
            ClaimKind.CSAT_SURVEY,
            "Customer-satisfaction survey",
            (
                Field("end_customer", "Customer", required=True, home="end_customer"),
                Field("score", "Score (1 to 5)", kind="decimal", required=True, home="measure",
                      minimum=Decimal(1), maximum=Decimal(5)),
                _occurred("Surveyed on"),
            ),
        ),
        ClaimType(
            ClaimKind.ON_TIME_DELIVERY,
            "On-time delivery",
            (
                Field("rate", "On-time rate (%)", kind="decimal", required=True, home="measure",
                      minimum=Decimal(0), maximum=Decimal(100)),
                Field("period", "Period", required=True, max_length=100,
                      help_text="The deliveries the rate covers, such as 2026-Q3."),
                _occurred("Measured on"),
            ),
        ),
        ClaimType(
            ClaimKind.CLOSED_DEAL,
            "Closed deal",
            (
                Field("deal_name", "Deal", required=True),
                Field("end_customer", "End customer", required=True, home="end_customer"),
                Field("days_to_close", "Days to close", kind="integer", required=True,
                      home="measure", minimum=0, maximum=3650),
                _occurred("Closed on"),
            ),
        ),
    )
}  # fmt: skip


def claim_type(kind: str) -> ClaimType:
    """The type named `kind`; ApplicationError on `type` for an unknown one."""
    found = TYPES.get(kind) if isinstance(kind, str) else None
    if found is None:
        known = ", ".join(TYPES)
        raise ApplicationError(f"Unknown claim type; use one of: {known}.", field="type")
    return found


BEHAVIOURS = tuple(kind for kind in ClaimKind.values if kind != ClaimKind.SALE)
MAX_SKUS = 1000


def default_claim_kinds(program_kind: str) -> list[str]:
    """What a new program takes unless told: behaviour rewards the behaviours, the rest
    sales."""
    return list(BEHAVIOURS) if program_kind == "behaviour" else [ClaimKind.SALE.value]


def clean_claim_kinds(value: object) -> list[str]:
    """A program's accepted claim kinds: known kinds, each once, in the declared order."""
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,]+", value) if part]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ApplicationError("Claim kinds are a list of kind names.", field="claim_kinds")
    unknown = sorted(set(value) - set(ClaimKind.values))
    if unknown:
        raise ApplicationError(
            f"Unknown claim kind {unknown[0][:40]!r}; use: {', '.join(ClaimKind.values)}.",
            field="claim_kinds",
        )
    return [kind for kind in ClaimKind.values if kind in value]


def clean_skus(value: object) -> list[str]:
    """A program's eligible products: SKUs, each once (empty: any product)."""
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,]+", value) if part]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ApplicationError("Eligible products are a list of SKUs.", field="eligible_skus")
    skus: dict[str, None] = {}
    for raw in value:
        sku = clean_text(raw, field="eligible_skus", label="A SKU")
        if len(sku) > 64:
            raise ApplicationError("A SKU is at most 64 characters.", field="eligible_skus")
        if sku:
            skus.setdefault(sku, None)
    if len(skus) > MAX_SKUS:
        raise ApplicationError(f"At most {MAX_SKUS} eligible products.", field="eligible_skus")
    return list(skus)
