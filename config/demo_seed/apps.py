from django.apps import AppConfig


class DemoSeedConfig(AppConfig):
    """The demo channel behind `make demo` (`manage.py seed_demo`): composition, on top of every
    app, so it may use them all."""

    name = "config.demo_seed"
    label = "demo_seed"
    verbose_name = "Demo data"
