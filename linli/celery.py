"""The Celery app: autodiscovers `tasks.py` in every app; configuration comes from settings."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")

app = Celery("linli")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages inside an app with a tasks module of their own (autodiscovery looks at apps only).
app.autodiscover_tasks(["apps.campaigns.notifications"])
