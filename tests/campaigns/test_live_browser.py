"""A real browser (headless Chromium through Playwright) keeps the live dashboard open while a
group-buy order arrives: the page shows the new totals without a reload.

Daphne serves the whole ASGI application in another process (as in tests/test_browser_portal.py),
so this needs PostgreSQL (both processes open the test database) and Redis (the channel layer and
the dashboard's shared counters, under a prefix of this test's own).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls made by fixtures and
# assertions are still synchronous and safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


@pytest.fixture
def prefix(settings: Any) -> str:
    settings.LIVE_DASHBOARD_PREFIX = f"test-{uuid.uuid4().hex}"
    return settings.LIVE_DASHBOARD_PREFIX


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def asgi_server(transactional_db: None, prefix: str) -> Iterator[str]:
    """Daphne serving `linli.asgi` on the test database, with this test's dashboard prefix."""
    from django.conf import settings
    from django.db import connection

    database_url = urlsplit(os.environ["DATABASE_URL"])
    test_database = database_url._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "linli.asgi:application",
        ],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": test_database,
            "DEBUG": "true",
            "LIVE_DASHBOARD_PREFIX": prefix,
        },
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("Daphne did not start")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


JOIN = """
import sys, time
import django
django.setup()
from django.db import transaction
from django.db.models import F
from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer
from apps.campaigns.services import live
offer_id, quantity, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with transaction.atomic():
    offer = GroupBuyOffer.objects.get(pk=offer_id)
    GroupBuyJoin.objects.create(
        offer=offer, quantity=quantity, source="api", idempotency_key=key
    )
    GroupBuyOffer.objects.filter(pk=offer_id).update(
        units_joined=F("units_joined") + quantity, participants=F("participants") + 1
    )
    live.broadcast_changed(broadcast_id=offer.broadcast_id)
time.sleep(live.live_window_seconds() * 3)  # its window ends before it exits
"""


VIEWERS = """
import sys, time
import django
django.setup()
from apps.campaigns.models import Broadcast
from apps.campaigns.services import live
from apps.campaigns.services.broadcasts import broadcast_viewers_report
broadcast = Broadcast.objects.get(pk=int(sys.argv[1]))
broadcast_viewers_report(broadcast=broadcast, count=int(sys.argv[2]))
time.sleep(live.live_window_seconds() * 3)  # its window ends before it exits
"""


def _in_another_process(script: str, *args: object, database: str, prefix: str) -> None:
    """Run `script` (Django set up) in another process on the test database with this test's
    dashboard prefix: a web or worker process taking an order, the API taking a report."""
    from django.conf import settings

    completed = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [sys.executable, "-c", script, *(str(arg) for arg in args)],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database, "LIVE_DASHBOARD_PREFIX": prefix},
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0


def test_a_formed_stock_offer_reads_ready_for_pickup_and_a_formed_pre_order_formed(
    asgi_server, page, owner, store, prefix
):
    """The join list says 待自提 for a formed stock offer's joins and 已成团，待到货 for a
    formed pre-order's: the offer's state on the dashboard agrees."""
    from django.utils import timezone

    from apps.campaigns.models import Broadcast, GroupBuyOffer
    from tests.campaigns.factories import BroadcastFactory, GroupBuyOfferFactory
    from tests.factories import ProductFactory

    broadcast = BroadcastFactory(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=1),
    )
    for name, presale in (("云南蓝莓", False), ("麒麟西瓜", True)):
        GroupBuyOfferFactory(
            broadcast=broadcast,
            product=ProductFactory(name=name),
            presale=presale,
            status=GroupBuyOffer.Status.FORMED,
            units_joined=10,
            settled_at=timezone.now(),
        )
    page.goto(f"{asgi_server}/portal/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    live_url = f"{asgi_server}/portal/campaigns/broadcasts/{broadcast.pk}/live/"
    page.goto(live_url)
    page.wait_for_selector('[data-live-dashboard][data-live-state="open"]')
    assert page.locator(".live-offer-status").all_inner_texts() == ["已成交，待自提", "已成团"]

    page.context.add_cookies([{"name": "django_language", "value": "en", "url": asgi_server}])
    page.goto(live_url)
    page.wait_for_selector('[data-live-dashboard][data-live-state="open"]')
    assert page.locator(".live-offer-status").all_inner_texts() == [
        "Sold, ready for pickup",
        "Formed",
    ]


def test_the_live_page_shows_a_new_orders_totals_without_reload_in_the_viewers_language(
    asgi_server, page, owner, store, prefix
):
    """A Chinese viewer opens the page first (the feed's snapshot is made then and kept for
    every viewer), an English one next; an order placed in another process (flushed there, in
    the site's language) then reaches the English page, still all in English."""
    from django.utils import timezone

    from apps.campaigns.models import Broadcast, GroupBuyOffer
    from tests.campaigns.factories import (
        BroadcastCommentFactory,
        BroadcastFactory,
        GroupBuyOfferFactory,
    )
    from tests.factories import ProductFactory

    broadcast = BroadcastFactory(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=1),
    )
    blueberry = ProductFactory(name="云南蓝莓")
    offer = GroupBuyOfferFactory(
        broadcast=broadcast, product=blueberry, price=Decimal("19.90"), threshold=10
    )
    GroupBuyOfferFactory(
        broadcast=broadcast,
        product=ProductFactory(name="麒麟西瓜"),
        status=GroupBuyOffer.Status.FAILED,
        settled_at=timezone.now(),
    )
    BroadcastCommentFactory(broadcast=broadcast, text="蓝莓还有吗")
    page.goto(f"{asgi_server}/portal/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    live_url = f"{asgi_server}/portal/campaigns/broadcasts/{broadcast.pk}/live/"
    page.goto(live_url)
    page.wait_for_selector('[data-live-dashboard][data-live-state="open"]')
    assert page.locator("[data-live-status]").inner_text() == "直播中"
    assert page.locator(".live-offer-status").all_inner_texts() == ["待成团", "未成团"]
    assert page.locator(".live-point").all_inner_texts() == [
        "云南蓝莓：本团还剩 40 份，门店库存 —。 ×1"
    ]

    page.context.add_cookies([{"name": "django_language", "value": "en", "url": asgi_server}])
    page.goto(live_url)
    page.wait_for_selector('[data-live-dashboard][data-live-state="open"]')
    assert page.locator('[data-live-field="orders"]').inner_text() == "0"
    assert page.locator("[data-live-status]").inner_text() == "Live"
    # No report from the platform yet: the viewers are unknown, not 0 (and this page's own
    # sockets, two by now, are not viewers).
    assert page.locator('[data-live-field="viewers"]').inner_text() == "—"
    assert page.locator('[data-live-field="peak_viewers"]').inner_text() == "—"
    assert page.locator("#live-joined-value .live-label").inner_text() == "Joined value (yuan)"
    assert (
        "Includes joins of offers not yet formed."
        in page.locator("#live-joined-value").inner_text()
    )
    assert page.locator(".live-offer").count() == 2
    assert page.locator(".live-offer-status").all_inner_texts() == [
        "to form the group",
        "Not formed",
    ]
    assert page.locator(".live-point").all_inner_texts() == [
        "云南蓝莓: 40 left in this group buy, — in store. ×1"
    ]

    from django.db import connection

    database = urlsplit(os.environ["DATABASE_URL"])
    database = database._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    _in_another_process(JOIN, offer.pk, 3, "browser-1", database=database, prefix=prefix)

    page.wait_for_selector('[data-live-field="orders"]:text-is("1")')
    assert page.locator('[data-live-field="joined_value"]').inner_text() == "59.70"
    assert page.locator('[data-live-field="joined_value_reached"]').inner_text() == "0.00"
    assert page.locator("[data-live-status]").inner_text() == "Live"
    assert int(page.locator("[data-live-dashboard]").get_attribute("data-live-version")) > 0
    assert "version" not in page.locator(".live-head").inner_text()
    assert "3 / 10" in page.locator(".live-offer-progress").first.inner_text()
    assert page.locator(".live-offer-status").all_inner_texts() == [
        "to form the group",
        "Not formed",
    ]
    assert page.locator(".live-point").all_inner_texts() == [
        "云南蓝莓: 37 left in this group buy, — in store. ×1"
    ]
    assert page.locator(".live-bar-caption").all_inner_texts() == ["3", "0"]
    assert page.locator('[data-live-field="viewers"]').inner_text() == "—"

    _in_another_process(VIEWERS, broadcast.pk, 42, database=database, prefix=prefix)
    page.wait_for_selector('[data-live-field="viewers"]:text-is("42")')
    assert page.locator('[data-live-field="peak_viewers"]').inner_text() == "42"

    # 10 of 10: the threshold is reached, but the offer forms only when settled at its deadline.
    _in_another_process(JOIN, offer.pk, 7, "browser-2", database=database, prefix=prefix)
    page.wait_for_selector('[data-live-field="orders"]:text-is("2")')
    assert page.locator(".live-offer-status").all_inner_texts() == [
        "Threshold reached: forms at the deadline",
        "Not formed",
    ]
    assert page.locator('[data-live-field="joined_value"]').inner_text() == "199.00"
    assert page.locator('[data-live-field="joined_value_reached"]').inner_text() == "199.00"


def test_the_script_keeps_a_comments_line_breaks_and_shows_its_markup_as_text(
    asgi_server, page, owner, store, prefix
):
    """The script re-renders the comments from the snapshot: a comment's lines are text nodes
    with a <br> between them, as the page's linebreaksbr renders them."""
    from django.utils import timezone

    from apps.campaigns.models import Broadcast
    from tests.campaigns.factories import BroadcastCommentFactory, BroadcastFactory

    broadcast = BroadcastFactory(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=1),
    )
    BroadcastCommentFactory(broadcast=broadcast, author="王先生", text="甜不甜？\n<b>要两盒</b>")
    page.goto(f"{asgi_server}/portal/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.goto(f"{asgi_server}/portal/campaigns/broadcasts/{broadcast.pk}/live/")
    page.wait_for_selector('[data-live-dashboard][data-live-state="open"]')
    comment = page.locator("[data-live-comments] li").first
    # The script's rendering (its author has a trailing space inside <b>, the page's has none).
    assert comment.inner_html().endswith("<b>王先生 </b>甜不甜？<br>&lt;b&gt;要两盒&lt;/b&gt;")
    assert comment.inner_text().endswith("甜不甜？\n<b>要两盒</b>")
