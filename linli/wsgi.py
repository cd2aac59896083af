"""WSGI entry point (gunicorn, the web processes in production). Each process warms up
(linli/warmup.py) when it loads this module, before it takes requests."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from linli.warmup import warm_up

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
application = get_wsgi_application()
warm_up()
