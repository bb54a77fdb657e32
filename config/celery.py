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
    them into its tables when beat starts. The bulk jobs' sweepers run every
    `BULK_SWEEP_SECONDS` (DEVELOPERS.md, "Crash recovery")."""
    from django.conf import settings

    sender.conf.beat_schedule = {
        "invitations-sweep": {
            "task": "tenancy.tasks.invitations_sweep_task",
            "schedule": 300.0,
        },
        "claims-validation-sweep": {
            "task": "incentives.tasks.claims_validation_sweep_task",
            "schedule": 60.0,
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
            "schedule": settings.BULK_SWEEP_SECONDS,
        },
        "auto-enroll-requests-sweep": {
            "task": "incentives.tasks.auto_enroll_requests_sweep_task",
            "schedule": 300.0,
        },
        "figures-requests-sweep": {
            "task": "incentives.tasks.figures_requests_sweep_task",
            "schedule": 60.0,
        },
        "invite-jobs-sweep": {
            "task": "incentives.tasks.invite_jobs_sweep_task",
            "schedule": settings.BULK_SWEEP_SECONDS,
        },
        "programs-auto-enroll-nightly": {
            "task": "incentives.tasks.programs_auto_enroll_sweep_task",
            "schedule": crontab(hour=2, minute=15),
        },
    }


app.on_after_configure.connect(_register_schedules)
