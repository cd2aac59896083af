"""Redis down after a write commits: the broadcast or task enqueue is lost and logged, never a 500.

A real redis-server is started on a free port for each test, the channel layer and the Celery
broker are pointed at it, and it is shut down before the request, so both fail the way they
do in production (connection refused). Data is committed (`transaction=True`) so that the
on-commit hooks run inside the request, as they do in production.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.devices.models import Device, DeviceAlert, DeviceReading
from apps.devices.services import (
    alert_open,
    device_readings_ingest,
    device_token_issue,
    devices_pending_alerts_evaluate,
)
from apps.devices.tasks import devices_pending_alerts_evaluate_task
from linli.celery import app as celery_app
from tests.devices.factories import DeviceFactory
from tests.factories import StoreFactory, owner_of

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, *, up: bool) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            is_up = True
        except OSError:
            is_up = False
        if is_up == up:
            return
        time.sleep(0.05)
    raise AssertionError(f"redis on port {port} did not go {'up' if up else 'down'}")


@pytest.fixture
def redis_gone(settings: object) -> Iterator[str]:
    """A redis-server that the channel layer and the Celery broker use, stopped again before
    the test body runs. Yields its URL (nothing listens there any more)."""
    if not (REDIS_SERVER and REDIS_CLI):
        pytest.skip("needs redis-server and redis-cli")
    port = _free_port()
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
        ],
        check=True,
        capture_output=True,
    )
    _wait_for(port, up=True)
    url = f"redis://127.0.0.1:{port}/0"
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}
    }
    old_broker = celery_app.conf.broker_url
    celery_app.conf.broker_url = url
    # The connection and producer pools are bound to the broker URL they were built with.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    subprocess.run(  # noqa: S603 - fixed arguments
        [REDIS_CLI, "-p", str(port), "shutdown", "nosave"], check=False, capture_output=True
    )
    _wait_for(port, up=False)
    try:
        yield url
    finally:
        celery_app.conf.broker_url = old_broker
        # Both pools hold connections to the dead port: drop them, or later tests publish there.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


def _readings(*minutes_ago: int) -> dict:
    now = timezone.now()
    return {
        "readings": [
            {"recorded_at": (now - dt.timedelta(minutes=m)).isoformat(), "temperature_c": 12.0}
            for m in minutes_ago
        ]
    }


@pytest.mark.redis
def test_readings_are_stored_and_answered_201_when_the_broker_is_down(redis_gone, caplog):
    device = DeviceFactory(store=StoreFactory())
    token = device_token_issue(device=device)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    with caplog.at_level(logging.WARNING, logger="linli.enqueue"):
        response = client.post("/api/v1/devices/readings", _readings(3, 2, 1), format="json")
    assert response.status_code == 201
    assert response.json() == {"received": 3, "accepted": 3, "duplicates": 0}
    assert DeviceReading.objects.filter(device=device).count() == 3
    lost = [r for r in caplog.records if r.name == "linli.enqueue"]
    assert len(lost) == 1
    assert "device_alerts_evaluate_task" in lost[0].getMessage()
    assert f"({device.pk},)" in lost[0].getMessage()
    assert lost[0].exc_info is None  # one line, no traceback
    device.refresh_from_db()
    assert device.alerts_evaluated_at is None  # left for the pending-evaluations sweep


@pytest.mark.redis
def test_acknowledging_an_alert_redirects_when_the_channel_layer_is_down(redis_gone, caplog):
    store = StoreFactory()
    owner = owner_of(store)
    device = DeviceFactory(store=store)
    with caplog.at_level(logging.CRITICAL, logger="linli.realtime"):
        alert, _created = alert_open(device=device, kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE)
    client = Client()
    client.force_login(owner)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="linli.realtime"):
        response = client.post(f"/portal/devices/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 302
    assert response["Location"] == f"/portal/devices/stores/{store.pk}/"
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == (DeviceAlert.Status.ACKNOWLEDGED, owner)
    lost = [r for r in caplog.records if r.name == "linli.realtime"]
    assert len(lost) == 1
    message = lost[0].getMessage()
    assert "device.alert_acknowledged" in message
    assert f"linli.store.{store.pk}.notifications" in message
    assert lost[0].exc_info is None


@pytest.mark.django_db
def test_pending_sweep_evaluates_a_batch_whose_enqueue_was_lost_once():
    """The sweep that covers a lost evaluation enqueue: the out-of-range batch above opens its
    alert here, and a second run (or the task) finds nothing left to do."""
    device = DeviceFactory(store=StoreFactory(), minutes_out_of_range=5)
    posted_at = timezone.now() - dt.timedelta(minutes=3)
    readings = [
        {"recorded_at": (posted_at - dt.timedelta(minutes=m)).isoformat(), "temperature_c": 12.0}
        for m in (10, 5, 0)
    ]
    device_readings_ingest(device=device, readings=readings, now=posted_at)
    fresh = DeviceFactory(store=device.store)
    device_readings_ingest(device=fresh, readings=readings[-1:], now=timezone.now())

    assert devices_pending_alerts_evaluate() == 1  # the fresh batch is left to its own task
    assert list(DeviceAlert.objects.filter(device=device).values_list("kind", "status")) == [
        (DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE, DeviceAlert.Status.OPEN)
    ]
    assert Device.objects.get(pk=device.pk).alerts_evaluated_at >= posted_at
    assert devices_pending_alerts_evaluate_task() == 0
    assert DeviceAlert.objects.filter(device=device).count() == 1
    assert not DeviceAlert.objects.filter(device=fresh).exists()
