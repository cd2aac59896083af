"""The live dashboard pages: one broadcast's (its store's staff with VIEW_CAMPAIGNS, and HQ) and
the HQ overview of every live broadcast (HQ staff with campaigns.view_storecampaign; store owners
are refused with 403 — their dashboards are per broadcast). The pages render the latest snapshot,
then static/linli/live-dashboard.js keeps them current over the websocket."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from apps.campaigns.models import Broadcast, GroupBuyOffer
from apps.campaigns.selectors.broadcasts import broadcast_for_user
from apps.campaigns.selectors.live import viewers_report_stale, viewers_stale_after
from apps.campaigns.services import live as live_services
from apps.stores.access import VIEW_CAMPAIGNS, hq_may

if TYPE_CHECKING:
    from apps.stores.access import UserLike


def page_labels() -> dict[str, object]:
    """Words the script writes into the page, in the active language (the page's, as the
    request set it). The snapshots carry none (selectors/live.py): they are shared by every
    viewer of a feed, so statuses come as codes named here, and talking points as a message code
    with its values, written with these formats (`%(name)s` placeholders, filled by the script).
    The English words stand without the Chinese glosses used elsewhere ("Formed (成团)"): an
    English page has no Chinese but its data. "Formed" is a settled offer's status only; an open
    offer at its threshold reads `thresholdReached`. A formed offer that sold from stock (not a
    pre-order) reads `formedFromStock`: its orders are ready for pickup as it forms (the join
    list's 待自提), not a group waiting for its goods."""
    formed = pgettext("group buy", "Formed")
    offer_statuses = {status.value: str(status.label) for status in GroupBuyOffer.Status}
    offer_statuses[GroupBuyOffer.Status.FORMED] = formed
    return {
        "units": pgettext("after a count", "units"),
        "participants": pgettext("after a count", "participants"),
        "toForm": _("to form the group"),
        # An open offer at its threshold has not formed yet: it forms when settled at its
        # deadline (and a cancelled join can still take it below).
        "thresholdReached": _("Threshold reached: forms at the deadline"),
        # A formed stock offer: its joins' orders are ready for pickup at once.
        "formedFromStock": pgettext("group buy", "Sold, ready for pickup"),
        "cap": _("cap"),
        "noComments": _("No comments yet."),
        "noKeywords": _("No keywords yet."),
        "noPoints": _("No talking points yet."),
        "noBroadcasts": _("No broadcast is live."),
        "open": _("Live"),
        "connecting": _("Connecting…"),
        "closed": _("Reconnecting…"),
        "orders": _("orders"),
        "viewers": _("viewers"),
        "offersReached": _("offers at threshold"),
        # Withdrawn offers (nobody joined) are not drawn among the rings, only counted.
        "withdrawn": _("Offers withdrawn (nobody had joined): %(count)s."),
        "atThreshold": _("at threshold"),
        # Shown for viewers before the platform's first report (a 0 would be a guess).
        "unknown": "—",
        # When the viewers count was reported, and the warning once that is too long ago.
        "reportedJustNow": pgettext("viewers reported", "reported just now"),
        "reportedAgo": _("reported %(minutes)s min ago"),
        "viewersStale": _("Not reported for over %(minutes)s min: the count may be out of date."),
        "stale": pgettext("viewers count", "stale"),
        "staleNotCounted": _("%(count)s stale, not counted"),
        "statuses": {status.value: str(status.label) for status in Broadcast.Status},
        "offerStatuses": offer_statuses,
        "talkingPoints": {
            "selling_point": _("%(name)s: %(point)s"),
            "taste": _("%(name)s: describe the taste and show it on camera."),
            "price_regular": _(
                "%(name)s is %(price)s yuan in this group buy (usually %(regular)s yuan)."
            ),
            "price": _("%(name)s is %(price)s yuan in this group buy."),
            "how_to_buy": _(
                "To buy %(name)s: join the group buy in the mini-program or add a line to the "
                "group-buy chat."
            ),
            "arrival": _(
                "%(name)s: the group forms at the threshold, then it arrives for pickup at the "
                "store."
            ),
            "stock": _("%(name)s: %(left)s left in this group buy, %(stock)s in store."),
            "stock_presale": _(
                "%(name)s: %(left)s left in this group buy; a pre-order, the supplier brings "
                "what is sold."
            ),
            "name": "%(name)s",
        },
        "talkingPointRemaining": _(" — %(remaining)s more to form the group."),
    }


def viewers_report_words(
    row: dict[str, Any], *, now: dt.datetime, labels: dict[str, Any]
) -> dict[str, Any]:
    """How long ago a snapshot's (or an overview row's) viewers were reported, in words, and
    whether the count is stale now (the script recomputes both as time passes)."""
    reported = row.get("viewers_reported_at")
    if not reported:
        return {"age": "", "stale": False}
    reported_at = dt.datetime.fromisoformat(reported)
    minutes = max(0, int((now - reported_at).total_seconds() // 60))
    age = labels["reportedAgo"] % {"minutes": minutes} if minutes else labels["reportedJustNow"]
    stale = bool(row.get("viewers_stale")) or viewers_report_stale(
        status=row.get("status", Broadcast.Status.LIVE), reported_at=reported_at, now=now
    )
    return {"age": age, "stale": stale}


def _stale_warning(labels: dict[str, Any]) -> str:
    """The warning under a stale count, naming the threshold in whole minutes (rounded up)."""
    return str(labels["viewersStale"]) % {"minutes": -(-viewers_stale_after() // 60)}


def _server_now_ms(now: dt.datetime) -> int:
    return int(now.timestamp() * 1000)


@login_required
@require_GET
def broadcast_live(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    broadcast = broadcast_for_user(
        user=request.user, broadcast_id=broadcast_id, action=VIEW_CAMPAIGNS
    )
    if broadcast is None:
        raise Http404  # another store's broadcast answers like a missing one
    snapshot = live_services.live_broadcast_current(broadcast_id=broadcast.pk)
    labels = page_labels()
    now = timezone.now()
    return render(
        request,
        "campaigns/live_broadcast.html",
        {
            "broadcast": broadcast,
            "store": broadcast.store,
            "snapshot": snapshot,
            # The snapshot is shared by every viewer and carries codes: the badge is named
            # here, in this viewer's language.
            "status_label": labels["statuses"].get(
                (snapshot or {}).get("status"), broadcast.get_status_display()
            ),
            "labels": labels,
            "viewers_report": viewers_report_words(snapshot or {}, now=now, labels=labels),
            "viewers_stale_warning": _stale_warning(labels),
            "withdrawn_line": _withdrawn_line(snapshot or {}, labels),
            "server_now_ms": _server_now_ms(now),
        },
    )


def _withdrawn_line(snapshot: dict[str, object], labels: dict[str, object]) -> str:
    """The line "已撤回 N 个商品" for the withdrawn offers left out of the rings; "" for none."""
    count = snapshot.get("withdrawn") or 0
    return str(labels["withdrawn"]) % {"count": count} if count else ""


def live_overview_allowed(user: UserLike) -> bool:
    """Who may open the overview of every live broadcast: HQ with VIEW_CAMPAIGNS's admin
    permission (its links are shown to the same users: templatetags/live_links.py)."""
    return hq_may(user, VIEW_CAMPAIGNS)


@login_required
@require_GET
def live_overview(request: HttpRequest) -> HttpResponse:
    if not live_overview_allowed(request.user):
        raise PermissionDenied
    snapshot = live_services.live_overview_current()
    labels = page_labels()
    now = timezone.now()
    rows = [
        {**row, "viewers_report": viewers_report_words(row, now=now, labels=labels)}
        for row in snapshot.get("broadcasts", [])
    ]
    stale_count = (snapshot.get("totals") or {}).get("viewers_stale") or 0
    return render(
        request,
        "campaigns/live_overview.html",
        {
            "snapshot": snapshot,
            "rows": rows,
            "labels": labels,
            "stale_not_counted": (
                str(labels["staleNotCounted"]) % {"count": stale_count} if stale_count else ""
            ),
            "server_now_ms": _server_now_ms(now),
        },
    )
