"""Writes of the incentives app: `programs` (programs, terms, required partners) and
`enrollments` (invitations, acceptance, automatic enrollment)."""
