"""A real browser (headless Chromium) draws the KPI charts: the owner's figures in the portal
and the HQ dashboard on the admin index, under the strict Content-Security-Policy, with no
violation reported."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.stores.kpis.services import kpi_snapshots_compute
from tests import test_browser_portal as browser_portal
from tests.factories import PASSWORD, UserFactory, owner_of
from tests.stores.kpi_support import AFTER_JULY, JULY, build_world

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

browser = browser_portal.browser

_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


@pytest.fixture
def watched(browser: object) -> Iterator[tuple[object, list[str]]]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    context.add_init_script(_RECORD_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(20_000)
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page, console
    context.close()


@pytest.fixture
def world() -> dict:
    built = build_world()
    kpi_snapshots_compute(month=JULY.replace(month=6), now=AFTER_JULY)
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    return built


def _log_in(page: object, url: str, user: object) -> None:
    page.goto(url)
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")


def _drawn(page: object, selector: str) -> list[dict]:
    """Bounding boxes of the charts the browser laid out (a chart that failed to render, or
    was hidden by a refused stylesheet, has no box or a zero one)."""
    boxes = [element.bounding_box() for element in page.query_selector_all(selector)]
    return [box for box in boxes if box and box["width"] > 0 and box["height"] > 0]


def test_owner_sees_the_charts_on_a_phone(live_server, watched, world) -> None:
    page, console = watched
    owner = owner_of(world["a"])
    _log_in(page, f"{live_server.url}{reverse('portal:login')}", owner)
    page.goto(f"{live_server.url}{reverse('portal:store_kpis', args=[world['a'].pk])}")
    assert page.locator("[data-kpi]").count() == 11
    assert len(_drawn(page, "svg.kpi-chart.kpi-percentile")) >= 4
    assert len(_drawn(page, "svg.kpi-chart polyline")) >= 4
    # Phone width: nothing overflows the viewport sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The stylesheet applied (colours come from classes, not inline styles).
    fill = page.evaluate(
        "getComputedStyle(document.querySelector('svg.kpi-percentile .marker')).fill"
    )
    assert fill == "rgb(29, 78, 216)"
    assert console + page.evaluate("window.__cspViolations") == []


def test_hq_sees_the_dashboard_charts_on_the_admin_index(live_server, watched, world) -> None:
    page, console = watched
    staff = UserFactory(is_staff=True, is_superuser=True)
    staff.groups.add(*Group.objects.all())
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, f"{live_server.url}{reverse('admin:login')}", staff)
    page.goto(f"{live_server.url}{reverse('admin:index')}?period=2026-07-01")
    assert page.locator("#hq-dashboard .kpi-card").count() == 11
    assert len(_drawn(page, "#hq-dashboard svg.kpi-sparkline")) == 11
    assert len(_drawn(page, "#hq-dashboard svg.kpi-bars")) >= 2
    assert page.locator("#content-main").count() == 1  # the app list is still there
    assert console + page.evaluate("window.__cspViolations") == []
