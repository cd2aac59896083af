"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """On `django.request`: a 403 (PermissionDenied) and a 400 (BadRequest: a NUL character in
    a search, linli/params.py) keep their one-line message and lose the traceback — a user
    opening what they may not see or sending what no page reads, not a fault to debug — while
    every other record (a 500's traceback above all) passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in (400, 403):
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True


# Set (True) on the HttpRequest by linli.throttle.MachineRateThrottle when it refuses it.
RATE_LIMITED_MARK = "linli_rate_limited"


class RateLimitedNotLogged(logging.Filter):
    """On `django.request`: drops the "Too Many Requests" warning of a 429 the API rate limits
    answered (the request the throttle marked with `RATE_LIMITED_MARK`). A till stuck in a
    retry loop would otherwise log one warning a request; the throttle logs one line per token
    and scope per window instead. Every other record (the login lockout's 429 included)
    passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 429:
            return True
        return not getattr(getattr(record, "request", None), RATE_LIMITED_MARK, False)
