"""Writes for campaigns. So far: planned promotions (notifications: `notifications.services`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.campaigns.models import Promotion

if TYPE_CHECKING:
    pass


def promotions_cancel(*, promotion_ids: list[int]) -> int:
    """Cancel these promotions (the forecast stops counting them from its next run).

    Idempotent: already cancelled rows are left alone. Returns how many rows changed.
    """
    return (
        Promotion.objects.filter(pk__in=promotion_ids)
        .exclude(status=Promotion.Status.CANCELLED)
        .update(status=Promotion.Status.CANCELLED)
    )
