def register(router) -> None:
    """Programs and enrollments (incentives.api.views)."""
