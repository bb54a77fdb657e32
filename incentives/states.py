"""The state machines of programs and enrollments: which action is allowed from which status.

Services check every move here under the row lock (`tenancy.transitions`); pages, the API and
permissions ask `PROGRAM_STATES.actions_from(status)` what may be offered."""

from __future__ import annotations

from incentives.models import EnrollmentStatus, ProgramStatus
from tenancy.transitions import StateMachine

_OPEN = (ProgramStatus.DRAFT, ProgramStatus.ACTIVE, ProgramStatus.PAUSED)

PROGRAM_STATES = StateMachine.declare(
    "program",
    ProgramStatus,
    {
        # Status moves. `activate` from paused is the resume.
        "activate": ((ProgramStatus.DRAFT, ProgramStatus.PAUSED), ProgramStatus.ACTIVE),
        "pause": ((ProgramStatus.ACTIVE,), ProgramStatus.PAUSED),
        "close": ((ProgramStatus.ACTIVE, ProgramStatus.PAUSED), ProgramStatus.CLOSED),
        # Changes that keep the status but need one: a closed program is a record.
        "update": (_OPEN, None),
        "publish_terms": (_OPEN, None),
        "set_required_partners": (_OPEN, None),
        "invite": (_OPEN, None),
        "enroll": ((ProgramStatus.ACTIVE,), None),
        "auto_enroll": ((ProgramStatus.ACTIVE,), None),
    },
)
STATUS_ACTIONS = ("activate", "pause", "close")

ENROLLMENT_STATES = StateMachine.declare(
    "enrollment",
    EnrollmentStatus,
    {
        "invite": (
            (EnrollmentStatus.DECLINED, EnrollmentStatus.WITHDRAWN),
            EnrollmentStatus.INVITED,
        ),
        # Accepting the current terms: a first enrollment, a re-acceptance of new terms, or a
        # return. Whether an uninvited partner may accept is the program's enrollment mode.
        "accept": (
            (
                EnrollmentStatus.INVITED,
                EnrollmentStatus.ENROLLED,
                EnrollmentStatus.REACCEPT,
                EnrollmentStatus.DECLINED,
                EnrollmentStatus.WITHDRAWN,
            ),
            EnrollmentStatus.ENROLLED,
        ),
        "decline": ((EnrollmentStatus.INVITED,), EnrollmentStatus.DECLINED),
        "withdraw": (
            (EnrollmentStatus.ENROLLED, EnrollmentStatus.REACCEPT),
            EnrollmentStatus.WITHDRAWN,
        ),
        # New terms published: an enrolled partner must accept them again.
        "require_reaccept": ((EnrollmentStatus.ENROLLED,), EnrollmentStatus.REACCEPT),
    },
)
