"""Every kind of notification is registered once, with its label (the admin's kind column,
filter and page) and, for a staff portal notification, its renderer; the services refuse to
write a kind that is not, so a new kind fails its own tests until it has both."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from apps.campaigns.notifications.models import Notification
from apps.campaigns.notifications.services import (
    NotificationDraft,
    campaign_notifications_enqueue,
    notification_enqueue,
    notifications_enqueue,
)
from apps.campaigns.notifications.texts import (
    notification_has_renderer,
    notification_kind_label,
    notification_kind_register,
    notification_kinds,
)
from tests.campaigns.factories import CampaignTargetFactory, StoreCampaignFactory

# The staff notifications: written to a user's portal inbox, worded per reader.
STAFF_KINDS = {
    "device_alert",
    "purchase_order.new",
    "purchase_order.updated",
    "receipt_dispute_opened",
    "receipt_dispute_answered",
}


def test_every_kind_has_a_label_in_each_language() -> None:
    kinds = notification_kinds()
    assert {entry.code for entry in kinds} >= STAFF_KINDS | {"preview", "order_ready"}
    for entry in kinds:
        with translation.override("en"):
            english = str(entry.label)
        with translation.override("zh-hans"):
            chinese = str(entry.label)
        assert english, entry.code
        assert english != entry.code, entry.code
        assert chinese != english, entry.code  # translated
        with translation.override("zh-hans"):
            assert notification_kind_label(entry.code) == chinese


def test_the_staff_kinds_have_a_renderer_and_member_messages_none() -> None:
    for entry in notification_kinds():
        assert notification_has_renderer(entry.code) == (entry.code in STAFF_KINDS), entry.code


def test_a_kind_cannot_be_registered_without_a_label_or_twice_differently() -> None:
    with pytest.raises(ValueError, match="needs a label"):
        notification_kind_register(kind="test.unlabelled", label="")
    with pytest.raises(ValueError, match="already registered"):
        notification_kind_register(kind="preview", label="Something else")
    assert "test.unlabelled" not in {entry.code for entry in notification_kinds()}


@pytest.mark.django_db
def test_the_services_refuse_an_unregistered_kind_and_write_nothing(owner: object) -> None:
    with pytest.raises(ValueError, match="'order_refunded' is not registered"):
        notification_enqueue(dedupe_key="x", kind="order_refunded", title="t", recipient=owner)
    with pytest.raises(ValueError, match="not registered"):
        notifications_enqueue(
            drafts=[NotificationDraft(dedupe_key="y", kind="new.kind", title="t")]
        )
    store_campaign = StoreCampaignFactory()
    CampaignTargetFactory(store_campaign=store_campaign)
    with pytest.raises(ValueError, match="not registered"):
        campaign_notifications_enqueue(
            store_campaign=store_campaign, kind="teaser", title="t", body=""
        )
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_no_kind_is_registered_that_nothing_writes() -> None:
    """ "jielong_result" was registered but never written (a pasted 接龙's result is the owner's,
    seen on the page; members hear the outcome at settlement): it is not a kind, and writing it
    is refused like any unregistered kind."""
    assert "jielong_result" not in {entry.code for entry in notification_kinds()}
    store_campaign = StoreCampaignFactory()
    CampaignTargetFactory(store_campaign=store_campaign)
    with pytest.raises(ValueError, match="'jielong_result' is not registered"):
        campaign_notifications_enqueue(
            store_campaign=store_campaign, kind="jielong_result", title="t", body=""
        )
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_a_portal_notification_needs_a_kind_with_a_renderer(owner: object) -> None:
    """A user's inbox is read in their language: a kind without a renderer (a message to
    members, sent once as text) is refused there."""
    with pytest.raises(ValueError, match="has no renderer"):
        notification_enqueue(dedupe_key="x", kind="order_ready", title="t", recipient=owner)
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_the_admin_filter_names_every_registered_kind(admin_client: object) -> None:
    url = reverse("admin:campaigns_notification_changelist")
    for language in ("en", "zh-hans"):
        admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        html = admin_client.get(url).content.decode()
        with translation.override(language):
            for entry in notification_kinds():
                assert f'href="?kind={entry.code}"' in html, entry.code
                assert str(entry.label) in html, (language, entry.code)
