"""A real browser (headless Chromium through Playwright) logs in to the portal.

Uses the system Chromium (`/usr/bin/chromium`); `playwright install` is never needed.
No screenshots or traces are written. The live-notifications test serves the whole ASGI
application (HTTP and websockets) with Daphne in another process, so it needs PostgreSQL (a
database both processes open) and Redis (the channel layer between them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import quote, urlsplit

import pytest

from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls made by fixtures and
# assertions are still synchronous and safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


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
    page.set_default_timeout(20_000)
    yield page
    context.close()


def test_owner_logs_in_with_a_real_browser_and_sees_the_store(
    live_server, page, owner, store, other_store
):
    page.goto(f"{live_server.url}/portal/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url == f"{live_server.url}/portal/stores/{store.pk}/"
    assert page.locator("main h2").first.inner_text() == store.name
    assert other_store.name not in page.content()


def test_wrong_password_in_a_real_browser_stays_on_login(live_server, page, owner):
    page.goto(f"{live_server.url}/portal/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", "not-the-password")
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url == f"{live_server.url}/portal/login/"
    assert page.locator(".errorlist li").count() == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_listening(server: subprocess.Popen, port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.2)
        else:
            return
    pytest.fail("Daphne did not start")


class AsgiServer:
    """Daphne serving `linli.asgi` (pages, static files, websockets) on the test database, on
    a port of its own; `restart()` stops it and serves again on the same port.

    A fresh process, not a fork of this one: a fork would inherit the database pool's sockets
    and asgiref's executor threads, which do not survive it.
    """

    def __init__(self) -> None:
        from django.conf import settings
        from django.db import connection

        database_url = urlsplit(os.environ["DATABASE_URL"])
        test_database = database_url._replace(path="/" + connection.settings_dict["NAME"]).geturl()
        self.cwd = settings.BASE_DIR
        # DEBUG on: WhiteNoise then serves static files straight from the finders.
        self.env = {**os.environ, "DATABASE_URL": test_database, "DEBUG": "true"}
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "linli.asgi:application",
            ],
            cwd=self.cwd,
            env=self.env,
        )
        _wait_until_listening(self.process, self.port, timeout=60)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def asgi(transactional_db: None) -> Iterator[AsgiServer]:
    """The server, stopped before the test database is flushed."""
    server = AsgiServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def asgi_server(asgi: AsgiServer) -> str:
    return asgi.url


def _broadcast_in_a_thread(store_id: int, text: str) -> None:
    # Playwright's sync API keeps an event loop in this thread, where async_to_sync refuses
    # to run; the broadcast (outside any transaction, so sent at once) goes from another.
    from django.db import connection

    from linli.realtime import broadcast, store_notifications_group

    def send() -> None:
        try:
            broadcast(
                store_notifications_group(store_id),
                event="order.created",
                payload={"text": text},
            )
        finally:
            connection.close()  # on_commit opened this thread's connection

    thread = threading.Thread(target=send)
    thread.start()
    thread.join(timeout=10)


@pytest.mark.postgres
@pytest.mark.redis
def test_owner_sees_a_live_notification_arrive_on_the_store_page(asgi_server, page, owner, store):
    page.goto(f"{asgi_server}/portal/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url == f"{asgi_server}/portal/stores/{store.pk}/"
    page.wait_for_selector('#live-notifications[data-live-state="open"]')
    assert page.locator("#notification-empty").count() == 1

    _broadcast_in_a_thread(store.pk, "新订单 ¥25.60")

    page.wait_for_selector("#notification-list li:has-text('新订单 ¥25.60')")
    assert page.locator("#notification-list li").all_inner_texts() == ["新订单 ¥25.60"]
    assert page.locator("#notification-empty").count() == 0


@pytest.mark.postgres
@pytest.mark.redis
def test_the_store_page_reconnects_after_its_socket_is_dropped(asgi, page, owner, store):
    """The server going away (a restart; on the embedded default, a connect that outwaited the
    handshake timeout while the worker held SQLite's write lock) closes the page's socket: the
    page opens it again by itself, and what is sent afterwards still arrives."""
    page.goto(f"{asgi.url}/portal/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.wait_for_selector('#live-notifications[data-live-state="open"]')

    asgi.stop()
    page.wait_for_selector('#live-notifications[data-live-state="closed"]', state="attached")
    asgi.start()
    page.wait_for_selector('#live-notifications[data-live-state="open"]', timeout=60_000)

    _broadcast_in_a_thread(store.pk, "新订单 ¥18.80")

    page.wait_for_selector("#notification-list li:has-text('新订单 ¥18.80')")
    assert page.locator("#notification-list li").all_inner_texts() == ["新订单 ¥18.80"]


@pytest.mark.postgres
@pytest.mark.redis
def test_the_store_page_shows_an_alert_sent_while_its_socket_was_closed(asgi, page, owner, store):
    """An alert opened while the page's socket is closed (nobody listens to its broadcast) is
    shown once the socket is open again: the page asks for what it missed."""
    from django.db import connection

    from apps.devices.models import DeviceAlert
    from apps.devices.services import alert_open
    from tests.devices.factories import DeviceFactory, hot_facts

    device = DeviceFactory(store=store, name="乳品冷柜")
    page.goto(f"{asgi.url}/portal/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.wait_for_selector('#live-notifications[data-live-state="open"]')
    assert page.locator("#notification-empty").count() == 1

    asgi.stop()
    page.wait_for_selector('#live-notifications[data-live-state="closed"]', state="attached")

    def open_alert() -> None:  # in a thread: Playwright's loop refuses async_to_sync here
        try:
            alert_open(
                device=device,
                kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE,
                facts=hot_facts(12.0),
                value=12,
            )
        finally:
            connection.close()

    thread = threading.Thread(target=open_alert)
    thread.start()
    thread.join(timeout=10)
    asgi.start()
    page.wait_for_selector('#live-notifications[data-live-state="open"]', timeout=60_000)

    page.wait_for_selector("#notification-list li:has-text('乳品冷柜')")
    lines = page.locator("#notification-list li").all_inner_texts()
    assert len(lines) == 1
    assert lines[0].startswith("乳品冷柜：温度超出范围")
    assert page.locator("#notification-empty").count() == 0


def _log_in_to_the_store_page(page: object, base_url: str, owner: object, store: object) -> None:
    page.goto(f"{base_url}/portal/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    if page.url != f"{base_url}/portal/stores/{store.pk}/":  # the home lists open alerts
        page.goto(f"{base_url}/portal/stores/{store.pk}/")
    page.wait_for_selector('#live-notifications[data-live-state="open"]')


def _in_a_thread(work: Callable[[], object]) -> None:
    """Playwright's loop in this thread refuses async_to_sync (a broadcast): run `work` in
    another, its database connection closed after."""
    from django.db import connection

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)


SETTLED = (
    '#live-notifications:is([data-live-state="closed"], [data-live-state="paused"],'
    ' [data-live-state="stopped"])'
)
PAUSED = '#live-notifications[data-live-state="paused"]'


@pytest.mark.postgres
@pytest.mark.redis
def test_the_store_page_stops_and_says_so_when_the_server_refuses_its_socket(
    asgi, page, owner, store
):
    """The session ends (signed out elsewhere): the server closes the socket with 4403. The
    page stops trying (no new socket however long it waits) and says why, in the reader's
    language; it used to stay silently closed."""
    from django.contrib.sessions.models import Session

    from linli.realtime import session_ended_broadcast

    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.clock.install()
    _log_in_to_the_store_page(page, asgi.url, owner, store)
    assert page.locator("#live-status").is_hidden()

    def end_the_session() -> None:
        Session.objects.all().delete()
        session_ended_broadcast(user_id=owner.pk)

    _in_a_thread(end_the_session)
    page.wait_for_selector('#live-notifications[data-live-state="stopped"]', state="attached")
    assert page.get_attribute("#live-notifications", "data-live-stop") == "refused"
    page.clock.run_for(10 * 60 * 1000)
    assert len(sockets) == 1
    assert page.locator("#live-status").is_visible()
    assert page.inner_text("#live-status").startswith("实时通知已停止")


@pytest.mark.postgres
@pytest.mark.redis
def test_the_store_page_pauses_after_failed_handshakes_and_resumes_by_itself(
    asgi, page, owner, store
):
    """With the server gone every handshake fails (close 1006 before open). After 8 failed
    handshakes in a row the page says it has paused, and keeps trying every few minutes: a
    server restart fires no browser event (no `online`, no visibility change, none is sent
    here), yet once the server is back the next slow retry connects by itself, clears the
    notice and replays what was missed, but not a line from before the page (in its
    `data-live-shown`); the page's cursor moves to where the reply says the next replay
    starts. It used to stop for good after about a minute, until reloaded."""
    from apps.devices.models import DeviceAlert
    from apps.devices.services import alert_open
    from tests.devices.factories import DeviceFactory, hot_facts

    def open_alert(device: object) -> None:
        alert_open(
            device=device,
            kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE,
            facts=hot_facts(12.0),
            value=12,
        )

    before = DeviceFactory(store=store, name="冷冻柜")
    _in_a_thread(lambda: open_alert(before))
    device = DeviceFactory(store=store, name="乳品冷柜")
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.clock.install()
    _log_in_to_the_store_page(page, asgi.url, owner, store)
    assert page.get_attribute("#live-notifications", "data-live-shown")

    asgi.stop()
    page.wait_for_selector(SETTLED, state="attached")
    attempts = 0
    while page.get_attribute("#live-notifications", "data-live-state") == "closed":
        assert attempts < 20, "never pauses"
        page.clock.run_for(45_000)  # the longest quick back-off (30 s, jittered): a retry is due
        attempts += 1
        page.wait_for_selector(SETTLED, state="attached")
    # The first socket, then 8 handshakes that failed (the installed clock also runs on its
    # own, so the short back-offs may pass without run_for: count the sockets, not the loops).
    assert len(sockets) == 9
    assert page.get_attribute("#live-notifications", "data-live-state") == "paused"
    assert page.locator("#live-status").is_visible()
    assert page.inner_text("#live-status").startswith("实时通知已暂停：无法连接服务器。每隔几分钟")

    # Still down: the first slow retry (60 s, jittered) fails too; the page stays paused.
    with page.expect_websocket():
        page.clock.run_for(90_000)
    page.wait_for_selector(PAUSED, state="attached")
    assert len(sockets) == 10
    assert page.locator("#live-status").is_visible()

    _in_a_thread(lambda: open_alert(device))
    asgi.start()
    # The next slow retry (120 s, jittered), with no event from the browser.
    with page.expect_response(lambda response: "/live/?since=" in response.url) as replayed:
        page.clock.run_for(180_000)
    page.wait_for_selector("#notification-list li:has-text('乳品冷柜')")
    assert len(sockets) == 11
    assert page.get_attribute("#live-notifications", "data-live-state") == "open"
    assert page.locator("#live-status").is_hidden()
    lines = page.locator("#notification-list li").all_inner_texts()
    assert len(lines) == 1
    assert lines[0].startswith("乳品冷柜：温度超出范围")
    next_since = replayed.value.json()["next_since"]
    assert page.get_attribute("#live-notifications", "data-live-since") == next_since
    assert quote(next_since, safe="") not in replayed.value.url
