"""The store page's live replay cursor against an alert whose transaction straddles the page's
render: stamped before the page is drawn, committed after its queries (the silent sweep stamps
its alerts at its start and commits at its end). Real threads on the real database: the page
cannot see the uncommitted alert, so only the replay can bring it."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from apps.devices.models import DeviceAlert
from apps.devices.services import alert_open
from tests.devices.factories import DeviceFactory, hot_facts
from tests.factories import owner_of

pytestmark = pytest.mark.django_db(transaction=True)


def _cursor(html: str) -> tuple[str, set[str]]:
    since = re.search(r'data-live-since="([^"]+)"', html)
    shown = re.search(r'data-live-shown="([^"]*)"', html)
    assert since is not None
    return since.group(1), set(shown.group(1).split()) if shown else set()


def _open(device: object) -> DeviceAlert:
    alert, created = alert_open(
        device=device,
        kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE,
        facts=hot_facts(12.0),
        value=12,
    )
    assert created
    return alert


@pytest.mark.postgres
@pytest.mark.parametrize("page", ["portal:store", "devices:store"])
def test_an_alert_committed_after_the_page_was_drawn_is_replayed_one_before_is_dropped(page):
    device = DeviceFactory(name="Dairy chiller")
    before = _open(DeviceFactory(store=device.store, name="Freezer"))
    owner = owner_of(device.store)
    stamped, drawn = threading.Event(), threading.Event()
    opened: list[DeviceAlert] = []

    def open_across_the_render() -> None:
        try:
            with transaction.atomic():
                opened.append(_open(device))  # opened_at stamped now, committed below
                stamped.set()
                assert drawn.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=open_across_the_render)
    thread.start()
    assert stamped.wait(timeout=30)
    client = Client()
    client.force_login(owner)
    response = client.get(reverse(page, args=[device.store_id]))
    drawn.set()
    thread.join(timeout=30)
    assert response.status_code == 200
    since, shown = _cursor(response.content.decode())
    late = opened[0]
    assert DeviceAlert.objects.filter(pk=late.pk).exists()

    replay_url = reverse("devices:store-live-lines", args=[device.store_id])
    replay = client.get(replay_url, {"since": since})
    keys = [line["key"] for line in replay.json()["lines"]]
    # What the page's script adds: the replayed lines it was not told it had shown.
    assert [key for key in keys if key not in shown] == [f"device.alert:{late.pk}"]
    assert shown == {f"device.alert:{before.pk}"}


@pytest.mark.postgres
def test_a_late_alert_is_replayed_behind_more_lines_the_page_has_shown_than_one_reply_held():
    """More than 50 lines (the old reply's cap) were committed in the cursor's margin after
    an alert that was stamped before them and committed after the page was drawn: the replay
    still returns the late alert, behind the lines the page has shown."""
    device = DeviceFactory(name="Dairy chiller")
    owner = owner_of(device.store)
    stamped, drawn = threading.Event(), threading.Event()
    opened: list[DeviceAlert] = []

    def open_across_the_render() -> None:
        try:
            with transaction.atomic():
                opened.append(_open(device))
                stamped.set()
                assert drawn.wait(timeout=60)
        finally:
            connection.close()

    thread = threading.Thread(target=open_across_the_render)
    thread.start()
    assert stamped.wait(timeout=30)
    busy = [_open(DeviceFactory(store=device.store)) for _ in range(55)]  # stamped later
    client = Client()
    client.force_login(owner)
    response = client.get(reverse("portal:store", args=[device.store_id]))
    drawn.set()
    thread.join(timeout=30)
    since, shown = _cursor(response.content.decode())
    assert shown == {f"device.alert:{alert.pk}" for alert in busy}

    replay = client.get(
        reverse("devices:store-live-lines", args=[device.store_id]), {"since": since}
    )
    keys = [line["key"] for line in replay.json()["lines"]]
    assert [key for key in keys if key not in shown] == [f"device.alert:{opened[0].pk}"]


def test_the_replay_says_where_the_next_one_starts():
    """`next_since`: the reply's time less the cursor's margin (a line stamped before it was
    committed when the reply read the lines), never before the `since` asked for; the page
    asks from there next time, not again from its first cursor."""
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    from apps.devices.selectors import LIVE_CURSOR_MARGIN

    device = DeviceFactory()
    client = Client()
    client.force_login(owner_of(device.store))
    url = reverse("devices:store-live-lines", args=[device.store_id])
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    before = timezone.now()
    body = client.get(url, {"since": hour_ago.isoformat()}).json()
    after = timezone.now()
    next_since = parse_datetime(body["next_since"])
    assert before - LIVE_CURSOR_MARGIN <= next_since <= after - LIVE_CURSOR_MARGIN
    recent = timezone.now() - dt.timedelta(minutes=1)
    body = client.get(url, {"since": recent.isoformat()}).json()
    assert parse_datetime(body["next_since"]) == recent
