"""The WSGI application, as gunicorn loads it: the objects loaded at start-up are frozen out of
the garbage collector's generations, the URL configuration among them."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings


def test_loading_the_application_freezes_what_it_loaded():
    script = (
        "import gc, sys\n"
        "before = gc.get_freeze_count()\n"
        "import config.wsgi\n"
        "assert 'config.urls' in sys.modules, 'the URL configuration is loaded before freezing'\n"
        "print(before, gc.get_freeze_count())\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    before, after = map(int, result.stdout.split())
    assert before == 0
    assert after > 10_000
