"""Writes of the incentives app: `programs` (programs, terms, required partners),
`enrollments` (invitations, acceptance, automatic enrollment) and `invite_jobs` (invitations to
every eligible partner, sent in the background)."""
