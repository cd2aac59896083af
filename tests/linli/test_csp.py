"""The Content-Security-Policy (django-csp, linli/settings.py): every page carries it, no template
needs what it refuses (inline scripts without a nonce, inline handlers, javascript: URLs, inline
styles), and a real browser shows the portal, the devices page and the admin segment preview
working under it with no violation.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import test_browser_portal as browser_portal
from tests.devices.factories import DeviceFactory, readings_every_minute
from tests.factories import PASSWORD, MemberFactory

BASE_DIR = Path(settings.BASE_DIR)

EXPECTED_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


# --- the header on every kind of page ---------------------------------------------------------


@pytest.fixture
def device(store: object) -> object:
    return DeviceFactory(store=store)


def _signed_in(user: object | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


PAGES: dict[str, Callable[[dict[str, object]], tuple[str, str]]] = {
    "login": lambda w: (None, reverse("portal:login")),
    # An owner of one store is sent straight to it; HQ sees the list.
    "portal home": lambda w: ("hq_user", reverse("portal:home")),
    "store page": lambda w: ("owner", reverse("portal:store", args=[w["store"].pk])),
    "devices page": lambda w: ("owner", reverse("devices:store", args=[w["store"].pk])),
    "device page": lambda w: ("owner", reverse("devices:device", args=[w["device"].pk])),
    "decisions page": lambda w: ("owner", reverse("decisions:store", args=[w["store"].pk])),
    "member list": lambda w: ("owner", reverse("members:list", args=[w["store"].pk])),
    "inspections": lambda w: ("inspector", reverse("inspections:index")),
    "inspections of a store": lambda w: (
        "inspector",
        reverse("inspections:store", args=[w["store"].pk]),
    ),
    "supplier home": lambda w: ("supplier_user", reverse("supplier:home")),
    "admin login": lambda w: (None, reverse("admin:login")),
    "admin index": lambda w: ("hq_user", reverse("admin:index")),
    "admin changelist": lambda w: ("hq_user", reverse("admin:customers_member_changelist")),
    "admin device form": lambda w: (
        "hq_user",
        reverse("admin:devices_device_change", args=[w["device"].pk]),
    ),
}


@pytest.mark.parametrize("page_name", PAGES)
def test_every_page_carries_the_policy(
    page_name: str,
    store: object,
    device: object,
    owner: object,
    inspector: object,
    supplier_user: object,
    hq_user: object,
) -> None:
    world = {
        "store": store,
        "device": device,
        "owner": owner,
        "inspector": inspector,
        "supplier_user": supplier_user,
        "hq_user": hq_user,
    }
    role, url = PAGES[page_name](world)
    response = _signed_in(world[role] if role else None).get(url)

    assert response.status_code == 200
    assert "Content-Security-Policy-Report-Only" not in response.headers
    assert _directives(response.headers["Content-Security-Policy"]) == EXPECTED_DIRECTIVES


def test_periodic_task_form_loads_its_crontab_help_from_a_static_file_without_a_nonce(
    client: Client, hq_user: object
) -> None:
    # django-celery-beat's own template has an inline script; ours replaces it with a static
    # file, so the page runs under script-src 'self' and no nonce enters the header.
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_minute = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    task = PeriodicTask.objects.create(name="t", task="t", interval=every_minute)
    client.force_login(hq_user)

    response = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]))

    assert response.status_code == 200
    assert _directives(response.headers["Content-Security-Policy"])["script-src"] == "'self'"
    assert 'id="readable-crontabs"' in response.text
    assert "linli/crontab-help.js" in response.text
    assert 'id="periodic-task-overrides"' not in response.text


def test_report_only_switch_sends_the_same_policy_as_report_only(settings: object) -> None:
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = None

    response = Client().get(reverse("portal:login"))

    assert "Content-Security-Policy" not in response.headers
    assert (
        _directives(response.headers["Content-Security-Policy-Report-Only"]) == EXPECTED_DIRECTIVES
    )


def test_report_only_environment_variable_switches_the_header() -> None:
    import subprocess
    import sys

    names = sorted(EXPECTED_DIRECTIVES)
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'linli.settings';"
        " django.setup(); from django.conf import settings as s;"
        " print(s.CONTENT_SECURITY_POLICY is None,"
        f" sorted(s.CONTENT_SECURITY_POLICY_REPORT_ONLY['DIRECTIVES']) == {names!r})"
    )
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [sys.executable, "-c", code],
        env={**os.environ, "CSP_REPORT_ONLY": "true"},
        capture_output=True,
        text=True,
        cwd=BASE_DIR,
        check=True,
    )
    assert result.stdout.split()[-2:] == ["True", "True"]


# --- nothing in the templates needs what the policy refuses -----------------------------------

_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>", re.IGNORECASE)
_INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
_JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)
_INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
_JS_STYLE_OR_EVAL = re.compile(
    r"""\beval\(|new Function\(|setAttribute\(\s*["']style|style=""", re.IGNORECASE
)


def policy_offences(
    templates: Iterable[Path], scripts: Iterable[Path], python: Iterable[Path], root: Path
) -> list[str]:
    """Every line the policy would refuse: `path:line: what`."""
    offences = []
    checks = [
        (templates, "inline <script> without nonce", _INLINE_SCRIPT),
        (templates, "inline on*= handler", _INLINE_HANDLER),
        (templates, "javascript: URL", _JAVASCRIPT_URL),
        (templates, "inline style", _INLINE_STYLE),
        (python, "inline style in generated HTML", re.compile(r"""[\s'"]style=\\?["']""")),
        (scripts, "inline style or eval in static JS", _JS_STYLE_OR_EVAL),
    ]
    for paths, what, pattern in checks:
        for path in paths:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    offences.append(f"{path.relative_to(root)}:{number}: {what}")
    return offences


def project_files(root: Path) -> tuple[list[Path], list[Path], list[Path]]:
    templates = sorted(
        [*root.glob("templates/**/*.html"), *root.glob("apps/*/templates/**/*.html")]
        + list(root.glob("apps/*/*/templates/**/*.html"))
    )
    scripts = sorted([*root.glob("static/**/*.js"), *root.glob("apps/**/static/**/*.js")])
    python = sorted(path for path in root.glob("apps/**/*.py") if "migrations" not in path.parts)
    return templates, scripts, python


def test_no_template_needs_what_the_policy_refuses() -> None:
    templates, scripts, python = project_files(BASE_DIR)
    assert len(templates) > 20
    assert BASE_DIR / "static/linli/store-live.js" in scripts
    assert BASE_DIR / "apps/customers/static/customers/segment_preview.js" in scripts

    assert policy_offences(templates, scripts, python, BASE_DIR) == []


@pytest.mark.parametrize(
    ("markup", "what"),
    [
        ("<script>alert(1)</script>", "inline <script> without nonce"),
        ('<button onclick="go()">', "inline on*= handler"),
        ('<a href="javascript:go()">', "javascript: URL"),
        ('<div style="color:red">', "inline style"),
        ("<style>p{}</style>", "inline style"),
    ],
)
def test_the_template_scan_catches_each_refused_form(
    tmp_path: Path, markup: str, what: str
) -> None:
    template = tmp_path / "t.html"
    template.write_text(f'<script src="/x.js"></script>\n<script nonce="n">ok()</script>\n{markup}')

    assert policy_offences([template], [], [], tmp_path) == [f"t.html:3: {what}"]


# --- a real browser under the policy ----------------------------------------------------------

browser = browser_portal.browser
asgi = browser_portal.asgi
asgi_server = browser_portal.asgi_server

_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI}`
      + ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


@pytest.fixture
def watched_page(browser: object) -> Iterable[tuple[object, list[str]]]:
    """A page that records CSP violations from the console; `_violations` adds the events."""
    context = browser.new_context(locale="en-US")
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


def _violations(page: object, console: list[str]) -> list[str]:
    return console + page.evaluate("window.__cspViolations")


def _log_in(page: object, base_url: str, login_path: str, user: object) -> None:
    page.goto(f"{base_url}{login_path}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")


@pytest.mark.browser
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_store_and_devices_pages_run_their_scripts_with_no_violation(
    asgi_server: str, watched_page: tuple[object, list[str]], owner: object, store: object
) -> None:
    page, console = watched_page
    device = DeviceFactory(store=store)
    two_hours_ago = timezone.now() - dt.timedelta(hours=2)
    readings_every_minute(device, start=two_hours_ago, minutes=90, temperature=4.0)
    seen: dict[str, list[str]] = {}

    _log_in(page, asgi_server, reverse("portal:login"), owner)
    seen["login"] = _violations(page, console)
    assert page.url == f"{asgi_server}{reverse('portal:store', args=[store.pk])}"
    # store-live.js ran and its websocket (connect-src 'self', ws: on the same host) opened.
    page.wait_for_selector('#live-notifications[data-live-state="open"]')
    seen["store page"] = _violations(page, console)

    console.clear()
    page.goto(f"{asgi_server}{reverse('devices:store', args=[store.pk])}")
    page.wait_for_selector('#live-notifications[data-live-state="open"]')
    seen["devices page"] = _violations(page, console)

    console.clear()
    page.goto(f"{asgi_server}{reverse('devices:device', args=[device.pk])}")
    # devices.css (once an inline <style> block) applies: the chart is a block.
    chart_display = page.locator("svg.temperature-chart").first.evaluate(
        "element => getComputedStyle(element).display"
    )
    seen["device page"] = _violations(page, console)

    assert seen == {"login": [], "store page": [], "devices page": [], "device page": []}
    assert chart_display == "block"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_segment_preview_runs_with_no_violation(
    live_server: object, watched_page: tuple[object, list[str]], hq_user: object, store: object
) -> None:
    page, console = watched_page
    MemberFactory()
    seen: dict[str, list[str]] = {}

    _log_in(page, live_server.url, reverse("admin:login"), hq_user)
    seen["admin index"] = _violations(page, console)

    console.clear()
    page.goto(f"{live_server.url}{reverse('admin:customers_segment_add')}")
    page.fill("#id_name", "CSP")
    page.click("#segment-preview-button")
    count_text = page.locator("#segment-summary .segment-count").inner_text()
    seen["segment form"] = _violations(page, console)

    assert re.fullmatch(r"\d+ members? match(es)? right now\.", count_text)
    assert seen == {"admin index": [], "segment form": []}
