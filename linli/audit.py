"""Who changed what: the audit trail of HQ edits (django-auditlog).

Each app registers the models it owns in its `AppConfig.ready()` with `auditlog.register`, so
this module names no app. The middleware below tags every change made during a request with the
signed-in user and the client address as `linli.client_ip` resolves it (auditlog's own
middleware would believe any `X-Forwarded-For` a client sends).
"""

from __future__ import annotations

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings
from django.http import HttpRequest

from linli.client_ip import client_ip
from linli.phones import phone_mask

# auditlog hands the mask the text of each value; a field that was empty before a create is
# the text "None".
_NO_VALUE = "None"


def phone_mask_for_log(value: str) -> str:
    """`AUDITLOG_MASK_CALLABLE`: `+8613800138000` → `138****8000`, as everywhere phones are
    shown without `customers.view_phone`. Registered models name their phone fields in
    `mask_fields`; the whole number never reaches the log."""
    return value if value == _NO_VALUE else phone_mask(value)


class AuditActorMiddleware(AuditlogMiddleware):
    """auditlog's middleware with the client address taken from trusted proxies only."""

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        if settings.AUDITLOG_DISABLE_REMOTE_ADDR:
            return None
        return client_ip(request)
