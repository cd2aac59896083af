"""The notification outbox: idempotent by dedupe key, portal rows delivered on write."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.campaigns.notifications.models import Notification
from apps.campaigns.notifications.selectors import (
    notifications_for_user,
    notifications_unread_count,
)
from apps.campaigns.notifications.services import (
    NotificationDraft,
    notification_enqueue,
    notifications_enqueue,
    notifications_mark_read,
)

pytestmark = pytest.mark.django_db


def test_enqueue_is_idempotent_by_dedupe_key(owner, store):
    first, created = notification_enqueue(
        dedupe_key="alert:1:user:1", kind="device_alert", title="Hot", recipient=owner, store=store
    )
    again, created_again = notification_enqueue(
        dedupe_key="alert:1:user:1", kind="device_alert", title="Other", recipient=owner
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Notification.objects.get().title == "Hot"


def test_portal_notifications_are_delivered_on_write_sms_waits_for_a_gateway(owner):
    portal, _ = notification_enqueue(
        dedupe_key="a", kind="device_alert", title="t", recipient=owner
    )
    sms, _ = notification_enqueue(
        dedupe_key="b", kind="preview", title="t", recipient=owner, channel=Notification.Channel.SMS
    )
    assert (portal.status, portal.sent_at is not None) == ("sent", True)
    assert (sms.status, sms.sent_at) == ("pending", None)


def test_bulk_enqueue_skips_keys_already_present(owner, other_owner):
    notification_enqueue(dedupe_key="x:1", kind="device_alert", title="t", recipient=owner)
    drafts = [
        NotificationDraft(dedupe_key="x:1", kind="device_alert", title="t", recipient_id=owner.pk),
        NotificationDraft(
            dedupe_key="x:2", kind="device_alert", title="t", recipient_id=other_owner.pk
        ),
        NotificationDraft(
            dedupe_key="x:2", kind="device_alert", title="t", recipient_id=other_owner.pk
        ),
    ]
    assert notifications_enqueue(drafts=drafts) == 1
    assert notifications_enqueue(drafts=drafts) == 0
    assert sorted(Notification.objects.values_list("dedupe_key", flat=True)) == ["x:1", "x:2"]


def test_a_notification_needs_a_recipient_or_a_member():
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(dedupe_key="nobody", kind="k", title="t")
    assert Notification.objects.count() == 0


def test_mark_read_touches_only_the_users_own_rows(owner, other_owner, store, other_store):
    notification_enqueue(
        dedupe_key="1", kind="device_alert", title="mine", recipient=owner, store=store
    )
    notification_enqueue(
        dedupe_key="2",
        kind="device_alert",
        title="mine elsewhere",
        recipient=owner,
        store=other_store,
    )
    notification_enqueue(
        dedupe_key="3", kind="device_alert", title="theirs", recipient=other_owner, store=store
    )
    assert notifications_unread_count(user=owner, store=store) == 1
    assert notifications_mark_read(user=owner, store=store) == 1
    assert notifications_mark_read(user=owner, store=store) == 0
    assert notifications_unread_count(user=owner, store=store) == 0
    assert notifications_unread_count(user=owner) == 1
    assert notifications_unread_count(user=other_owner) == 1
    assert [n.title for n in notifications_for_user(user=owner, store=store)] == ["mine"]
