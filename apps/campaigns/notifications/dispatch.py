"""The SMS / WeChat dispatcher: sends the outbox's pending member notifications.

`notifications_dispatch(now=..., limit=...)` is run by the Celery task every minute and on commit
after a campaign enqueue. One run, per channel:

1. Quiet hours (`NOTIFY_QUIET_HOURS` in TIME_ZONE): nothing is sent; every due pending row gets
   `next_attempt_at` = the end of the quiet hours (one UPDATE). Not an attempt, not a failure.
2. Claim, in one short transaction holding the channel's claim lock (a PostgreSQL advisory
   transaction lock; on SQLite the database's write lock): count the channel's attempts started
   in the current minute, take at most `NOTIFY_RATE_PER_MINUTE` minus that of the due rows
   (`select_for_update(skip_locked=True)`, oldest due first), and mark them claimed:
   `attempts + 1`, `last_attempt_at = now`, `next_attempt_at = now + CLAIM_LEASE`. A second
   worker waits for the lock, then finds them not due: no row is sent twice, and the rate limit
   holds across every worker. Rows beyond the limit stay pending for the next run.
3. Send each claimed row outside any transaction (a slow gateway holds no lock). Consent is
   checked again first (withdrawn or erased → SKIPPED), and so is the order a message about
   an order's state names (`payload["order_id"]`): "ready for pickup" and "out for delivery"
   whose order is no longer ready (collected, delivered, cancelled while the row waited out the
   quiet hours) → SKIPPED, `order_no_longer_ready`; the batch's orders are read in one query.
   Then SENT with `sent_at` and `provider_ref`; a transient error → pending again with
   exponential backoff (`RETRY_BASE * 2**(attempts-1)`, at most `RETRY_MAX`), FAILED once
   `NOTIFY_MAX_ATTEMPTS` are used; a permanent error → FAILED at once. Each write is
   conditional on the claim (`status=pending, attempts=<claimed>`), so a worker whose lease
   ran out changes nothing.

Idempotent: a second run right after sends nothing (the sent rows are no longer pending, the
claimed ones not yet due). Only a worker that dies between the gateway's answer and writing it
leaves its rows to be claimed again when the lease ends (at-least-once for that crash; senders
pass `dedupe_key` to gateways that deduplicate).
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from apps.campaigns.notifications.models import Notification, is_service_message
from apps.campaigns.notifications.senders import (
    PermanentSendError,
    Sender,
    TransientSendError,
    sender_for,
)
from apps.customers.models import MemberIdentity
from apps.stores.models import Order

logger = logging.getLogger(__name__)

CHANNELS = (Notification.Channel.SMS, Notification.Channel.WECHAT)
# A claimed row is not due again before this: long enough for any gateway call, short enough
# that a crashed worker's rows go out within minutes.
CLAIM_LEASE = dt.timedelta(minutes=10)
RETRY_BASE = dt.timedelta(minutes=1)
RETRY_MAX = dt.timedelta(hours=1)
SKIP_CONSENT_WITHDRAWN = "consent_withdrawn"
SKIP_ERASED = "erased"
SKIP_NO_ADDRESS = "no_address"
SKIP_ORDER_NO_LONGER_READY = "order_no_longer_ready"
# Messages that say an order is waiting for the member (at the counter, or on its way): true
# only while the order is READY (a delivery order stays READY while out for delivery; it is
# COMPLETED once collected or delivered, CANCELLED once cancelled). The other order messages
# (short at receiving, delivered, cancelled) report something that happened and stay true.
ORDER_READY_KINDS = ("order_ready", "order_out_for_delivery")


@dataclass
class DispatchReport:
    """What one dispatch run did, in rows."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0  # moved to the end of the quiet hours
    left_for_rate: int = 0  # due but beyond this minute's rate limit

    def as_dict(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "skipped": self.skipped,
            "deferred": self.deferred,
            "left_for_rate": self.left_for_rate,
        }


def quiet_hours_end(*, now: dt.datetime, quiet_hours: str | None = None) -> dt.datetime | None:
    """When `now` falls in the quiet hours ("HH:MM-HH:MM" in TIME_ZONE, start inclusive, end
    exclusive, may wrap midnight), the aware datetime they end; otherwise (or with "") None."""
    spec = (settings.NOTIFY_QUIET_HOURS if quiet_hours is None else quiet_hours).strip()
    if not spec:
        return None
    start_text, end_text = (part.strip() for part in spec.split("-", 1))
    start = dt.time.fromisoformat(start_text)
    end = dt.time.fromisoformat(end_text)
    if start == end:
        return None
    zone = ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:  # wraps midnight: 21:30-08:00
        inside = clock >= start or clock < end
        end_day = local.date() + dt.timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return dt.datetime.combine(end_day, end, tzinfo=zone)


def retry_delay(*, attempts: int) -> dt.timedelta:
    """Exponential backoff after the `attempts`-th failed attempt: 1, 2, 4 … minutes, ≤ 1 h."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_MAX)


def _due(*, channel: str, now: dt.datetime) -> QuerySet[Notification]:
    return Notification.objects.filter(channel=channel, status=Notification.Status.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def _lock_channel(channel: str) -> None:
    """Serialise claims of one channel until the transaction ends, across every worker."""
    if connection.vendor == "postgresql":
        key = zlib.crc32(f"linli.notifications.claim.{channel}".encode())
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    else:
        # SQLite: a write, even of no row, takes the database's write lock now rather than at
        # the claim's UPDATE, so the count below is not read before another claim commits.
        Notification.objects.filter(pk__lt=0).update(attempts=0)


def _claim(*, channel: str, now: dt.datetime, limit: int) -> tuple[list[int], int]:
    """Claim up to `limit` due rows of `channel` within this minute's rate. Returns the ids
    claimed and how many due rows the rate limit left for later."""
    minute = now.replace(second=0, microsecond=0)
    with transaction.atomic():
        _lock_channel(channel)
        used = Notification.objects.filter(
            channel=channel,
            last_attempt_at__gte=minute,
            last_attempt_at__lt=minute + dt.timedelta(minutes=1),
        ).count()
        room = max(settings.NOTIFY_RATE_PER_MINUTE - used, 0)
        take = min(room, limit)
        due = _due(channel=channel, now=now)
        ids = list(
            due.select_for_update(skip_locked=True)
            .order_by(F("next_attempt_at").asc(nulls_first=True), "pk")
            .values_list("pk", flat=True)[:take]
        )
        if ids:
            Notification.objects.filter(pk__in=ids).update(
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                next_attempt_at=now + CLAIM_LEASE,
            )
        left = due.exclude(pk__in=ids).count() if take < limit else 0
    return ids, left


def _address(notification: Notification) -> str:
    if notification.channel == Notification.Channel.WECHAT:
        return notification.wechat_openid or ""  # type: ignore[attr-defined]
    return notification.member.phone if notification.member_id else ""


def _finish(notification: Notification, **changes: object) -> bool:
    """Write the outcome only if the row is still ours (pending, same attempt)."""
    return bool(
        Notification.objects.filter(
            pk=notification.pk,
            status=Notification.Status.PENDING,
            attempts=notification.attempts,
        ).update(**changes)
    )


def _order_id(notification: Notification) -> int | None:
    payload = notification.payload if isinstance(notification.payload, dict) else {}
    value = payload.get("order_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _orders_no_longer_ready(notifications: list[Notification]) -> set[int]:
    """The ids of the ready / out-for-delivery notifications among these whose order is not
    READY any more (or is gone). One query for the whole batch."""
    order_ids = {
        notification.pk: _order_id(notification)
        for notification in notifications
        if notification.kind in ORDER_READY_KINDS
    }
    wanted = {order_id for order_id in order_ids.values() if order_id is not None}
    ready = set(
        Order.objects.filter(pk__in=wanted, status=Order.Status.READY).values_list("pk", flat=True)
        if wanted
        else ()
    )
    return {
        notification_id
        for notification_id, order_id in order_ids.items()
        if order_id is not None and order_id not in ready
    }


def _send_one(
    notification: Notification,
    *,
    sender: Sender,
    now: dt.datetime,
    report: DispatchReport,
    order_moved_on: bool = False,
) -> None:
    member = notification.member
    reason = ""
    if order_moved_on:
        reason = SKIP_ORDER_NO_LONGER_READY
    elif member is not None and member.is_erased:
        reason = SKIP_ERASED
    elif (
        member is not None
        and not member.marketing_consent
        and not is_service_message(notification.kind)
    ):
        reason = SKIP_CONSENT_WITHDRAWN
    address = _address(notification)
    if not reason and not address:
        reason = SKIP_NO_ADDRESS
    if reason:
        if _finish(
            notification,
            status=Notification.Status.SKIPPED,
            next_attempt_at=None,
            last_error=reason,
        ):
            report.skipped += 1
        return
    try:
        result = sender.send(notification, address=address)
    except PermanentSendError as error:
        if _finish(
            notification,
            status=Notification.Status.FAILED,
            next_attempt_at=None,
            last_error=_error_text(error),
        ):
            report.failed += 1
        return
    except Exception as error:  # transient, or a sender's bug: retried, then failed
        if not isinstance(error, TransientSendError):
            logger.exception("notify: sender error for notification %s", notification.pk)
        if notification.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
            if _finish(
                notification,
                status=Notification.Status.FAILED,
                next_attempt_at=None,
                last_error=_error_text(error),
            ):
                report.failed += 1
        elif _finish(
            notification,
            next_attempt_at=now + retry_delay(attempts=notification.attempts),
            last_error=_error_text(error),
        ):
            report.retried += 1
        return
    if _finish(
        notification,
        status=Notification.Status.SENT,
        sent_at=now,
        next_attempt_at=None,
        provider_ref=(result.provider_ref or "")[:100],
        last_error="",
    ):
        report.sent += 1


def _error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def notifications_dispatch(*, now: dt.datetime | None = None, limit: int = 500) -> DispatchReport:
    """Send up to `limit` due SMS / WeChat rows per channel (see the module docstring for the
    claim, quiet hours, rate limit, consent and retry rules). Safe to run concurrently and
    repeatedly: no row is sent twice."""
    now = now or timezone.now()
    report = DispatchReport()
    quiet_end = quiet_hours_end(now=now)
    if quiet_end is not None:
        for channel in CHANNELS:
            report.deferred += _due(channel=channel, now=now).update(next_attempt_at=quiet_end)
        return report
    openid = MemberIdentity.objects.filter(
        member_id=OuterRef("member_id"), kind=MemberIdentity.Kind.WECHAT
    ).order_by("-pk")
    for channel in CHANNELS:
        ids, left = _claim(channel=channel, now=now, limit=limit)
        report.claimed += len(ids)
        report.left_for_rate += left
        if not ids:
            continue
        sender = sender_for(channel)
        rows = list(
            Notification.objects.filter(pk__in=ids)
            .select_related("member")
            .annotate(wechat_openid=Subquery(openid.values("value")[:1]))
            .order_by("pk")
        )
        moved_on = _orders_no_longer_ready(rows)
        for notification in rows:
            _send_one(
                notification,
                sender=sender,
                now=now,
                report=report,
                order_moved_on=notification.pk in moved_on,
            )
    return report
