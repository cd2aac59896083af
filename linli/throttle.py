"""The page a login refused by the throttle (django-axes) gets, in the user's language.

Axes counts wrong passwords per (username, client address); `AXES_FAILURE_LIMIT` in a row lock
that account from that address for `AXES_COOLOFF_TIME`. The portal, supplier and admin logins
all authenticate through `AxesStandaloneBackend`, and `AxesMiddleware` calls
`lockout_response` for the attempt that reaches the limit and every attempt during the lock.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

LOCKOUT_TEMPLATE = "portal/lockout.html"


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """429 with a page naming the limit and the wait. Axes' async middleware passes the
    credentials in place of the original response: neither is used here."""
    cooloff_minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        LOCKOUT_TEMPLATE,
        {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": cooloff_minutes},
        status=429,
    )
