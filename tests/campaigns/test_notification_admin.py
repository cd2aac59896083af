"""The notification outbox is the services' in the admin: staff read it and retry failed rows,
but neither add a notification nor set one's status by hand. A status set by hand skipped
dispatch (attempt, sending time, provider reference), and "sent" without a sending time broke
the database's `notification_sent_has_time` with an error page."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from apps.campaigns.notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _failed_sms() -> Notification:
    return Notification.objects.create(
        recipient=UserFactory(),
        channel=Notification.Channel.SMS,
        kind="preview",
        title="水果季",
        dedupe_key=f"admin:{uuid.uuid4().hex}",
        status=Notification.Status.FAILED,
        attempts=5,
        last_error="gateway down",
    )


def test_staff_cannot_mark_a_notification_sent_by_hand(client, hq_user):
    row = _failed_sms()
    client.force_login(hq_user)
    url = reverse("admin:campaigns_notification_change", args=[row.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields) == set()

    response = client.post(url, {"status": "sent", "title": "changed", "channel": "portal"})

    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.sent_at, row.title, row.channel) == ("failed", None, "水果季", "sms")


def test_staff_cannot_add_a_notification_by_hand(client, hq_user):
    client.force_login(hq_user)
    response = client.post(
        reverse("admin:campaigns_notification_add"),
        {"channel": "portal", "kind": "x", "title": "x", "status": "sent"},
    )
    assert response.status_code == 403
    assert Notification.objects.count() == 0


def test_retry_failed_is_still_the_way_to_resend(client, hq_user):
    row = _failed_sms()
    client.force_login(hq_user)
    response = client.post(
        reverse("admin:campaigns_notification_changelist"),
        {"action": "retry_failed", "_selected_action": [row.pk]},
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at) == ("pending", 0, None)


def test_the_kind_reads_in_chinese_in_the_list_filter_and_page(admin_client):
    alert = Notification.objects.create(
        recipient=UserFactory(),
        channel=Notification.Channel.PORTAL,
        kind="device_alert",
        title="冷柜温度过高",
        dedupe_key=f"admin:{uuid.uuid4().hex}",
    )
    approved = Notification.objects.create(
        recipient=UserFactory(),
        channel=Notification.Channel.PORTAL,
        kind="after_sales.approved",
        title="t",
        dedupe_key=f"admin:{uuid.uuid4().hex}",
    )
    url = reverse("admin:campaigns_notification_changelist")
    listing = admin_client.get(url).content.decode()
    assert '<td class="field-kind_shown">设备告警</td>' in listing
    assert '<td class="field-kind_shown">售后申请已通过</td>' in listing
    assert 'href="?kind=purchase_order.new"' in listing
    filter_html = listing.split('id="changelist-filter"', 1)[1]
    for code in ("device_alert", "after_sales.approved", "order_ready", "purchase_order.new"):
        assert f">{code}<" not in filter_html
    for label in ("设备告警", "售后申请已通过", "订单可取货", "新采购单"):
        assert f"{label}</a>" in filter_html

    filtered = admin_client.get(url, {"kind": "device_alert"}).content.decode()
    assert f"/{alert.pk}/change/" in filtered
    assert f"/{approved.pk}/change/" not in filtered

    page = admin_client.get(
        reverse("admin:campaigns_notification_change", args=[approved.pk])
    ).content.decode()
    assert '<div class="readonly">售后申请已通过</div>' in page
    assert '<div class="readonly">after_sales.approved</div>' not in page
