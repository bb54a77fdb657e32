"""The lifecycle of a claim: which action is allowed from which status.

    draft ─submit→ submitted ─validate→ validating ─pass→ approved
                                                   ─fail→ rejected ─appeal (once)→ needs review
                                                   ─flag→ needs review ─approve→ approved
                                                                       ─reject→ rejected

Services check every move here under the row lock (`tenancy.transitions`); pages, the API and
permissions ask `CLAIM_STATES.actions_from(status)` what may be offered."""

from __future__ import annotations

from incentives.claims.models import ClaimStatus
from tenancy.transitions import StateMachine

CLAIM_STATES = StateMachine.declare(
    "claim",
    ClaimStatus,
    {
        "edit": ((ClaimStatus.DRAFT,), None),
        "discard": ((ClaimStatus.DRAFT,), None),
        "submit": ((ClaimStatus.DRAFT,), ClaimStatus.SUBMITTED),
        # The rules' verdict (`incentives.claims.validation`).
        "validate": ((ClaimStatus.SUBMITTED,), ClaimStatus.VALIDATING),
        "pass": ((ClaimStatus.VALIDATING,), ClaimStatus.APPROVED),
        "fail": ((ClaimStatus.VALIDATING,), ClaimStatus.REJECTED),
        "flag": ((ClaimStatus.VALIDATING,), ClaimStatus.NEEDS_REVIEW),
        # A reviewer's decision on a flagged or appealed claim.
        "approve": ((ClaimStatus.NEEDS_REVIEW,), ClaimStatus.APPROVED),
        "reject": ((ClaimStatus.NEEDS_REVIEW,), ClaimStatus.REJECTED),
        "appeal": ((ClaimStatus.REJECTED,), ClaimStatus.NEEDS_REVIEW),
    },
)
