"""Reads of the owner's notification inbox and of a campaign's member notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count

from apps.campaigns.notifications.models import Notification

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import Model

    from apps.stores.models import Store


def notifications_for_user(
    *, user: AbstractBaseUser, store: Store | None = None, limit: int = 20
) -> list[Notification]:
    """The user's own portal notifications, newest first (optionally one store's)."""
    rows = Notification.objects.filter(recipient=user, channel=Notification.Channel.PORTAL)
    if store is not None:
        rows = rows.filter(store=store)
    return list(rows.order_by("-created_at", "-pk")[:limit])


def notifications_unread_count(*, user: AbstractBaseUser, store: Store | None = None) -> int:
    rows = Notification.objects.filter(
        recipient=user, channel=Notification.Channel.PORTAL, read_at__isnull=True
    )
    if store is not None:
        rows = rows.filter(store=store)
    return rows.count()


def campaign_delivery_counts(*, store_campaign: Model, kind: str | None = None) -> dict[str, int]:
    """How many of the `campaigns.StoreCampaign`'s member notifications (all kinds, or one
    `kind`) are in each status: `{"pending": n, "sent": n, "failed": n, "skipped": n}`, every
    status key present (0 when none). One aggregate query. The caller checks access
    (VIEW_CAMPAIGNS for the store). Typed as a Model: this package may not import
    `apps.campaigns.models`, which imports it."""
    counts = dict.fromkeys(Notification.Status.values, 0)
    rows = Notification.objects.filter(store_campaign=store_campaign)
    if kind is not None:
        rows = rows.filter(kind=kind)
    for row in rows.values("status").annotate(count=Count("pk")).order_by():
        counts[row["status"]] = row["count"]
    return counts
