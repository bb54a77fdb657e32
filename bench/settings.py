"""Production settings for benchmarks, served on loopback without TLS.

`bench.lists` starts gunicorn with these, a throwaway SECRET_KEY and DATABASE_URL naming the
application role on the benchmark database; everything else is production's own (DEBUG off,
JSON request logs, the same middleware, authentication and pagination).
"""

from config.settings.production import *  # noqa: F403

# No TLS-terminating proxy in front of loopback, so no redirect to HTTPS.
SECURE_SSL_REDIRECT = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "bench.urls"
# The load test is one token hammering one tenant: no rate limit in its way.
API_THROTTLE_RATES = {"token": None, "tenant": None}
