"""The state machine of invitations (see `tenancy.transitions`)."""

from __future__ import annotations

from tenancy.models import Invitation
from tenancy.transitions import StateMachine

_Status = Invitation.Status

INVITATION_STATES = StateMachine.declare(
    "invitation",
    _Status,
    {
        "send": ((_Status.PENDING,), None),
        "resend": ((_Status.PENDING,), None),
        "revoke": ((_Status.PENDING,), _Status.REVOKED),
        "accept": ((_Status.PENDING,), _Status.ACCEPTED),
    },
)
