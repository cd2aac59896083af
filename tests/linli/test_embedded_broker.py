"""The embedded default's file broker: a task sent on it lands in var/celery/queue, quietly.

The test starts a fresh Python process with the embedded settings (no REDIS_URL, no
CELERY_BROKER_URL, SQLite and the broker's folders under pytest's tmp_path), so it exercises
the broker URL those settings pick, not this test process's (which may be on Redis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings

SEND = """
import json
import django
django.setup()
from linli.celery import app
from linli.enqueue import enqueue_on_commit
from apps.stores.tasks import store_kpi_snapshots_task

enqueue_on_commit(store_kpi_snapshots_task, "2026-12-06")
print(json.dumps({"broker": app.conf.broker_url}), flush=True)
"""


def test_a_task_sent_on_the_file_broker_lands_in_its_queue_without_the_hostname_warning(
    tmp_path,
):
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "linli.settings"}
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "PYTEST_XDIST_WORKER"):
        environment.pop(name, None)
    environment["DATABASE_URL"] = f"sqlite:///{tmp_path / 'linli.sqlite3'}"
    environment["LINLI_VAR_DIR"] = str(tmp_path / "var")
    sender = subprocess.run(  # noqa: S603 - this interpreter, code fixed in this module
        [sys.executable, "-c", SEND],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert sender.returncode == 0, sender.stderr
    assert json.loads(sender.stdout.strip().splitlines()[-1])["broker"].startswith("filesystem://")
    queued = list((tmp_path / "var" / "celery" / "queue").iterdir())
    assert len(queued) == 1
    message = json.loads(queued[0].read_text())
    assert message["headers"]["task"] == "apps.stores.tasks.store_kpi_snapshots_task"
    assert "No hostname was supplied" not in sender.stderr
    assert "dropped, broker unreachable" not in sender.stderr
