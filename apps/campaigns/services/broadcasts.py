"""Broadcasts: the owner starts and ends them (scheduled → live → ended); viewers comment.

Each transition is one conditional UPDATE on the expected status, so a double click or two
owners at once move a broadcast once. Ending a broadcast closes nothing else: its offers keep
their own deadlines and are settled by the settlement task (docs/group-buys.md).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.functions import Greatest
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from apps.campaigns.models import Broadcast, BroadcastComment
from apps.campaigns.services.live import broadcast_changed
from apps.stores.access import RUN_CAMPAIGNS, may

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from apps.customers.models import Member

COMMENT_MAX_LENGTH = 500
# The most concurrent viewers a report may state (a community store's stream: far above any).
VIEWERS_MAX = 1_000_000
AUTHOR_MAX_LENGTH = 60
# How long before its scheduled time a broadcast may start. Offers' deadlines follow the start
# (docs/group-buys.md), so a broadcast started a day early closes its group buys before the
# campaign's first day; a host warming up the room needs minutes, not hours.
EARLIEST_START_BEFORE = dt.timedelta(hours=2)


class BroadcastRefused(ValidationError):
    """A transition that does not apply to the broadcast's current status or time (`code`:
    `not_scheduled`, `too_early`, `not_live`, `ended`, `invalid`); nothing was written."""


def broadcast_earliest_start(*, broadcast: Broadcast) -> dt.datetime:
    """When the broadcast may start at the earliest: EARLIEST_START_BEFORE its scheduled time."""
    return broadcast.scheduled_at - EARLIEST_START_BEFORE


def _owner_check(*, broadcast: Broadcast, by: AbstractBaseUser) -> None:
    if not may(by, RUN_CAMPAIGNS, broadcast.store_id):
        raise PermissionDenied


def broadcast_start(
    *, broadcast: Broadcast, by: AbstractBaseUser, now: dt.datetime | None = None
) -> Broadcast:
    """Scheduled → live, stamping `started_at`. Only a user who may run campaigns at the
    broadcast's store (else PermissionDenied). Refuses (`not_scheduled`) a broadcast that is
    already live or ended; a repeated start changes nothing. Refuses (`too_early`) a start more
    than EARLIEST_START_BEFORE before the scheduled time, naming when it may start."""
    _owner_check(broadcast=broadcast, by=by)
    now = now or timezone.now()
    changed = Broadcast.objects.filter(
        pk=broadcast.pk,
        status=Broadcast.Status.SCHEDULED,
        scheduled_at__lte=now + EARLIEST_START_BEFORE,
    ).update(status=Broadcast.Status.LIVE, started_at=now)
    if changed != 1:
        broadcast.refresh_from_db()
        if broadcast.status != Broadcast.Status.SCHEDULED:
            raise BroadcastRefused(
                _("This broadcast is not scheduled any more."), code="not_scheduled"
            )
        raise BroadcastRefused(
            _(
                "This broadcast is scheduled for %(scheduled)s; it can start from %(earliest)s "
                "(at most %(hours)d hours before)."
            )
            % {
                "scheduled": _local_text(broadcast.scheduled_at),
                "earliest": _local_text(broadcast_earliest_start(broadcast=broadcast)),
                "hours": EARLIEST_START_BEFORE // dt.timedelta(hours=1),
            },
            code="too_early",
        )
    broadcast.refresh_from_db()
    broadcast_changed(broadcast_id=broadcast.pk)
    return broadcast


def _local_text(moment: dt.datetime) -> str:
    # As the portal's pages write a moment ("2026-12-08 18:00"), in every language.
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")


def broadcast_end(
    *, broadcast: Broadcast, by: AbstractBaseUser, now: dt.datetime | None = None
) -> Broadcast:
    """Live → ended, stamping `ended_at`; the viewer count drops to 0. Same access as
    `broadcast_start`. Refuses (`not_live`) a broadcast that is not live. Offers stay open
    until their deadlines (taking joins from the chat after the broadcast is normal)."""
    _owner_check(broadcast=broadcast, by=by)
    now = now or timezone.now()
    changed = Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.LIVE).update(
        status=Broadcast.Status.ENDED, ended_at=now, viewers=0
    )
    if changed != 1:
        raise BroadcastRefused(_("This broadcast is not live."), code="not_live")
    broadcast.refresh_from_db()
    broadcast_changed(broadcast_id=broadcast.pk)
    return broadcast


def broadcast_comment_add(
    *,
    broadcast: Broadcast,
    text: str,
    member: Member | None = None,
    author: str = "",
    now: dt.datetime | None = None,
) -> BroadcastComment:
    """Store a viewer's comment (from the mini-program or chat bot API). Refuses an empty or
    over-long text (`invalid`) and a broadcast that has ended (`ended`)."""
    text = text.strip()
    if not text or len(text) > COMMENT_MAX_LENGTH:
        raise BroadcastRefused(
            _("A comment needs 1 to %(max)d characters.") % {"max": COMMENT_MAX_LENGTH},
            code="invalid",
        )
    if broadcast.status == Broadcast.Status.ENDED:
        raise BroadcastRefused(_("This broadcast has ended."), code="ended")
    comment = BroadcastComment.objects.create(
        broadcast=broadcast,
        member=member,
        author=(author.strip() or (member.name if member is not None else ""))[:AUTHOR_MAX_LENGTH],
        text=text,
        created_at=now or timezone.now(),
    )
    broadcast_changed(broadcast_id=broadcast.pk)
    return comment


def broadcast_viewers_report(
    *, broadcast: Broadcast, count: int, now: dt.datetime | None = None
) -> Broadcast:
    """Store the stream's concurrent viewers as the platform reports them (the mini-program or
    the streaming service, through the terminal API): `viewers` becomes `count`, `peak_viewers`
    the larger of itself and `count`, `viewers_reported_at` now; the live page is told. One
    conditional UPDATE on status live, so a report racing the end of the broadcast is refused
    (`not_live`) rather than reviving its count, and two reports at once keep the larger peak.
    Refuses a count outside 0..VIEWERS_MAX (`invalid`). Reports are not ordered: the last one
    to arrive is the count shown."""
    if not 0 <= count <= VIEWERS_MAX:
        raise BroadcastRefused(
            _("The viewer count must be between 0 and %(max)d.") % {"max": VIEWERS_MAX},
            code="invalid",
        )
    changed = Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.LIVE).update(
        viewers=count,
        peak_viewers=Greatest("peak_viewers", count),
        viewers_reported_at=now or timezone.now(),
    )
    if changed != 1:
        raise BroadcastRefused(_("This broadcast is not live."), code="not_live")
    broadcast.refresh_from_db()
    broadcast_changed(broadcast_id=broadcast.pk)
    return broadcast
