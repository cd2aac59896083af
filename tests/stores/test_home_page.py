"""The portal landing page shows what needs attention on load: open device alerts at the user's
stores and their unread notifications (not an empty "nothing new")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.campaigns.notifications.models import Notification
from apps.campaigns.notifications.services import notification_enqueue, notifications_mark_read
from apps.devices.models import DeviceAlert
from apps.devices.services import alert_resolve, device_alerts_evaluate
from apps.stores.models import StoreStaff
from tests.devices.factories import DeviceFactory, readings_every_minute
from tests.factories import StoreFactory, UserFactory, owner_of

pytestmark = pytest.mark.django_db

HOME = "/portal/"


def _too_warm(store: object, name: str) -> DeviceAlert:
    """A device of `store` that reported 12 °C for 20 minutes, evaluated: one open alert (and
    a portal notification for each owner of the store)."""
    device = DeviceFactory(store=store, name=name)
    readings_every_minute(
        device, start=timezone.now() - dt.timedelta(minutes=20), minutes=20, temperature=12.0
    )
    device_alerts_evaluate(device=device)
    return DeviceAlert.objects.get(device=device)


def _section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</ul>", start)]


def test_owner_with_an_open_alert_sees_it_and_the_unread_notification_on_load(client, owner, store):
    alert = _too_warm(store, "Dairy chiller")
    client.force_login(owner)
    response = client.get(HOME, headers={"accept-language": "en"})
    assert response.status_code == 200
    html = response.content.decode()
    alerts = _section(html, "open-alerts")
    assert f'href="{reverse("devices:store", args=[store.pk])}"' in alerts
    assert f"{store.name} · Dairy chiller: Temperature out of range" in alerts
    assert alerts.count("<li>") == 1
    notifications = _section(html, "unread-notifications")
    assert notifications.count("<li>") == 1
    # The title was stored when the alert opened, in the default language; the page words it
    # in the reader's (English here).
    stored = Notification.objects.get(recipient=owner)
    assert stored.title.startswith("Dairy chiller：温度超出范围")
    assert (
        "<li>Dairy chiller: Temperature out of range — 12.0 °C, outside 0 to 8 °C" in notifications
    )
    assert "1 unread notification<" in html
    assert alert.status == DeviceAlert.Status.OPEN


def test_an_unread_notification_links_to_where_it_is_marked_read(client, owner, store):
    """The landing page listed unread notifications with nothing to do about them: each now
    links to its store's notifications (the devices page), whose button marks them read."""
    _too_warm(store, "Dairy chiller")
    client.force_login(owner)
    notifications = _section(
        client.get(HOME, headers={"accept-language": "en"}).content.decode(),
        "unread-notifications",
    )
    target = f"{reverse('devices:store', args=[store.pk])}#notifications"
    assert f'<a href="{target}">See and mark read ›</a>' in notifications
    page = client.get(target.split("#")[0]).content.decode()
    assert 'id="notifications"' in page
    assert reverse("notifications:read", args=[store.pk]) in page


def test_landing_page_is_in_chinese_by_default(client, owner, store):
    _too_warm(store, "Dairy chiller")
    client.force_login(owner)
    html = client.get(HOME).content.decode()
    with translation.override("zh-hans"):
        heading = translation.gettext("Needs attention")
    assert f"<h2>{heading}</h2>" in html


def test_another_stores_alert_and_notifications_are_not_shown(
    client, owner, store, other_owner, other_store
):
    _too_warm(store, "Dairy chiller")
    _too_warm(other_store, "Fruit chiller")
    client.force_login(owner)
    html = client.get(HOME).content.decode()
    assert "Dairy chiller" in html
    assert "Fruit chiller" not in html
    assert other_store.name not in html


def test_owner_with_nothing_open_goes_straight_to_the_store_page(client, owner, store):
    resolved = _too_warm(store, "Dairy chiller")
    alert_resolve(alert=resolved, by=owner)
    notifications_mark_read(user=owner)
    client.force_login(owner)
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:store", args=[store.pk])


def test_acknowledged_alert_is_still_shown_resolved_one_is_not(client, owner, store):
    from apps.devices.services import alert_acknowledge

    acknowledged = _too_warm(store, "Dairy chiller")
    alert_acknowledge(alert=acknowledged, by=owner)
    alert_resolve(alert=_too_warm(store, "Fruit chiller"), by=owner)
    client.force_login(owner)
    alerts = _section(client.get(HOME).content.decode(), "open-alerts")
    assert "Dairy chiller" in alerts
    assert "Fruit chiller" not in alerts


def test_read_notifications_are_not_listed(client, owner, store):
    notification_enqueue(
        dedupe_key="home-test:read",
        kind="device_alert",
        title="Old news",
        recipient=owner,
        store=store,
    )
    notifications_mark_read(user=owner)
    notification_enqueue(
        dedupe_key="home-test:unread",
        kind="device_alert",
        title="Summer fruit pack ready",
        recipient=owner,
        store=store,
    )
    client.force_login(owner)
    response = client.get(HOME)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Summer fruit pack ready" in _section(html, "unread-notifications")
    assert "Old news" not in html
    assert 'id="open-alerts"' not in html


def test_another_users_notification_is_not_shown(client, owner, other_owner, store):
    notification_enqueue(
        dedupe_key="home-test:mine",
        kind="device_alert",
        title="For me",
        recipient=owner,
        store=store,
    )
    notification_enqueue(
        dedupe_key="home-test:theirs",
        kind="device_alert",
        title="For someone else",
        recipient=other_owner,
    )
    client.force_login(owner)
    html = client.get(HOME).content.decode()
    assert "For me" in html
    assert "For someone else" not in html


def test_inspector_sees_the_open_alert_of_the_assigned_store_only(client, inspector, store):
    second = StoreFactory()
    StoreStaff.objects.create(user=inspector, store=second, role=StoreStaff.Role.INSPECTOR)
    unassigned = StoreFactory()
    _too_warm(second, "Dairy chiller")
    _too_warm(unassigned, "Fruit chiller")
    client.force_login(inspector)
    html = client.get(HOME).content.decode()
    assert "Dairy chiller" in _section(html, "open-alerts")
    assert "Fruit chiller" not in html
    # Inspectors are not owners: no notification was addressed to them.
    assert 'id="unread-notifications"' not in html


def test_supplier_and_anonymous_see_no_alerts(client, supplier_user, store):
    _too_warm(store, "Dairy chiller")
    client.force_login(supplier_user)
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == reverse("supplier:home")
    client.logout()
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_user_without_stores_sees_no_attention_card(client):
    client.force_login(UserFactory())
    html = client.get(HOME).content.decode()
    assert 'id="attention"' not in html


def _owner_of_stores_with_alerts(count: int) -> object:
    stores = [StoreFactory() for _ in range(count)]
    user = owner_of(stores[0])
    for index, store in enumerate(stores):
        if index:
            StoreStaff.objects.create(user=user, store=store, role=StoreStaff.Role.OWNER)
        _too_warm(store, f"Chiller A{index}")
        _too_warm(store, f"Chiller B{index}")
    return user


# Session, user, stores, open alerts (with device and store), unread count, latest notifications.
HOME_QUERY_BOUND = 6


def test_landing_page_queries_do_not_grow_with_stores_alerts_and_notifications(
    client, django_assert_max_num_queries
):
    small = _owner_of_stores_with_alerts(2)
    client.force_login(small)
    with django_assert_max_num_queries(HOME_QUERY_BOUND) as small_run:
        assert client.get(HOME).status_code == 200
    large = _owner_of_stores_with_alerts(8)
    client.force_login(large)
    with django_assert_max_num_queries(HOME_QUERY_BOUND) as large_run:
        html = client.get(HOME).content.decode()
    assert len(large_run.captured_queries) == len(small_run.captured_queries)
    assert _section(html, "open-alerts").count("<li>") == 16
    assert _section(html, "unread-notifications").count("<li>") == 16


def test_times_and_the_status_are_kept_on_one_line(client, owner, store):
    """At a phone's width the muted line wraps; a date-time or a status never breaks inside."""
    alert = _too_warm(store, "Dairy chiller")
    notification = Notification.objects.get(recipient=owner)
    client.force_login(owner)

    html = client.get(HOME, headers={"accept-language": "en"}).content.decode()

    opened = timezone.localtime(alert.opened_at).strftime("%m-%d %H:%M")
    created = timezone.localtime(notification.created_at).strftime("%m-%d %H:%M")
    alerts = _section(html, "open-alerts")
    assert '<span class="nowrap">Open</span>' in alerts
    assert f'<span class="nowrap">{opened}</span>' in alerts
    assert f'<span class="muted nowrap">{created}</span>' in _section(html, "unread-notifications")
