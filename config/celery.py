"""The Celery application: Redis broker, one queue a kind of work (DESIGN.md §5)."""

import os

from celery import Celery
from celery.schedules import crontab
from kombu import Exchange, Queue

from tenancy.tasking import QUEUES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("uplift")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES
]
app.conf.task_routes = ("tenancy.tasking.route_by_queue_attribute",)
app.autodiscover_tasks()


def _register_schedules(sender: Celery, **kwargs) -> None:
    """Periodic tasks are declared here, in code; django-celery-beat's DatabaseScheduler copies
    them into its tables when beat starts."""
    sender.conf.beat_schedule = {
        "invitations-sweep": {
            "task": "tenancy.tasks.invitations_sweep_task",
            "schedule": 300.0,
        },
        "events-sweep": {
            "task": "tenancy.tasks.events_sweep_task",
            "schedule": 60.0,
        },
        "events-prune": {
            "task": "tenancy.tasks.events_prune_task",
            "schedule": crontab(minute=40),
        },
        "partner-imports-sweep": {
            "task": "partners.tasks.partner_imports_sweep_task",
            "schedule": 300.0,
        },
        "auto-enroll-requests-sweep": {
            "task": "incentives.tasks.auto_enroll_requests_sweep_task",
            "schedule": 300.0,
        },
        "invite-jobs-sweep": {
            "task": "incentives.tasks.invite_jobs_sweep_task",
            "schedule": 300.0,
        },
        "programs-auto-enroll-nightly": {
            "task": "incentives.tasks.programs_auto_enroll_sweep_task",
            "schedule": crontab(hour=2, minute=15),
        },
    }


app.on_after_configure.connect(_register_schedules)
