"""The Celery app: autodiscovers `tasks.py` in every app; configuration comes from settings."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")

app = Celery("linli")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages inside an app with a tasks module of their own (autodiscovery looks at apps only).
app.autodiscover_tasks(["apps.campaigns.notifications"])


@worker_init.connect
def _warm_up(**_kwargs: object) -> None:
    """A worker computes live snapshots too (a join, a settlement): it warms up at its start,
    in the parent before the pool forks, so that its processes share what it loaded."""
    from linli.warmup import warm_up

    warm_up()
