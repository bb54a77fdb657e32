"""The rules a program checks its claims against: CEL expressions (Google's Common Expression
Language, through `common-expression-language`, a Rust evaluator) over four names:

- `claim`: kind, amount, quantity, unit_price, currency, sku, invoice_number, end_customer,
  measure, occurred_on and submitted_on (text, `YYYY-MM-DD`), serials (a list);
- `partner`: type, tier, region, territory, country, stage, segment, status;
- `program`: kind, starts_on, ends_on (text), claim_window_days, currency, eligible_skus;
- `facts`: what history says, gathered for a batch of claims at once (`facts.py`): enrolled,
  days_to_submit, duplicate_invoices, duplicate_serials, rep_claims_that_day,
  partner_period_amount, partner_history_count, partner_history_mean,
  partner_history_stddev, budget_left;

and `params`, the rule's own tuning. A rule states what a valid claim satisfies: true passes,
false rejects or flags the claim (the rule's outcome) with the rule's message, and an
expression that cannot be evaluated for a claim (a type error, a missing field) flags it with
the reason. Amounts are numbers with a decimal point (CEL does not mix integers and doubles:
`claim.amount >= 100.0`).

Expressions are compiled once a process (`compiled`), and checked when saved: syntax, and the
names they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cel

from incentives.claims.models import CheckResult, RuleOutcome
from tenancy.errors import ApplicationError

NAMES = frozenset({"claim", "partner", "program", "facts", "params"})
MAX_EXPRESSION = 2000


@dataclass(frozen=True)
class Builtin:
    key: str
    name: str
    expression: str
    outcome: str
    message: str
    params: dict


# The built-in checks a manager switches on and tunes; each is a rule like any other.
BUILTINS: dict[str, Builtin] = {
    b.key: b
    for b in (
        Builtin(
            "partner_enrolled",
            "Partner enrolled",
            "facts.enrolled",
            RuleOutcome.REJECT,
            "Your company is not enrolled in this program.",
            {},
        ),
        Builtin(
            "in_period",
            "Inside the program period",
            "claim.occurred_on >= program.starts_on && claim.occurred_on <= program.ends_on",
            RuleOutcome.REJECT,
            "The date is outside the program period.",
            {},
        ),
        Builtin(
            "in_claim_window",
            "Inside the claim window",
            "facts.days_to_submit <= program.claim_window_days",
            RuleOutcome.REJECT,
            "The claim came in after the program's claim window closed.",
            {},
        ),
        Builtin(
            "eligible_product",
            "Eligible product",
            "claim.kind != 'sale' || size(program.eligible_skus) == 0"
            " || claim.sku in program.eligible_skus",
            RuleOutcome.REJECT,
            "This product is not part of the program.",
            {},
        ),
        Builtin(
            "minimum_amount",
            "Minimum amount",
            "claim.kind != 'sale' || claim.amount >= params.minimum",
            RuleOutcome.REJECT,
            "The amount is below the program's minimum.",
            {"minimum": 100.0},
        ),
        Builtin(
            "duplicate_invoice",
            "No duplicate invoice",
            "facts.duplicate_invoices == 0",
            RuleOutcome.FLAG,
            "This invoice and product were claimed before; a reviewer will compare them.",
            {},
        ),
        Builtin(
            "duplicate_serial",
            "No duplicate serial number",
            "size(facts.duplicate_serials) == 0",
            RuleOutcome.FLAG,
            "A serial number on this claim was claimed before; a reviewer will check it.",
            {},
        ),
        Builtin(
            "partner_cap",
            "Partner cap for the period",
            "claim.kind != 'sale' || facts.partner_period_amount + claim.amount <= params.cap",
            RuleOutcome.FLAG,
            "Your company's claims in this program passed its cap; a reviewer will check.",
            {"cap": 100000.0},
        ),
        Builtin(
            "velocity",
            "Claims a rep makes a day",
            "facts.rep_claims_that_day <= params.per_day",
            RuleOutcome.FLAG,
            "Unusually many claims on one day; a reviewer will check them.",
            {"per_day": 20},
        ),
        Builtin(
            "amount_outlier",
            "Amount like the partner's others",
            "claim.kind != 'sale' || facts.partner_history_count < params.history"
            " || claim.amount <= facts.partner_history_mean"
            " + params.sigmas * facts.partner_history_stddev",
            RuleOutcome.FLAG,
            "The amount is far above your company's usual claims; a reviewer will check it.",
            {"sigmas": 3.0, "history": 5},
        ),
        Builtin(
            "budget_left",
            "Budget left",
            "claim.kind != 'sale' || facts.budget_left >= claim.amount",
            RuleOutcome.FLAG,
            "The program's budget may not cover this claim; a reviewer will check.",
            {},
        ),
    )
}


@lru_cache(maxsize=4096)
def compiled(expression: str) -> cel.Program:
    """The program of `expression`, compiled once a process; ApplicationError on `expression`
    naming the problem when it does not compile or reads a name it cannot have."""
    if not isinstance(expression, str) or not expression.strip():
        raise ApplicationError("Write the rule's expression.", field="expression")
    if len(expression) > MAX_EXPRESSION:
        raise ApplicationError(
            f"The expression is longer than {MAX_EXPRESSION} characters.", field="expression"
        )
    if "\x00" in expression:
        raise ApplicationError("The expression contains a NUL character.", field="expression")
    try:
        program = cel.compile(expression)
    except (ValueError, RuntimeError) as error:
        reason = str(error).split("\n", 1)[0][:300]
        raise ApplicationError(
            f"The expression does not parse: {reason}", field="expression"
        ) from None
    unknown = sorted(_roots(program) - NAMES)
    if unknown:
        raise ApplicationError(
            f"The expression reads {unknown[0]!r}; a rule reads only {', '.join(sorted(NAMES))}.",
            field="expression",
        )
    return program


def _roots(program: cel.Program) -> set[str]:
    """The top-level names an expression reads."""
    return {str(name).split(".", 1)[0] for name in program.variables()}


@dataclass(frozen=True)
class Verdict:
    result: str  # CheckResult
    message: str


def evaluation_context(names: dict) -> cel.Context:
    """A claim's names converted to CEL once, for all of its program's rules (converting a
    dict on every evaluation cost four times the evaluation)."""
    context = cel.Context()
    for name, value in names.items():
        context.add_variable(name, value)
    return context


def check(
    expression: str,
    outcome: str,
    message: str,
    context: dict | cel.Context,
    params: dict | None = None,
) -> Verdict:
    """What one rule says of one claim's `context` (a dict of the names, or an
    `evaluation_context`) with the rule's `params` (see the module doc)."""
    try:
        if isinstance(context, dict):
            context = evaluation_context(context)
        context.add_variable("params", params or {})
        value = compiled(expression).execute(context)
    except ApplicationError as error:
        return Verdict(CheckResult.ERROR, error.message[:300])
    except Exception as error:
        return Verdict(CheckResult.ERROR, f"The rule could not be checked: {error}"[:300])
    if value is True:
        return Verdict(CheckResult.PASSED, "")
    if value is not False:
        return Verdict(CheckResult.ERROR, "The rule did not answer true or false.")
    if outcome == RuleOutcome.REJECT:
        return Verdict(CheckResult.REJECTED, message)
    return Verdict(CheckResult.FLAGGED, message)


# What the rule editor tries a rule on when the manager gives no claim of their own: a sale in
# the middle of a program, with facts of a partner in good standing.
SAMPLE = {
    "claim": {
        "kind": "sale",
        "amount": 2900.0,
        "quantity": 2,
        "unit_price": 1450.0,
        "currency": "USD",
        "sku": "NW-FW-200",
        "invoice_number": "INV-1001",
        "end_customer": "Harbor Logistics",
        "measure": 0.0,
        "occurred_on": "2026-06-15",
        "submitted_on": "2026-06-20",
        "serials": ["SN-1", "SN-2"],
    },
    "partner": {
        "type": "var",
        "tier": "Gold",
        "region": "EMEA",
        "territory": "DACH",
        "country": "DE",
        "stage": "established",
        "segment": "achiever",
        "status": "active",
    },
    "program": {
        "kind": "spiff",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "claim_window_days": 30,
        "currency": "USD",
        "eligible_skus": [],
    },
    "facts": {
        "enrolled": True,
        "days_to_submit": 5,
        "duplicate_invoices": 0,
        "duplicate_serials": [],
        "rep_claims_that_day": 1,
        "partner_period_amount": 12000.0,
        "partner_history_count": 8,
        "partner_history_mean": 2500.0,
        "partner_history_stddev": 600.0,
        "budget_left": 40000.0,
    },
}


def tried(expression: str, outcome: str, message: str, params: dict, sample: dict) -> Verdict:
    """The rule on a sample claim: `sample` may replace any of the sample's names, field by
    field ({"claim": {"amount": 50.0}} changes the amount alone). Raises ApplicationError on
    `expression` when it does not compile (`compiled`)."""
    compiled(expression)
    names = {
        name: {**value, **(sample.get(name) or {})} if isinstance(value, dict) else value
        for name, value in SAMPLE.items()
    }
    return check(expression, outcome, message, names, params)
