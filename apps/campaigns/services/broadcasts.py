"""Broadcasts: the owner starts and ends them (scheduled → live → ended); viewers comment.

Each transition is one conditional UPDATE on the expected status, so a double click or two
owners at once move a broadcast once. Ending a broadcast closes nothing else: its offers keep
their own deadlines and are settled by the settlement task (docs/group-buys.md).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.campaigns.models import Broadcast, BroadcastComment
from apps.campaigns.services.live import broadcast_changed
from apps.stores.access import RUN_CAMPAIGNS, may

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from apps.customers.models import Member

COMMENT_MAX_LENGTH = 500
AUTHOR_MAX_LENGTH = 60


class BroadcastRefused(ValidationError):
    """A transition that does not apply to the broadcast's current status (`code`:
    `not_scheduled`, `not_live`, `ended`); nothing was written."""


def _owner_check(*, broadcast: Broadcast, by: AbstractBaseUser) -> None:
    if not may(by, RUN_CAMPAIGNS, broadcast.store_id):
        raise PermissionDenied


def broadcast_start(
    *, broadcast: Broadcast, by: AbstractBaseUser, now: dt.datetime | None = None
) -> Broadcast:
    """Scheduled → live, stamping `started_at`. Only a user who may run campaigns at the
    broadcast's store (else PermissionDenied). Refuses (`not_scheduled`) a broadcast that is
    already live or ended; a repeated start changes nothing."""
    _owner_check(broadcast=broadcast, by=by)
    now = now or timezone.now()
    changed = Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.SCHEDULED).update(
        status=Broadcast.Status.LIVE, started_at=now
    )
    if changed != 1:
        raise BroadcastRefused(_("This broadcast is not scheduled any more."), code="not_scheduled")
    broadcast.refresh_from_db()
    broadcast_changed(broadcast_id=broadcast.pk)
    return broadcast


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
