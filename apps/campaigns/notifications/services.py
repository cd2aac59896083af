"""Writes of the notification outbox: enqueue (idempotent by dedupe key), mark read, a
campaign's member notifications (preview, 接龙 results) and HQ's "retry failed".

Sending SMS / WeChat rows is the dispatcher's job (`dispatch.py`, run by the Celery task
`notifications_dispatch_task` every minute and on commit after a campaign enqueue).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from apps.campaigns.notifications.models import Notification, is_service_message
from apps.campaigns.notifications.texts import notification_kind_check
from apps.customers.models import Member, MemberIdentity
from linli.celery import app as celery_app
from linli.enqueue import enqueue_on_commit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import Model

    from apps.stores.models import Store

# The dispatcher task, by name: services may not import the tasks module (app layers), and the
# web process need not have loaded it for the message to reach a worker.
DISPATCH_TASK_NAME = "apps.campaigns.notifications.tasks.notifications_dispatch_task"

# Why a campaign notification was written as skipped (kept in `last_error`, shown to staff).
SKIP_NO_CONSENT = "no_consent"
SKIP_NO_ADDRESS = "no_address"


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
    # Only registered kinds (a label for the admin; a renderer for a user's inbox).
    notification_kind_check(draft.kind, to_staff=delivered)
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


def notification_drafts_worded(
    *,
    kind: str,
    payload: dict[str, Any],
    words: Callable[[Mapping[str, Any]], tuple[str, str]],
    recipient_ids: Iterable[int],
    dedupe_prefix: str,
) -> list[NotificationDraft]:
    """One portal draft per recipient (dedupe key `<dedupe_prefix>:user:<id>`) of a message
    worded by `words` (the kind's renderer, `texts.py`) from `payload`: the stored title and
    body in the project language, the payload kept so that each reader sees it in theirs."""
    with translation.override(settings.LANGUAGE_CODE):
        title, body = words(payload)
    return [
        NotificationDraft(
            dedupe_key=f"{dedupe_prefix}:user:{user_id}",
            kind=kind,
            title=title,
            body=body,
            recipient_id=user_id,
            payload=payload,
        )
        for user_id in recipient_ids
    ]


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


def campaign_notification_key(*, store_campaign_id: int, kind: str, member_id: int) -> str:
    """The dedupe key of a campaign notification: one per member per (store campaign, kind),
    whatever the channel."""
    return f"campaign:{store_campaign_id}:{kind}:member:{member_id}"


def campaign_notifications_enqueue(
    *,
    store_campaign: Model,
    kind: str,
    title: str,
    body: str,
    members: Iterable[Member] | None = None,
) -> int:
    """Write one outbox row per member for this `campaigns.StoreCampaign` and `kind` (e.g.
    "preview", "group_buy_failed"); `members=None` means the store campaign's target list.
    (Typed as a Model: this package may not import `apps.campaigns.models`, which imports it.)

    - Erased members are not written at all (there is nobody left to address).
    - Members without marketing consent are written as SKIPPED (`last_error="no_consent"`), and
      members with neither a WeChat identity nor a phone as SKIPPED (`"no_address"`): the owner's
      delivery counts show how many the campaign could not reach, and a later call cannot send to
      them either (one row per member per campaign and kind, whatever happens).
    - Channel per member: WeChat when the member has a WeChat identity, else SMS.
    - Idempotent by dedupe key (`campaign_notification_key`): calling twice adds nothing; one
      set-wise INSERT that ignores conflicts, safe against a concurrent twin.

    Pending rows are sent by the dispatcher; a dispatch task is enqueued on commit so a preview
    goes out without waiting for the once-a-minute schedule (which also covers a lost enqueue).
    Returns how many rows are new.
    """
    notification_kind_check(kind)
    if members is None:
        rows = Member.objects.filter(pk__in=store_campaign.targets.values("member_id"))
    else:
        rows = Member.objects.filter(pk__in=[member.pk for member in members])
    recipients = list(
        rows.filter(is_erased=False).order_by("pk").values_list("pk", "phone", "marketing_consent")
    )
    if not recipients:
        return 0
    member_ids = [member_id for member_id, _phone, _consent in recipients]
    on_wechat = set(
        MemberIdentity.objects.filter(
            member_id__in=member_ids, kind=MemberIdentity.Kind.WECHAT
        ).values_list("member_id", flat=True)
    )
    now = timezone.now()
    fresh: dict[str, Notification] = {}
    for member_id, phone, consent in recipients:
        key = campaign_notification_key(
            store_campaign_id=store_campaign.pk, kind=kind, member_id=member_id
        )
        channel = (
            Notification.Channel.WECHAT if member_id in on_wechat else Notification.Channel.SMS
        )
        skipped_because = ""
        if not consent and not is_service_message(kind):
            skipped_because = SKIP_NO_CONSENT
        elif member_id not in on_wechat and not phone:
            skipped_because = SKIP_NO_ADDRESS
        fresh[key] = Notification(
            dedupe_key=key,
            kind=kind[:40],
            title=title[:200],
            body=body,
            channel=channel,
            member_id=member_id,
            store_id=store_campaign.store_id,
            store_campaign=store_campaign,
            payload={"store_campaign": store_campaign.pk},
            status=Notification.Status.SKIPPED if skipped_because else Notification.Status.PENDING,
            last_error=skipped_because,
            created_at=now,
        )
    present = set(
        Notification.objects.filter(dedupe_key__in=list(fresh)).values_list("dedupe_key", flat=True)
    )
    for key in present:
        del fresh[key]
    if not fresh:
        return 0
    with transaction.atomic():
        Notification.objects.bulk_create(
            list(fresh.values()), ignore_conflicts=True, batch_size=500
        )
        created = Notification.objects.filter(dedupe_key__in=list(fresh), created_at=now).count()
        if created:
            enqueue_on_commit(celery_app.signature(DISPATCH_TASK_NAME))
    return created


def notifications_retry_failed(*, ids: Iterable[int] | None = None) -> int:
    """Put FAILED SMS / WeChat rows back in the queue: pending, attempts reset, due now (HQ's
    admin action after a gateway outage). Conditional UPDATE: only rows still FAILED change, so
    a double click retries nothing twice. Portal and SKIPPED rows are never touched.
    Returns how many rows were requeued."""
    failed = Notification.objects.filter(
        status=Notification.Status.FAILED,
        channel__in=[Notification.Channel.SMS, Notification.Channel.WECHAT],
    )
    if ids is not None:
        failed = failed.filter(pk__in=list(ids))
    with transaction.atomic():
        count = failed.update(
            status=Notification.Status.PENDING,
            attempts=0,
            next_attempt_at=None,
            last_error="",
        )
        if count:
            enqueue_on_commit(celery_app.signature(DISPATCH_TASK_NAME))
    return count
