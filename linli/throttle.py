"""Throttling, both kinds: the login lockout page (django-axes) and the API's rate limits for
machines (DRF).

Logins. Axes counts wrong passwords per (username, client address); `AXES_FAILURE_LIMIT` in a
row lock that account from that address for `AXES_COOLOFF_TIME`. The portal, supplier and admin
logins all authenticate through `AxesStandaloneBackend`, and `AxesMiddleware` calls
`lockout_response` for the attempt that reaches the limit and every attempt during the lock.

Machines. A device or a store terminal (POS till, mini-program, chat bot) in a retry loop must
not flood the database, so every API view a machine token reaches names a `throttle_scope`
and `MachineRateThrottle` (a DRF `ScopedRateThrottle`) counts that token's requests per scope
in the "throttle" cache: keyed by the token's holder (the device or terminal row), never by
the client address (a store's tills and sensors share one NAT address). The rates are
`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`, read at each request. A refused request is
answered 429 with `Retry-After` and, in the one error shape of `linli.errors`, the code
`rate_limited`. Requests of people (session or user token) are never counted here.

The count is DRF's: a read and a write of the cache, not atomic, so two requests of one token
arriving together in two processes may both pass at the limit; it bounds a flood, it is not a
quota. With Redis (REDIS_URL) every web process shares the counts; on the embedded default
each process counts for itself. If the cache cannot be reached the request is let through and
the failure logged: the throttle protects the database, it must not take the API down with it.

Logging a refusal. Django logs every 4xx answer on `django.request`; a till in a retry loop
would log one "Too Many Requests" warning a request. The throttle marks the requests it
refuses (`linli.logfilters.RATE_LIMITED_MARK`), `RateLimitedNotLogged` drops their
`django.request` line, and the throttle logs one warning of its own for the first refusal of a
token in a scope, then none for that token and scope until the scope's window (the rate's
period) has passed: a token that stays over its rate is named once a window.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from linli.api_auth import HashedTokenAuthentication
from linli.logfilters import RATE_LIMITED_MARK

if TYPE_CHECKING:
    # Not at run time: DRF imports this module while it defines APIView (the default
    # throttle classes), so importing rest_framework.views here would be circular.
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

LOCKOUT_TEMPLATE = "portal/lockout.html"

THROTTLE_CACHE = "throttle"


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


class MachineRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, per machine token: the view's `throttle_scope`, the holder of the
    token that authenticated the request (`linli.api_auth.HashedTokenAuthentication`: a
    device, a store terminal). A request authenticated any other way, or a view without a
    scope, is not counted.

    Unlike DRF's, the rate and the cache are looked up at each request (DRF binds both when
    the module is imported), so a settings change takes effect at once, and the wait is never
    missing: `Retry-After` is always sent.
    """

    cache_format = "throttle:%(scope)s:%(ident)s"

    @property
    def cache(self) -> BaseCache:  # type: ignore[override]
        return caches[THROTTLE_CACHE]

    def get_rate(self) -> str | None:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(
                f"No rate for the API throttle scope {self.scope!r} in "
                "REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']."
            ) from None

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not isinstance(request.successful_authenticator, HashedTokenAuthentication):
            return None
        holder = request.auth
        return self.cache_format % {
            "scope": self.scope,
            "ident": f"{holder._meta.label_lower}:{holder.pk}",
        }

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            allowed = super().allow_request(request, view)
            if not allowed:
                self._refusal_log(request)
        except (RedisError, OSError):
            logger.warning(
                "API throttle cache unreachable; request let through unthrottled", exc_info=True
            )
            return True
        return allowed

    def _refusal_log(self, request: Request) -> None:
        """Mark the refused request (its `django.request` line is dropped) and log one warning
        for this token and scope per window: `cache.add` writes the "already logged" key only
        when it is absent (atomic on Redis, so many processes log it once)."""
        setattr(request._request, RATE_LIMITED_MARK, True)
        if self.cache.add(f"{self.key}:logged", 1, timeout=max(1, int(self.duration))):
            holder = request.auth
            logger.warning(
                "API rate limit: %s:%s exceeded %s in scope %r (%s %s); further refusals of "
                "this token in this scope are not logged for %d s",
                holder._meta.label_lower,
                holder.pk,
                self.rate,
                self.scope,
                request.method,
                request.path,
                int(self.duration),
            )

    def wait(self) -> float:
        """Seconds until this token may send again in this scope: until enough of the oldest
        requests in the window have aged out (at least one second)."""
        if len(self.history) < self.num_requests:
            return 1.0
        # history is newest first; the request at index num_requests - 1 must leave the window.
        oldest_to_expire = self.history[self.num_requests - 1]
        return max(1.0, self.duration - (self.now - oldest_to_expire))
