"""The nightly run on the embedded default (one SQLite file shared by web, worker and beat)
finishes while another connection writes, and that writer is not refused either.

The run reads a chunk's sales and computes its forecasts for seconds. It used to do so inside
the chunk's write transaction: a websocket connect (channels-lite's `group_add`) or a beat task
that wrote meanwhile made the chunk's first write fail with "database is locked" at once (a
WAL snapshot older than the last commit cannot be written from), every attempt, so the 200-store
run never finished. Here a websocket connects, in a thread of its own, while the first chunk's
forecasts are computed; the order is fixed by joining that thread, not by sleeping.

A process of its own on a SQLite file (the test database is in memory, where locking differs):
the file is a copy of the migrated test database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="the embedded default (DATABASE_URL is not SQLite)",
)

NIGHT_WITH_A_WEBSOCKET_CONNECT = """
import json, threading
import django
django.setup()
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.db import connection
from apps.catalog.models import DecisionRun, DemandForecast
from apps.catalog.services import forecasts, nightly
from tests.catalog.decision_fixtures import decision_world

call_command("migrate", "channels_lite", verbosity=0)
world = decision_world()
connects = []

def websocket_connect():
    try:
        async_to_sync(get_channel_layer().group_add)("linli.test.nightly", "specific.probe!1")
        connects.append("joined")
    except Exception as error:
        connects.append(f"{type(error).__name__}: {error}")
    finally:
        connection.close()

computed = forecasts.forecasts_for_panel

def forecasts_while_a_websocket_connects(**kwargs):
    if not connects:
        websocket = threading.Thread(target=websocket_connect)
        websocket.start()
        websocket.join(timeout=120)
    return computed(**kwargs)

forecasts.forecasts_for_panel = forecasts_while_a_websocket_connects
try:
    run = nightly.decisions_run(day=world["today"], chunk_size=2)
    outcome = {"status": run.status, "stores_done": run.stores_done}
except Exception as error:
    outcome = {"error": f"{type(error).__name__}: {error}"}
outcome["connects"] = connects
outcome["forecasts"] = DemandForecast.objects.count()
print(json.dumps(outcome))
"""


def test_the_nightly_run_and_a_websocket_connect_both_write_to_the_embedded_database(
    tmp_path: Path, transactional_db: None
) -> None:
    database = tmp_path / "linli.sqlite3"
    source = connections["default"]
    source.ensure_connection()
    copy = sqlite3.connect(database)
    source.connection.backup(copy)  # the migrated schema; this test writes nothing here
    copy.close()
    environment = {
        **{
            name: value
            for name, value in os.environ.items()
            if name not in {"REDIS_URL", "CELERY_BROKER_URL"}
        },
        "DJANGO_SETTINGS_MODULE": "linli.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "LINLI_VAR_DIR": str(tmp_path / "var"),
    }

    night = subprocess.run(  # noqa: S603 - this interpreter, code fixed in this module
        [sys.executable, "-c", NIGHT_WITH_A_WEBSOCKET_CONNECT],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert night.returncode == 0, night.stderr
    outcome = json.loads(night.stdout.strip().splitlines()[-1])
    assert outcome == {
        "status": "done",
        "stores_done": 3,
        "connects": ["joined"],
        "forecasts": outcome["forecasts"],
    }
    assert outcome["forecasts"] > 0
