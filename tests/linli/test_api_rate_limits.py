"""API rate limits for machines (linli/throttle.py): a device or store terminal over its scope's
rate gets 429 with `Retry-After` and the reason, in the one error shape; the count is per
token and per scope, so another terminal of the same store and another scope go on; people
(HQ, owners) using the API with a session are never counted.

The rest of the suite runs with the limits off (tests/conftest.py); these tests turn them on
with small real limits, on the configured "throttle" cache: Redis when REDIS_URL is set (as
in CI), this process's memory otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from apps.campaigns.models import Broadcast
from apps.devices.services import device_token_issue
from apps.stores.models import Order
from apps.stores.services.terminals import terminal_issue
from linli.api_auth import HashedTokenAuthentication
from linli.logfilters import RateLimitedNotLogged
from linli.throttle import THROTTLE_CACHE
from tests.campaigns.factories import BroadcastFactory
from tests.devices.factories import DeviceFactory
from tests.factories import ProductFactory, StockLevelFactory

pytestmark = pytest.mark.django_db

POS_ORDERS = "/api/v1/pos/orders"
READINGS = "/api/v1/devices/readings"
STORES = "/api/v1/stores/"

# Small real limits: every scope, so no request in these tests goes uncounted by accident.
RATES = {
    "device": "3/min",
    "pos_orders": "2/min",
    "broadcast_viewers": "2/min",
    "group_buys": "2/min",
    "campaign_events": "2/min",
    "mini_program_orders": "2/min",
}


def _throttle_keys_delete() -> None:
    """Empty this test database's throttle counts (only them: on Redis the db is shared with
    the channel layer and the broker, so no FLUSHDB)."""
    cache = caches[THROTTLE_CACHE]
    if not django_settings.REDIS_URL:
        cache.clear()
        return
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=cache.make_key("throttle:*")))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def rate_limits(settings: object) -> Iterator[dict[str, str]]:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
    _throttle_keys_delete()
    yield RATES
    _throttle_keys_delete()


@pytest.fixture(autouse=True)
def _english(settings: object) -> None:
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def stock(store: object) -> None:
    StockLevelFactory(store=store, product=ProductFactory(sku="FRU-0001"), on_hand=1000)


def _client(scheme: str, token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")
    return client


def _till(store: object, name: str = "Till 1") -> APIClient:
    _terminal, token = terminal_issue(store=store, name=name)
    return _client("Terminal", token)


def _sale(key: str) -> dict:
    return {
        "idempotency_key": key,
        "lines": [{"sku": "FRU-0001", "quantity": 1, "unit_price": "12.80"}],
    }


def _reading() -> dict:
    recorded_at = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
    return {"readings": [{"recorded_at": recorded_at, "temperature_c": 4.5}]}


def _post_sales(client: APIClient, count: int, *, prefix: str) -> list[int]:
    return [
        client.post(POS_ORDERS, _sale(f"{prefix}-{n}"), format="json").status_code
        for n in range(count)
    ]


def _assert_rate_limited(response: object, *, scope: str, limit_seconds: int = 60) -> None:
    assert response.status_code == 429, response.content
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= limit_seconds
    body = response.json()
    assert body["code"] == "rate_limited"
    assert body["detail"] == (
        f"Too many requests from this token; try again in {retry_after} seconds."
        if retry_after != 1
        else "Too many requests from this token; try again in 1 second."
    )
    assert body["errors"] == [
        {
            "index": None,
            "field": "",
            "code": "rate_limited",
            "message": body["detail"],
            "scope": scope,
            "retry_after": retry_after,
        }
    ]


def test_a_till_over_its_rate_gets_429_with_retry_after_and_nothing_is_written(
    rate_limits, store, stock
):
    till = _till(store)
    assert _post_sales(till, 2, prefix="sale") == [201, 201]

    refused = till.post(POS_ORDERS, _sale("sale-3"), format="json")

    _assert_rate_limited(refused, scope="pos_orders")
    assert Order.objects.count() == 2
    assert not Order.objects.filter(idempotency_key="sale-3").exists()


def test_a_burst_of_refusals_logs_one_line_per_token_and_scope_not_one_warning_each(
    rate_limits, store, stock, caplog
):
    """A till stuck in a retry loop: Django's "Too Many Requests" warning of each 429 is
    dropped on django.request, and the throttle logs one warning naming the token's holder
    and the scope for the window; another till, or the same till in another scope, gets a
    line of its own."""
    first, first_token = terminal_issue(store=store, name="Till 1")
    second, second_token = terminal_issue(store=store, name="Till 2")
    till = _client("Terminal", first_token)
    broadcast = BroadcastFactory(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=5),
    )
    viewers_url = f"/api/v1/broadcasts/{broadcast.pk}/viewers"
    with caplog.at_level(logging.INFO):
        statuses = _post_sales(till, 8, prefix="loop")
        other_statuses = _post_sales(_client("Terminal", second_token), 4, prefix="other")
        viewer_statuses = [
            till.post(viewers_url, {"count": 10}, format="json").status_code for _ in range(5)
        ]
    assert statuses == [201, 201] + [429] * 6
    assert other_statuses == [201, 201, 429, 429]
    assert viewer_statuses == [200, 200, 429, 429, 429]
    assert not [r for r in caplog.records if r.name == "django.request"]
    lines = [r.getMessage() for r in caplog.records if r.name == "linli.throttle"]
    holder = "API rate limit: stores.storeterminal"
    assert [line.split(" (")[0] for line in lines] == [
        f"{holder}:{first.pk} exceeded 2/min in scope 'pos_orders'",
        f"{holder}:{second.pk} exceeded 2/min in scope 'pos_orders'",
        f"{holder}:{first.pk} exceeded 2/min in scope 'broadcast_viewers'",
    ]
    assert "(POST /api/v1/pos/orders)" in lines[0]
    assert all(record.levelno == logging.WARNING for record in caplog.records)


def test_other_429s_are_still_logged_on_django_request():
    """The filter drops only the requests the API throttle marked (not the login lockout's)."""
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Too Many Requests: %s", ("/x",), None
    )
    record.status_code = 429
    assert RateLimitedNotLogged().filter(record)


def test_the_refusal_is_in_the_callers_language(rate_limits, store, stock):
    till = _till(store)
    _post_sales(till, 2, prefix="sale")

    refused = till.post(POS_ORDERS, _sale("sale-3"), format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert refused.status_code == 429
    retry_after = int(refused["Retry-After"])
    assert refused.json()["detail"] == f"此令牌的请求过多，请 {retry_after} 秒后再试。"


def test_a_device_over_its_rate_gets_429_and_another_device_of_the_store_is_not_affected(
    rate_limits, store
):
    sensor = _client("Device", device_token_issue(device=DeviceFactory(store=store)))
    neighbour = _client("Device", device_token_issue(device=DeviceFactory(store=store)))
    statuses = [sensor.post(READINGS, _reading(), format="json").status_code for _ in range(3)]
    assert statuses == [201, 201, 201]

    _assert_rate_limited(sensor.post(READINGS, _reading(), format="json"), scope="device")
    # GET /devices/me is the same device's scope: refused too.
    assert sensor.get("/api/v1/devices/me").status_code == 429
    assert neighbour.post(READINGS, _reading(), format="json").status_code == 201


def test_another_terminal_of_the_same_store_is_not_affected(rate_limits, store, stock):
    # Both tills reach the server from the store's one NAT address: only the token counts.
    first, second = _till(store, "Till 1"), _till(store, "Till 2")
    _post_sales(first, 2, prefix="first")
    assert first.post(POS_ORDERS, _sale("first-3"), format="json").status_code == 429

    assert _post_sales(second, 2, prefix="second") == [201, 201]
    assert Order.objects.filter(idempotency_key__startswith="second-").count() == 2


def test_another_scope_of_the_same_terminal_is_not_affected(rate_limits, store, stock):
    _terminal, token = terminal_issue(store=store, name="Till and streaming tool")
    terminal = _client("Terminal", token)
    broadcast = BroadcastFactory(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=5),
    )
    viewers_url = f"/api/v1/broadcasts/{broadcast.pk}/viewers"
    _post_sales(terminal, 2, prefix="sale")
    assert terminal.post(POS_ORDERS, _sale("sale-3"), format="json").status_code == 429

    reports = [
        terminal.post(viewers_url, {"count": count}, format="json").status_code
        for count in (120, 130)
    ]
    assert reports == [200, 200]
    broadcast.refresh_from_db()
    assert broadcast.viewers == 130
    # The viewers scope has its own count, and its own limit.
    _assert_rate_limited(
        terminal.post(viewers_url, {"count": 140}, format="json"), scope="broadcast_viewers"
    )
    broadcast.refresh_from_db()
    assert broadcast.viewers == 130


def test_hq_and_owner_sessions_are_not_counted_by_the_terminal_scopes(
    rate_limits, client, hq_user, owner, store, stock
):
    till = _till(store)
    _post_sales(till, 2, prefix="sale")
    assert till.post(POS_ORDERS, _sale("sale-3"), format="json").status_code == 429

    for user in (hq_user, owner):
        client.force_login(user)
        statuses = {client.get(STORES).status_code for _ in range(10)}
        assert statuses == {200}
        assert client.get(f"{STORES}{store.pk}/").status_code == 200


def _api_views() -> Iterator[tuple[str, type]]:
    def walk(patterns: list, prefix: str) -> Iterator[tuple[str, type]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                view_class = getattr(pattern.callback, "cls", None)
                if view_class is not None:
                    yield prefix + str(pattern.pattern), view_class

    yield from (
        (route, view) for route, view in walk(get_resolver().url_patterns, "") if "api/v1/" in route
    )


def test_every_view_a_machine_token_reaches_has_a_rate_limited_scope():
    machine_views = {
        route: view
        for route, view in _api_views()
        if any(
            issubclass(authentication, HashedTokenAuthentication)
            for authentication in view.authentication_classes
        )
    }
    assert len(machine_views) >= 8  # readings, me, POS orders, offers, joins, comments, ...
    rates = django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    unscoped = {
        route: getattr(view, "throttle_scope", None)
        for route, view in machine_views.items()
        if getattr(view, "throttle_scope", None) not in rates
    }
    assert unscoped == {}


@pytest.mark.redis
def test_with_redis_the_counts_live_in_redis_for_every_web_process(rate_limits, store, stock):
    terminal, token = terminal_issue(store=store, name="Till 1")
    till = _client("Terminal", token)
    _post_sales(till, 2, prefix="sale")

    # Read with a connection of its own, as another web process would.
    cache = caches[THROTTLE_CACHE]
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    try:
        key = cache.make_key(f"throttle:pos_orders:stores.storeterminal:{terminal.pk}")
        assert client.exists(key) == 1
    finally:
        client.close()
    assert till.post(POS_ORDERS, _sale("sale-3"), format="json").status_code == 429


def test_an_unreachable_throttle_cache_lets_requests_through(settings, store, stock):
    # Nothing listens on port 1: the throttle logs and lets the sale through, as it would
    # during a Redis outage, rather than failing the till.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
    settings.CACHES = {
        **settings.CACHES,
        THROTTLE_CACHE: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    till = _till(store)
    assert _post_sales(till, 3, prefix="sale") == [201, 201, 201]
    assert Order.objects.count() == 3
