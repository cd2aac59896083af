"""Writes of the notification outbox: enqueue (idempotent by dedupe key), mark read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.campaigns.notifications.models import Notification

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from apps.customers.models import Member
    from apps.stores.models import Store


@dataclass(frozen=True)
class NotificationDraft:
    """One notification to enqueue; `dedupe_key` names the event and the recipient."""

    dedupe_key: str
    kind: str
    title: str
    body: str = ""
    channel: str = Notification.Channel.PORTAL
    recipient_id: int | None = None
    store_id: int | None = None
    member_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def _row(draft: NotificationDraft, *, now: dt.datetime) -> Notification:
    # Portal notifications are delivered by being written: the inbox shows them at once.
    delivered = draft.channel == Notification.Channel.PORTAL
    return Notification(
        dedupe_key=draft.dedupe_key,
        kind=draft.kind,
        title=draft.title[:200],
        body=draft.body,
        channel=draft.channel,
        recipient_id=draft.recipient_id,
        store_id=draft.store_id,
        member_id=draft.member_id,
        payload=draft.payload,
        status=Notification.Status.SENT if delivered else Notification.Status.PENDING,
        created_at=now,
        sent_at=now if delivered else None,
    )


def notification_enqueue(
    *,
    dedupe_key: str,
    kind: str,
    title: str,
    body: str = "",
    channel: str = Notification.Channel.PORTAL,
    recipient: AbstractBaseUser | None = None,
    store: Store | None = None,
    member: Member | None = None,
    payload: dict[str, Any] | None = None,
) -> tuple[Notification, bool]:
    """Put one notification in the outbox, or return the one already there with this
    `dedupe_key`. Returns `(notification, created)`.

    Idempotent and race-safe: the unique dedupe_key decides, a concurrent twin gets the row
    the winner wrote.
    """
    existing = Notification.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing, False
    draft = NotificationDraft(
        dedupe_key=dedupe_key,
        kind=kind,
        title=title,
        body=body,
        channel=channel,
        recipient_id=recipient.pk if recipient is not None else None,
        store_id=store.pk if store is not None else None,
        member_id=member.pk if member is not None else None,
        payload=payload or {},
    )
    notification = _row(draft, now=timezone.now())
    try:
        with transaction.atomic():
            notification.save(force_insert=True)
    except IntegrityError:
        existing = Notification.objects.filter(dedupe_key=dedupe_key).first()
        if existing is None:
            raise
        return existing, False
    return notification, True


def notifications_enqueue(*, drafts: list[NotificationDraft]) -> int:
    """Set-wise `notification_enqueue`: one INSERT that skips dedupe keys already present.

    Idempotent: enqueuing the same drafts again adds nothing. Returns how many rows are new.
    """
    if not drafts:
        return 0
    keys = [draft.dedupe_key for draft in drafts]
    present = set(
        Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
    )
    now = timezone.now()
    fresh = {
        draft.dedupe_key: _row(draft, now=now)
        for draft in drafts
        if draft.dedupe_key not in present
    }
    Notification.objects.bulk_create(list(fresh.values()), ignore_conflicts=True, batch_size=500)
    return Notification.objects.filter(dedupe_key__in=list(fresh), created_at=now).count()


def notifications_mark_read(
    *, user: AbstractBaseUser, store: Store | None = None, ids: list[int] | None = None
) -> int:
    """Mark the user's unread notifications read (only theirs; optionally one store's or
    some ids). Returns how many changed; marking twice changes nothing the second time."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if store is not None:
        unread = unread.filter(store=store)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
