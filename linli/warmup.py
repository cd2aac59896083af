"""Work a server process does once at startup instead of on its first request.

Django loads the URLconf (every view module, the API and its schema) on the first request
a process serves, and the live dashboard loads jieba's dictionary on the first snapshot it
computes. In a fresh process the first page paid both: the store owner who opens the live page
right after a deploy, a restart or gunicorn's periodic worker recycling. `warm_up()` runs them
before the process takes requests: the web (linli/wsgi.py) and websocket (linli/asgi.py)
servers call it when they load the application, and the Celery worker at its start
(linli/celery.py: worker processes compute snapshots too). Management commands and tests don't.

What runs is listed in settings.WARM_UP, as dotted paths, so that this module imports no app:
each app names its own warm-up work there. A step that fails is logged and skipped: a process
that could not warm up still serves, as it did before, only slower at first.
Measured by bench/bench_live_first_hit.py (docs/live-dashboard.md, "The first request").
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.urls import get_resolver
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def urlconf_load() -> None:
    """Import the URLconf and build its reverse lookups (for the default language) now."""
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 — the import of every URL module is the point
    resolver.reverse_dict  # noqa: B018 — built on first access, as `reverse()` would


def warm_up() -> None:
    """Run every step of settings.WARM_UP, in order; log how long they took."""
    started = time.perf_counter()
    for path in getattr(settings, "WARM_UP", ()):
        try:
            import_string(path)()
        except Exception:
            logger.exception("warm-up step %s failed; the first request will do its work", path)
    logger.info("warmed up in %.2f s", time.perf_counter() - started)
