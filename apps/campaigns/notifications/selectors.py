"""Reads of the owner's notification inbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.campaigns.notifications.models import Notification

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

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
