"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """On `django.request`: a 403 (PermissionDenied) keeps its one-line message and loses the
    traceback — it is a user opening what they may not see, not a fault to debug — while
    every other record (a 500's traceback above all) passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True
