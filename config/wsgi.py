import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()

# What is loaded now (settings, apps, models, the URL patterns and the views they import) lives
# as long as the process. Frozen out of the collector's generations, it is not walked again by
# every full collection, which otherwise stops a request for 75-100 ms every few thousand
# requests (30 ms frozen, measured on the partner list): a pause every request queued behind it
# waits for, and the tail of the latency.
get_resolver().url_patterns  # noqa: B018  (loads the URL configuration and the views)
gc.freeze()
