"""The state machine of partner imports (see `tenancy.transitions`)."""

from __future__ import annotations

from partners.models import PartnerImport
from tenancy.transitions import StateMachine

_Status = PartnerImport.Status

IMPORT_STATES = StateMachine.declare(
    "import",
    _Status,
    {
        "start": ((_Status.PENDING,), _Status.RUNNING),
        "run_chunk": ((_Status.RUNNING,), None),
        "finish": ((_Status.RUNNING,), _Status.DONE),
        "fail": ((_Status.PENDING, _Status.RUNNING), _Status.FAILED),
    },
)
