from django.apps import AppConfig


class SupportConfig(AppConfig):
    """Tasks that exist for the test suite only (installed by `config.settings.test`), so the
    real worker the tests start can run them."""

    name = "tests.support"
    label = "test_support"

    def ready(self) -> None:
        from tests.support import event_subscribers  # noqa: F401  (registers test subscribers)
