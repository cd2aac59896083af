"""`/healthz/`: is the database reachable, and Redis when it is configured."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001 — any failure means "not reachable"
        return False


def _redis_ok(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        return bool(client.ping())
    except Exception:  # noqa: BLE001
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": "ok" if _database_ok() else "unreachable"}
    if settings.REDIS_URL:
        checks["redis"] = "ok" if _redis_ok(settings.REDIS_URL) else "unreachable"
    else:
        checks["redis"] = "not configured"
    healthy = all(value != "unreachable" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", **checks}, status=200 if healthy else 503
    )
