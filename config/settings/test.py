"""The test suite: real PostgreSQL and Redis, each pytest-xdist worker on its own Redis database
so that the Celery workers the tests start never pick up each other's tasks."""

import os
import uuid

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASE_UNSCOPED_URL, DATABASE_URL, database, env

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw-1")
# The master (gw-1) gets the base database, gw0 the next, ...; TEST_REDIS_DB_BASE keeps the runs of
# several checkouts on one Redis apart.
_redis_db = int(env("TEST_REDIS_DB_BASE", "1")) + 1 + int(_worker.removeprefix("gw"))
REDIS_URL = env("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/") + f"/{_redis_db}"

DATABASES = {"default": database(DATABASE_URL), "unscoped": database(DATABASE_UNSCOPED_URL)}
# TEST_DATABASE_NAME keeps --reuse-db runs of several checkouts on one server apart. Both aliases
# name the same database (as two roles), so it is created once.
for _alias in DATABASES.values():
    _alias["TEST"] = {"NAME": env("TEST_DATABASE_NAME", "test_uplift")}

# Tasks that exist for the tests only, so that the real worker the tests start can run them.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.support"]  # noqa: F405

CACHES = {
    "default": {
        "BACKEND": "tenancy.redis_cache.RedisCache",
        "LOCATION": REDIS_URL,
        # A fresh prefix a run: counters (login rate limits) never leak between runs.
        "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
# Short: a test that counts coalesced re-syncs holds the worker busy rather than race a clock.
AUTO_ENROLL_COALESCE_SECONDS = int(env("AUTO_ENROLL_COALESCE_SECONDS", "3"))

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A Celery worker started by the tests writes its mail to files the tests read.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
ACCOUNT_RATE_LIMITS = {
    "login": "1000/m/ip",
    "signup": "1000/m/ip",
    "login_failed": "1000/m/ip,5/300s/key",
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Static files straight from the app folders (the live server of the browser tests needs them).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT = None
# The isolation sweep sends thousands of requests a minute as one user: limits high enough never
# to refuse them, so the throttles still run in every API test (their own tests lower them).
API_THROTTLE_RATES = {"token": "1000000/minute", "tenant": "1000000/minute"}
