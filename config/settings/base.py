"""Settings shared by every environment; each value that differs between machines comes from the
environment, so one image serves local, test and production."""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


SECRET_KEY = env("SECRET_KEY", "insecure-local-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "tenancy.apps.UpliftAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "csp",
    "tenancy",
    "partners",
    "incentives",
    "config.demo_seed",
]

MIDDLEWARE = [
    "tenancy.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenancy.context_processors.navigation",
            ],
        },
    },
]

# The application connects as a role that is neither superuser nor BYPASSRLS
# (`manage.py create_app_role`); migrations run with DATABASE_URL set to the owner's URL.
DATABASE_URL = env("DATABASE_URL", "postgres://uplift_app@127.0.0.1:5432/uplift")
DATABASE_OWNER_URL = env("DATABASE_OWNER_URL", "postgres://postgres@127.0.0.1:5432/uplift")
# `all_tenants()` (platform admin, fan-out jobs) runs on a connection of its own, as a role whose
# policy opens every tenant; the application role's policies never do (DESIGN.md §2).
DATABASE_UNSCOPED_URL = env(
    "DATABASE_UNSCOPED_URL", "postgres://uplift_unscoped@127.0.0.1:5432/uplift"
)


def database(url: str, **options) -> dict:
    """A connection through `tenancy.db`, the PostgreSQL backend that carries the bound scope."""
    config = dj_database_url.parse(url, **options)
    config["ENGINE"] = "tenancy.db"
    return config


DATABASES = {
    "default": database(DATABASE_URL, conn_max_age=60, conn_health_checks=True),
    "unscoped": database(DATABASE_UNSCOPED_URL, conn_max_age=60, conn_health_checks=True),
}
DATABASE_ROUTERS = ["tenancy.routers.UnscopedRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        # Django's, with one client object a server for the process (`tenancy.redis_cache`).
        "BACKEND": "tenancy.redis_cache.RedisCache",
        "LOCATION": env("CACHE_URL", REDIS_URL),
        "KEY_PREFIX": "uplift",
    }
}

AUTH_USER_MODEL = "tenancy.User"
# Django's and allauth's backends, with the signed-in person read from the cache
# (`tenancy.auth`).
AUTHENTICATION_BACKENDS = [
    "tenancy.auth.ModelBackend",
    "tenancy.auth.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# Accounts (django-allauth): email is the login; a sign-up creates a vendor tenant.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_SIGNUP_FORM_CLASS = "tenancy.forms.VendorSignupForm"
ACCOUNT_ADAPTER = "tenancy.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Uplift] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env("ACCOUNT_DEFAULT_HTTP_PROTOCOL", "http")
# allauth counts attempts in the default cache, which is Redis: limits hold across processes.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/300s/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Uplift"

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "media/"

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Uplift <no-reply@uplift.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Content Security Policy: scripts and styles only from our own origin, no inline code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenancy.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "tenancy.api.schema.UpliftAutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "tenancy.api.filters.FilterBackend",
        "tenancy.api.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "tenancy.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "tenancy.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_RENDERER_CLASSES": ["tenancy.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_CLASSES": [
        "tenancy.api.throttling.TokenRateThrottle",
        "tenancy.api.throttling.TenantRateThrottle",
    ],
}
# Requests a window per API token (or signed-in user) and per tenant (`tenancy.api.throttling`):
# generous, against a runaway script rather than for metering.
API_THROTTLE_RATES = {
    "token": env("API_THROTTLE_TOKEN", "1200/minute"),
    "tenant": env("API_THROTTLE_TENANT", "6000/minute"),
}
# How long a user's memberships stay cached (`tenancy.selectors.memberships_of`); a change of a
# membership or a tenant drops the cache at once, so this only bounds what a missed signal costs.
MEMBERSHIP_CACHE_SECONDS = int(env("MEMBERSHIP_CACHE_SECONDS", "60"))
# How long a process may answer an API token from the cache (`tenancy.selectors.live_token`).
API_TOKEN_CACHE_SECONDS = int(env("API_TOKEN_CACHE_SECONDS", "60"))
# How long a signed-in session's person is read from the cache (`tenancy.selectors.session_user`).
SESSION_USER_CACHE_SECONDS = int(env("SESSION_USER_CACHE_SECONDS", "60"))
# How long the count of a list of over 1,000 rows is reused (`tenancy.api.pagination`).
LIST_COUNT_CACHE_SECONDS = int(env("LIST_COUNT_CACHE_SECONDS", "30"))
SPECTACULAR_SETTINGS = {
    "TITLE": "Uplift API",
    "DESCRIPTION": (
        "Channel incentive programs. Every tenant-owned resource lives under "
        "`/api/v1/t/{tenant_slug}/`; authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "tenancy.roles.Role",
        "ClaimStatusEnum": "incentives.claims.models.ClaimStatus",
    },
}

# Background work (DESIGN.md §5).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL)
# A message taken by a worker that dies (main process killed, machine lost) goes back to its
# queue this long after it was delivered. Longer than any task may hold it (the hard time limit
# and the longest countdown, AUTO_ENROLL_COALESCE_SECONDS); a bulk job's own sweeper re-queues
# it sooner (BULK_STALE_SECONDS). DEVELOPERS.md, "Crash recovery", has the arithmetic.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Well under the visibility timeout, so a slow task is killed before Redis redelivers it.
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "notifications"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# A bulk task (import, invitations to everyone) stops taking new chunks after this long and
# queues its continuation: far below the soft time limit, so no run is ever killed mid-chunk.
BULK_TASK_SECONDS = float(env("BULK_TASK_SECONDS", "60"))
# Every committed chunk of a bulk job (a partner import, invitations to everyone) records a
# heartbeat. A job pending or running whose heartbeat is older than BULK_STALE_SECONDS has lost
# its worker or its message; its sweeper, every BULK_SWEEP_SECONDS, queues it again, and it goes
# on from its last committed chunk (tenancy.tasking.requeue_stale_jobs).
BULK_STALE_SECONDS = float(env("BULK_STALE_SECONDS", "180"))
BULK_SWEEP_SECONDS = float(env("BULK_SWEEP_SECONDS", "60"))
# Rows of a partner import committed together (one transaction, one heartbeat).
PARTNER_IMPORT_CHUNK_ROWS = int(env("PARTNER_IMPORT_CHUNK_ROWS", "500"))
# Measured: closing the connection around every task costs 5x in throughput.
CELERY_DB_REUSE_MAX = 1000
# Partner changes within this many seconds of the first come to one automatic-enrollment re-sync
# a program (incentives.services.resyncs). Well under the broker's visibility timeout.
AUTO_ENROLL_COALESCE_SECONDS = int(env("AUTO_ENROLL_COALESCE_SECONDS", "60"))
# Partner changes within this many seconds of the first come to one pass over every program's
# figures row (incentives.services.figures): the lists show a change within seconds.
FIGURES_COALESCE_SECONDS = int(env("FIGURES_COALESCE_SECONDS", "2"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "tenancy.logging.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "tenancy.logging.JsonFormatter"},
        "plain": {
            "format": (
                "%(asctime)s %(levelname)s %(name)s "
                "[req=%(request_id)s tenant=%(tenant_id)s] %(message)s"
            )
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": env("LOG_FORMAT", "json"),
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}

# The role the application connects as; `create_app_role` makes it, migrations grant it.
APP_DB_ROLE = env("APP_DB_ROLE", "uplift_app")
UNSCOPED_DB_ROLE = env("UNSCOPED_DB_ROLE", "uplift_unscoped")
SITE_URL = env("SITE_URL", "http://localhost:8000")
