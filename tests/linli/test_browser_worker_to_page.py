"""An alert raised inside a real Celery worker reaches the owner's open page, in both setups.

The whole stack runs as separate processes, as `bin/run` starts it: Daphne serving `linli.asgi`
(pages and websockets) and `celery -A linli worker`, both on the test database (PostgreSQL, so
all processes open the same one). The test logs the owner in with headless Chromium, waits until
the store page's socket (static/linli/store-live.js) is open, then has the worker evaluate a
device whose fridge is too warm through the existing task (`celery call`, the way any process
enqueues it). The alert opened in the worker must show on the page within 2 s of being raised
(the issue's bound; the browser stamps the moment the line appears).

- embedded: no REDIS_URL for the processes: the filesystem broker and the SQLite channel layer
  (channels-lite, in a file under tmp_path), exactly the bare default.
- redis: REDIS_URL (this run's Redis database): the Redis broker and channels-redis.

Each run uses a queue of its own, so no other worker on this machine takes the task.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls made by fixtures and
# assertions are still synchronous and safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
MAX_DELAY = dt.timedelta(seconds=2)

# Set before the task is sent: stamps (browser clock, same machine as the worker's) the moment a
# line is added to the store page's live list.
STAMP_ARRIVALS = """() => {
  window.linliArrivals = [];
  const list = document.querySelector("#notification-list");
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        window.linliArrivals.push({at: Date.now(), text: node.textContent});
      }
    }
  }).observe(list, {childList: true});
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Output:
    """Collects a process's output lines in a thread, so the pipe never fills up."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, process: subprocess.Popen, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            if any(text in line for line in self.lines):
                return
            time.sleep(0.2)
        pytest.fail(f"{text!r} never came:\n" + "".join(self.lines[-40:]))


def _environment(setup: str, tmp_path: Path) -> dict[str, str]:
    from django.db import connection

    database_url = urlsplit(os.environ["DATABASE_URL"])
    test_database = database_url._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    environment = {
        **os.environ,
        "DATABASE_URL": test_database,
        "DEBUG": "true",  # WhiteNoise serves static files straight from the finders
        "DB_POOL_MIN": "0",
        "DB_POOL_MAX": "4",
    }
    environment.pop("CELERY_BROKER_URL", None)
    if setup == "embedded":
        environment.pop("REDIS_URL", None)
        environment["CHANNELS_DATABASE_PATH"] = str(tmp_path / "channels.sqlite3")
        # The file broker's folders too: parallel test workers must not share a queue.
        environment["LINLI_VAR_DIR"] = str(tmp_path / "var")
    return environment


@pytest.fixture
def stack(request: pytest.FixtureRequest, transactional_db: None, tmp_path: Path) -> Iterator[dict]:
    """Daphne and a Celery worker as separate processes with the setup's settings; both are
    stopped before the test database is flushed."""
    from django.conf import settings

    setup = request.param
    environment = _environment(setup, tmp_path)
    if setup == "embedded":
        subprocess.run(  # noqa: S603 - fixed arguments
            [
                sys.executable,
                "manage.py",
                "migrate",
                "channels_lite",
                "--database",
                "channels",
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
    queue = f"test-worker-to-page-{uuid.uuid4().hex[:12]}"
    port = _free_port()
    processes = []
    try:
        web = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            + ["-v", "1", "linli.asgi:application"],
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(web)
        web_output = _Output(web)
        worker = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [sys.executable, "-m", "celery", "-A", "linli", "worker", "--loglevel=INFO"]
            + ["--pool=solo", "--queues", queue, "--hostname", f"{queue}@%h"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(worker)
        worker_output = _Output(worker)
        web_output.wait_for("Listening on TCP address", web, timeout=90)
        worker_output.wait_for(" ready.", worker, timeout=90)
        yield {
            "url": f"http://127.0.0.1:{port}",
            "queue": queue,
            "environment": environment,
            "worker_output": worker_output,
            "web_output": web_output,
            "setup": setup,
        }
    finally:
        for process in processes:
            _stop(process)


def _log_in(page: object, url: str, user: object) -> None:
    page.goto(f"{url}/portal/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")


def _enqueue_through_the_broker(stack: dict, device_id: int) -> None:
    """`celery call`: a separate process sends the existing task to the broker of the setup."""
    from django.conf import settings

    subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "celery", "-A", "linli", "call"]
        + ["apps.devices.tasks.device_alerts_evaluate_task"]
        + ["--args", f"[{device_id}]", "--queue", stack["queue"]],
        cwd=settings.BASE_DIR,
        env=stack["environment"],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "stack",
    [
        pytest.param("embedded", id="embedded"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ],
    indirect=True,
)
def test_alert_raised_in_the_worker_reaches_the_open_store_page_within_two_seconds(
    stack, page, owner, store, other_store
):
    from apps.devices.models import DeviceAlert, DeviceKind, DeviceKindThreshold
    from tests.devices.factories import DeviceFactory, readings_every_minute

    # The data migration's default; an earlier transactional test's flush may have removed it.
    DeviceKindThreshold.objects.get_or_create(
        kind=DeviceKind.DISPLAY_CHILLER,
        defaults={
            "min_temperature_c": Decimal("0.0"),
            "max_temperature_c": Decimal("8.0"),
            "minutes_out_of_range": 15,
        },
    )
    device = DeviceFactory(store=store, name="Dairy chiller")
    other_device = DeviceFactory(store=other_store, name="Other chiller")
    start = timezone.now() - dt.timedelta(minutes=20)
    readings_every_minute(device, start=start, minutes=20, temperature=12.0)
    readings_every_minute(other_device, start=start, minutes=20, temperature=12.0)

    _log_in(page, stack["url"], owner)
    assert page.url == f"{stack['url']}/portal/stores/{store.pk}/"
    page.wait_for_selector('#live-notifications[data-live-state="open"]')
    assert page.locator("#notification-empty").count() == 1
    page.evaluate(STAMP_ARRIVALS)

    _enqueue_through_the_broker(stack, other_device.pk)
    _enqueue_through_the_broker(stack, device.pk)

    try:
        page.wait_for_selector("#notification-list li:has-text('Dairy chiller')")
    except Exception:  # the worker's log says why (task not taken, failed, layer refused)
        pytest.fail(
            "".join(stack["worker_output"].lines[-60:]) + "".join(stack["web_output"].lines[-30:])
        )
    alert = DeviceAlert.objects.get(device=device)
    assert alert.status == DeviceAlert.Status.OPEN
    assert DeviceAlert.objects.filter(device=other_device).count() == 1
    arrivals = page.evaluate("() => window.linliArrivals")
    # Only this store's alert reached the page (the other store's went to its own group).
    assert [arrival["text"] for arrival in arrivals] == [
        page.locator("#notification-list li").first.inner_text()
    ]
    assert "Dairy chiller" in arrivals[0]["text"]
    assert "Other chiller" not in page.locator("#notification-list").inner_text()
    shown_at = dt.datetime.fromtimestamp(arrivals[0]["at"] / 1000, tz=dt.UTC)
    assert dt.timedelta(0) <= shown_at - alert.opened_at <= MAX_DELAY, (
        stack["setup"],
        shown_at - alert.opened_at,
    )
    assert any(
        "device_alerts_evaluate_task" in line and "succeeded" in line
        for line in stack["worker_output"].lines
    )
