from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = "Incentive programs"

    def ready(self) -> None:
        # Registers with the lower floors: event subscribers, and panels of the partner page.
        from incentives import partner_page, subscribers  # noqa: F401

        # The enrollment import registers its kind with the partner import's machinery.
        from incentives.services import enrollment_imports  # noqa: F401
