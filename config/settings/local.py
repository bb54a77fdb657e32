"""A developer's machine and `make demo`: debug on, mail printed to the console."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env, env_bool

DEBUG = env_bool("DEBUG", True)
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
LOGGING["handlers"]["console"]["formatter"] = env("LOG_FORMAT", "plain")  # noqa: F405
