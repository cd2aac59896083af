"""The channel layer each setup picks, and that the embedded one crosses process boundaries.

Every test here starts fresh Python processes with the settings of the setup under test (the
environment decides: REDIS_URL or not), so they exercise the real layer, not this test process's.
The embedded processes use a SQLite database file of their own under pytest's tmp_path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

RECEIVER = """
import asyncio, json, sys
import django
django.setup()
from channels.layers import get_channel_layer

async def main():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("linli.test.cross_process", channel)
    print("ready", flush=True)
    message = await asyncio.wait_for(layer.receive(channel), timeout=60)
    print(json.dumps({"layer": type(layer).__name__, "message": message}), flush=True)

asyncio.run(main())
"""

SENDER = """
import django
django.setup()
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

async_to_sync(get_channel_layer().group_send)(
    "linli.test.cross_process", {"type": "realtime.message", "text": "冷柜告警 12.0°C"}
)
"""

SETTINGS_PROBE = """
import json
import django
django.setup()
from django.conf import settings
from channels.layers import get_channel_layer

layer = settings.CHANNEL_LAYERS["default"]
print(json.dumps({
    "backend": layer["BACKEND"],
    "database": layer.get("CONFIG", {}).get("database"),
    "class": type(get_channel_layer()).__module__ + "." + type(get_channel_layer()).__name__,
    "channels_lite_installed": "channels_lite" in settings.INSTALLED_APPS,
    "channels_database": settings.DATABASES.get("channels", {}).get("NAME"),
    "broker": settings.CELERY_BROKER_URL,
}))
"""


def _environment(**overrides: str | None) -> dict[str, str]:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "linli.settings"}
    for name, value in overrides.items():
        environment.pop(name, None)
        if value is not None:
            environment[name] = value
    return environment


def _python(code: str, environment: dict[str, str], **kwargs: object) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - this interpreter, code fixed in this module
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _probe(environment: dict[str, str]) -> dict:
    probe = _python(SETTINGS_PROBE, environment)
    out, err = probe.communicate(timeout=120)
    assert probe.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _embedded_environment(tmp_path: Path) -> dict[str, str]:
    """The bare default: SQLite under tmp_path, no Redis; the layer's tables migrated there."""
    environment = _environment(
        REDIS_URL=None,
        CELERY_BROKER_URL=None,
        DATABASE_URL=f"sqlite:///{tmp_path / 'linli.sqlite3'}",
        LINLI_VAR_DIR=str(tmp_path / "var"),  # the file broker's folders: one per test
    )
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "manage.py",
            "migrate",
            "channels_lite",
            "--noinput",
            "--skip-checks",
            "-v",
            "0",
        ],
        cwd=settings.BASE_DIR,
        env=environment,
        check=True,
        timeout=120,
    )
    return environment


def test_embedded_layer_delivers_a_group_send_from_another_process(tmp_path):
    environment = _embedded_environment(tmp_path)
    receiver = _python(RECEIVER, environment)
    try:
        assert receiver.stdout.readline().strip() == "ready"
        sender = _python(SENDER, environment)
        _, sender_err = sender.communicate(timeout=120)
        assert sender.returncode == 0, sender_err
        out, err = receiver.communicate(timeout=120)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    assert receiver.returncode == 0, err
    received = json.loads(out.strip().splitlines()[-1])
    assert received == {
        "layer": "SQLiteChannelLayer",
        "message": {"type": "realtime.message", "text": "冷柜告警 12.0°C"},
    }


@pytest.mark.redis
def test_redis_layer_delivers_from_another_process_after_the_receiver_idled_past_5_seconds():
    """redis-py 8 reads time out after 5 s by default, as long as channels-redis's blocking pop:
    an idle receiver used to die with TimeoutError; the settings raise the socket timeout."""
    environment = _environment(REDIS_URL=settings.REDIS_URL, CELERY_BROKER_URL=None)
    receiver = _python(RECEIVER, environment)
    try:
        assert receiver.stdout.readline().strip() == "ready"
        time.sleep(7)  # idle past one blocking pop and redis-py's default read timeout
        assert receiver.poll() is None, receiver.stderr.read()
        sender = _python(SENDER, environment)
        _, sender_err = sender.communicate(timeout=120)
        assert sender.returncode == 0, sender_err
        out, err = receiver.communicate(timeout=120)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    assert receiver.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == {
        "layer": "RedisChannelLayer",
        "message": {"type": "realtime.message", "text": "冷柜告警 12.0°C"},
    }


def test_embedded_layer_does_not_deliver_to_a_channel_outside_the_group(tmp_path):
    environment = _embedded_environment(tmp_path)
    sender = _python(SENDER, environment)
    _, sender_err = sender.communicate(timeout=120)
    assert sender.returncode == 0, sender_err
    # Nobody had joined the group: nothing was stored for anyone to receive later.
    count = subprocess.run(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from channels_lite.models import Event; "
            "print(Event.objects.count())",
        ],
        cwd=settings.BASE_DIR,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert count.stdout.strip() == "0"


def test_without_redis_settings_pick_the_sqlite_layer_in_the_main_sqlite_file(tmp_path):
    probe = _probe(
        _environment(REDIS_URL=None, DATABASE_URL=f"sqlite:///{tmp_path / 'linli.sqlite3'}")
    )
    assert probe == {
        "backend": "channels_lite.layers.core.SQLiteChannelLayer",
        "database": "default",
        "class": "channels_lite.layers.core.SQLiteChannelLayer",
        "channels_lite_installed": True,
        "channels_database": None,
        "broker": "filesystem://localhost/",
    }


def test_postgresql_without_redis_keeps_the_layer_in_its_own_sqlite_file(tmp_path):
    probe = _probe(
        _environment(
            REDIS_URL=None,
            DATABASE_URL="postgres://postgres@127.0.0.1:5432/linli_unused",
            CHANNELS_DATABASE_PATH=str(tmp_path / "channels.sqlite3"),
        )
    )
    assert probe["backend"] == "channels_lite.layers.core.SQLiteChannelLayer"
    assert probe["database"] == "channels"
    assert probe["channels_database"] == str(tmp_path / "channels.sqlite3")


def test_with_redis_url_settings_pick_channels_redis():
    # Outside a parallel test worker, so the URL is taken as given.
    probe = _probe(
        _environment(
            REDIS_URL="redis://127.0.0.1:6379/1", CELERY_BROKER_URL=None, PYTEST_XDIST_WORKER=None
        )
    )
    assert probe == {
        "backend": "channels_redis.core.RedisChannelLayer",
        "database": None,
        "class": "channels_redis.core.RedisChannelLayer",
        "channels_lite_installed": False,
        "channels_database": None,
        "broker": "redis://127.0.0.1:6379/1",
    }
