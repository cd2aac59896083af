"""A campaign's member notifications: written once per member per (store campaign, kind),
consent respected, channel chosen per member; delivery counts; HQ's admin and "retry failed"."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from apps.campaigns.notifications.models import Notification
from apps.campaigns.notifications.selectors import campaign_delivery_counts
from apps.campaigns.notifications.services import (
    campaign_notification_key,
    campaign_notifications_enqueue,
    notification_enqueue,
    notifications_retry_failed,
)
from apps.customers.models import MemberIdentity
from tests.campaigns.factories import CampaignTargetFactory, StoreCampaignFactory
from tests.factories import MemberFactory, MemberIdentityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store_campaign(store):
    return StoreCampaignFactory(store=store)


def _target(store_campaign, **member_fields):
    member = MemberFactory(**{"marketing_consent": True, **member_fields})
    CampaignTargetFactory(store_campaign=store_campaign, member=member)
    return member


def _rows(store_campaign):
    return list(
        Notification.objects.filter(store_campaign=store_campaign)
        .order_by("member_id")
        .values_list("member_id", "channel", "status", "last_error", "kind", "store_id")
    )


def test_enqueue_writes_one_row_per_target_and_twice_adds_nothing(store_campaign, store):
    first, second = _target(store_campaign), _target(store_campaign)
    created = campaign_notifications_enqueue(
        store_campaign=store_campaign, kind="preview", title="今晚8点直播", body="蓝莓特价"
    )
    rows = _rows(store_campaign)
    again = campaign_notifications_enqueue(
        store_campaign=store_campaign, kind="preview", title="另一个标题", body="x"
    )
    assert (created, again) == (2, 0)
    assert (
        _rows(store_campaign)
        == rows
        == [
            (first.pk, "sms", "pending", "", "preview", store.pk),
            (second.pk, "sms", "pending", "", "preview", store.pk),
        ]
    )
    assert set(Notification.objects.values_list("title", flat=True)) == {"今晚8点直播"}
    assert Notification.objects.get(member=first).dedupe_key == campaign_notification_key(
        store_campaign_id=store_campaign.pk, kind="preview", member_id=first.pk
    )


def test_a_dispatch_is_enqueued_on_commit_only_when_rows_are_new(
    store_campaign, django_capture_on_commit_callbacks
):
    _target(store_campaign)
    with django_capture_on_commit_callbacks() as first:
        campaign_notifications_enqueue(
            store_campaign=store_campaign, kind="preview", title="t", body=""
        )
    with django_capture_on_commit_callbacks() as second:
        campaign_notifications_enqueue(
            store_campaign=store_campaign, kind="preview", title="t", body=""
        )
    assert (len(first), len(second)) == (1, 0)


def test_another_kind_or_campaign_is_a_new_row_for_the_same_member(store_campaign, store):
    member = _target(store_campaign)
    other = StoreCampaignFactory(store=store)
    CampaignTargetFactory(store_campaign=other, member=member)
    counts = [
        campaign_notifications_enqueue(
            store_campaign=store_campaign, kind="preview", title="t", body=""
        ),
        campaign_notifications_enqueue(
            store_campaign=store_campaign, kind="group_buy_failed", title="t", body=""
        ),
        campaign_notifications_enqueue(store_campaign=other, kind="preview", title="t", body=""),
    ]
    assert counts == [1, 1, 1]
    assert Notification.objects.filter(member=member).count() == 3


def test_members_given_explicitly_replace_the_target_list(store_campaign):
    _target(store_campaign)
    outsider = MemberFactory(marketing_consent=True)
    created = campaign_notifications_enqueue(
        store_campaign=store_campaign,
        kind="group_buy_failed",
        title="t",
        body="",
        members=[outsider],
    )
    assert created == 1
    assert list(Notification.objects.values_list("member_id", flat=True)) == [outsider.pk]


def test_members_without_consent_are_skipped_and_erased_ones_not_written(store_campaign):
    consenting = _target(store_campaign)
    refused = _target(store_campaign, marketing_consent=False)
    _target(store_campaign, is_erased=True, phone="")
    created = campaign_notifications_enqueue(
        store_campaign=store_campaign, kind="preview", title="t", body=""
    )
    assert created == 2
    assert [(row[0], row[2], row[3]) for row in _rows(store_campaign)] == [
        (consenting.pk, "pending", ""),
        (refused.pk, "skipped", "no_consent"),
    ]


def test_wechat_identity_chooses_wechat_phone_sms_neither_skipped(store_campaign):
    on_wechat = _target(store_campaign, phone="")
    MemberIdentityFactory(member=on_wechat, kind=MemberIdentity.Kind.WECHAT, value="oWx-openid-1")
    by_phone = _target(store_campaign)
    MemberIdentityFactory(member=by_phone)  # a member card is no address
    unreachable = _target(store_campaign, phone="")
    campaign_notifications_enqueue(
        store_campaign=store_campaign, kind="preview", title="t", body=""
    )
    assert [(row[0], row[1], row[2], row[3]) for row in _rows(store_campaign)] == [
        (on_wechat.pk, "wechat", "pending", ""),
        (by_phone.pk, "sms", "pending", ""),
        (unreachable.pk, "sms", "skipped", "no_address"),
    ]


def test_an_empty_target_list_writes_nothing(store_campaign):
    assert (
        campaign_notifications_enqueue(
            store_campaign=store_campaign, kind="preview", title="t", body=""
        )
        == 0
    )
    assert Notification.objects.count() == 0


def test_delivery_counts_have_every_status(store_campaign, store):
    assert campaign_delivery_counts(store_campaign=store_campaign) == {
        "pending": 0,
        "sent": 0,
        "failed": 0,
        "skipped": 0,
    }
    failing = _target(store_campaign)
    _target(store_campaign)
    _target(store_campaign, marketing_consent=False)
    other = StoreCampaignFactory(store=store)
    CampaignTargetFactory(store_campaign=other, member=MemberFactory(marketing_consent=True))
    campaign_notifications_enqueue(
        store_campaign=store_campaign, kind="preview", title="t", body=""
    )
    campaign_notifications_enqueue(
        store_campaign=store_campaign, kind="group_buy_failed", title="t", body=""
    )
    campaign_notifications_enqueue(store_campaign=other, kind="preview", title="t", body="")
    Notification.objects.filter(member=failing, kind="preview").update(status="failed")
    # group_buy_failed is a service message: the member without consent is told that one.
    assert campaign_delivery_counts(store_campaign=store_campaign) == {
        "pending": 4,
        "sent": 0,
        "failed": 1,
        "skipped": 1,
    }
    assert campaign_delivery_counts(store_campaign=store_campaign, kind="preview") == {
        "pending": 1,
        "sent": 0,
        "failed": 1,
        "skipped": 1,
    }


def test_retry_failed_requeues_only_failed_member_rows(store_campaign, owner):
    _target(store_campaign)
    _target(store_campaign)
    campaign_notifications_enqueue(
        store_campaign=store_campaign, kind="preview", title="t", body=""
    )
    failed, pending = Notification.objects.order_by("pk")
    Notification.objects.filter(pk=failed.pk).update(
        status="failed", attempts=5, last_error="TransientSendError: timeout"
    )
    portal, _ = notification_enqueue(
        dedupe_key="p", kind="device_alert", title="t", recipient=owner
    )
    assert notifications_retry_failed() == 1
    assert notifications_retry_failed() == 0
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error, failed.next_attempt_at) == (
        "pending",
        0,
        "",
        None,
    )
    assert Notification.objects.get(pk=pending.pk).status == "pending"
    assert Notification.objects.get(pk=portal.pk).status == "sent"


@pytest.fixture
def notification_staff(db):
    """Staff who may read and change notifications and see members, but not their phones."""
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    from tests.factories import UserFactory

    user = UserFactory(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            Q(
                content_type__app_label="campaigns",
                codename__in=["view_notification", "change_notification"],
            )
            | Q(content_type__app_label="customers", codename="view_member")
        )
    )
    return user


def test_admin_shows_no_phone_at_all_to_staff_who_may_not_see_members(
    client, notification_staff, store_campaign
):
    from django.contrib.auth.models import Permission

    _target(store_campaign, phone="+8613800138000")
    campaign_notifications_enqueue(
        store_campaign=store_campaign, kind="preview", title="t", body=""
    )
    notification_staff.user_permissions.remove(
        Permission.objects.get(content_type__app_label="customers", codename="view_member")
    )
    client.force_login(notification_staff)
    response = client.get(reverse("admin:campaigns_notification_changelist"))
    assert response.status_code == 200
    assert "8000" not in response.content.decode()


def test_admin_changelist_filters_masks_phones_and_retries(
    client, notification_staff, store_campaign
):
    member = _target(store_campaign, phone="+8613800138000")
    campaign_notifications_enqueue(
        store_campaign=store_campaign, kind="preview", title="t", body=""
    )
    row = Notification.objects.get()
    Notification.objects.filter(pk=row.pk).update(status="failed", attempts=5, last_error="boom")
    client.force_login(notification_staff)
    url = reverse("admin:campaigns_notification_changelist")
    with translation.override("en"):
        response = client.get(
            url,
            {
                "channel__exact": "sms",
                "status__exact": "failed",
                "store_campaign__id__exact": store_campaign.pk,
                "kind": "preview",
            },
        )
    assert response.status_code == 200
    content = response.content.decode()
    assert "138****8000" in content
    assert member.phone not in content
    assert list(response.context["cl"].result_list) == [row]
    response = client.post(url, {"action": "retry_failed", "_selected_action": [row.pk]})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 0)


def test_admin_shows_the_full_phone_to_staff_who_may_see_phones(client, hq_user, store_campaign):
    _target(store_campaign, phone="+8613800138000")
    campaign_notifications_enqueue(
        store_campaign=store_campaign, kind="preview", title="t", body=""
    )
    client.force_login(hq_user)
    response = client.get(reverse("admin:campaigns_notification_changelist"))
    assert response.status_code == 200
    assert "13800138000" in response.content.decode()
