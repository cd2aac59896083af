"""Reads for the live dashboard: one broadcast's snapshot and the HQ overview of every live
broadcast. Both return plain JSON-ready dicts (money as strings, times as ISO strings), because
they are sent as-is over websockets and compared part by part to build updates.

They carry no words: one snapshot goes to every viewer of a feed, whatever their language (a
websocket has no request for LocaleMiddleware to read, and the process that computes it is
whichever one flushes the feed). Statuses are codes, talking points a message code with its
values; the page writes the words from its labels, in its viewer's language
(apps/campaigns/views/live.py). Product names, selling points and comments are data, shown as
they are.

Figures (definitions the tests hold; orders, units, the joined value and its part at threshold
are `selectors.broadcasts.JoinedFigures`, the one definition the review report reads too):
- orders: the broadcast's group-buy joins that are not cancelled, and whose order was not
  cancelled or refunded since (one join makes one order);
- joined value (`joined_value`): the sum over those joins of quantity × the offer's group-buy
  price. Not sales: it includes joins of offers that are still open and may not form (a failed
  offer's joins are cancelled at settlement and drop out);
- `joined_value_reached`: the part of it whose offer has reached its threshold (open and at the
  threshold, or settled formed) — what forms unless a join is cancelled;
- units per product: the sum of those joins' quantities per offered product;
- an offer's progress: `units_joined` or `participants` (by its threshold kind) toward its
  threshold, and `units_joined` toward its cap (kept in step by the join service). `reached`:
  progress at the threshold or the offer settled formed (`GroupBuyOffer.at_threshold`). Formed
  is a `status` only: an open offer at its threshold forms at its deadline, when it is settled;
  `presale` says whether a formed offer's orders wait for the supplier (a pre-order) or are
  ready for pickup from stock;
- withdrawn offers (status cancelled: only `offer_withdraw` sets it, and only on an offer
  nobody joined) are not live offers: they are left out of `offers` (the rings), the units per
  product and the talking points; `withdrawn` counts them (the page says "已撤回 N 个商品"),
  and the HQ overview's offered count leaves them out too;
- viewers: the stream's concurrent viewers as the platform last reported them (the broadcast
  row's `viewers` and `peak_viewers`); None until a first report (the page shows "—").
  `viewers_reported_at` is when (ISO), and `viewers_stale` is true while the broadcast is live
  and that report is older than `LIVE_VIEWERS_STALE_SECONDS` (`viewers_stale_after`, 300 by
  default): the platform stopped reporting, the count is not current.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from apps.campaigns.analytics import comments as comment_analytics
from apps.campaigns.models import Broadcast, BroadcastComment, GroupBuyOffer
from apps.campaigns.selectors.broadcasts import JoinedFigures, offers_joined
from apps.catalog.models import Product
from apps.stores.models import StockLevel, Store
from apps.training.selectors import product_selling_points
from linli.phones import phones_masked_in

LATEST_COMMENTS = 20
# Keywords and talking points read this many of the latest comments.
ANALYSED_COMMENTS = 200
KEYWORDS = 10
TALKING_POINTS = 5


def _percent(part: int, whole: int) -> int:
    return min(100, round(100 * part / whole)) if whole else 0


def viewers_stale_after() -> int:
    """Seconds after which a live broadcast's last viewers report is stale
    (LIVE_VIEWERS_STALE_SECONDS, 300 by default)."""
    return int(getattr(settings, "LIVE_VIEWERS_STALE_SECONDS", 300))


def viewers_report_stale(
    *, status: str, reported_at: dt.datetime | None, now: dt.datetime | None = None
) -> bool:
    """A live broadcast whose last viewers report is older than the threshold: the platform
    stopped reporting (its tool crashed, the stream ended), so the count is not current. Not
    stale before a first report (unknown, shown as such) nor once the broadcast is not live."""
    if status != Broadcast.Status.LIVE or reported_at is None:
        return False
    age = (now or timezone.now()) - reported_at
    return age.total_seconds() > viewers_stale_after()


def _viewers(broadcast: Broadcast) -> tuple[int | None, int | None]:
    """The stream's viewers now and at peak, as reported; (None, None) before any report."""
    if broadcast.viewers_reported_at is None:
        return None, None
    return broadcast.viewers, broadcast.peak_viewers


def _viewers_report(broadcast: Broadcast, now: dt.datetime) -> dict[str, Any]:
    """When the viewers were reported (ISO, None before a report) and whether that is stale."""
    reported_at = broadcast.viewers_reported_at
    return {
        "viewers_reported_at": reported_at.isoformat() if reported_at else None,
        "viewers_stale": viewers_report_stale(
            status=broadcast.status, reported_at=reported_at, now=now
        ),
    }


def _talking_point(point: comment_analytics.TalkingPoint) -> dict[str, Any]:
    """A talking point as the page writes it: which sentence (`message`, a code the page's
    labels translate) with the values it names (`args`: product data and numbers, never words),
    and how many more the group needs (`remaining`, added only to a mention)."""
    facts = point.facts
    name = point.product_name
    selling_point = str(facts.get("selling_point") or "")
    args: dict[str, Any] = {"name": name}
    remaining = 0
    if point.intent == comment_analytics.TASTE:
        message = "selling_point" if selling_point else "taste"
        if selling_point:
            args["point"] = selling_point
    elif point.intent == comment_analytics.PRICE:
        args["price"] = str(facts.get("price"))
        if facts.get("regular_price"):
            message = "price_regular"
            args["regular"] = str(facts["regular_price"])
        else:
            message = "price"
    elif point.intent == comment_analytics.HOW_TO_BUY:
        message = "how_to_buy"
    elif point.intent == comment_analytics.ARRIVAL:
        message = "arrival"
    elif point.intent == comment_analytics.STOCK:
        args["left"] = facts.get("left_under_cap")
        if facts.get("presale"):
            # A pre-order's units come from the supplier: the shelf is beside the point.
            message = "stock_presale"
        else:
            message = "stock"
            args["stock"] = facts.get("stock") if facts.get("stock") is not None else "—"
    else:
        message = "selling_point" if selling_point else "name"
        if selling_point:
            args["point"] = selling_point
        remaining = int(facts.get("remaining_to_threshold") or 0)
    return {
        "product_id": point.product_id,
        "product_name": name,
        "intent": point.intent,
        "count": point.count,
        "message": message,
        "args": args,
        "remaining": remaining,
    }


def _offer_row(offer: GroupBuyOffer, figures: JoinedFigures) -> dict[str, Any]:
    progress = offer.threshold_progress
    return {
        "id": offer.pk,
        "product_id": offer.product_id,
        "product_name": offer.product.name,
        "price": str(offer.price),
        "status": offer.status,
        # A pre-order's formed joins wait for the supplier's goods; a stock offer's are ready
        # for pickup as it forms: the page words a formed offer by this.
        "presale": offer.presale,
        "threshold_kind": offer.threshold_kind,
        "threshold": offer.threshold,
        "progress": progress,
        "progress_percent": _percent(progress, offer.threshold),
        "reached": offer.at_threshold,
        "cap": offer.cap,
        "units_joined": offer.units_joined,
        "participants": offer.participants,
        "cap_percent": _percent(offer.units_joined, offer.cap),
        "orders": figures.orders,
        "units": figures.units,
        "deadline": offer.deadline.isoformat(),
    }


def broadcast_snapshot(*, broadcast: Broadcast, version: int = 0) -> dict[str, Any]:
    """Everything the live page shows for one broadcast, at `version` (the caller's change
    counter, see services/live.py). Six queries whatever the number of offers, joins and
    comments: offers with products, join figures, stock, knowledge-base selling points,
    comments, and (when not loaded) the store. A product's selling points come from the
    knowledge base when a published article linked to it has some (docs/knowledge-base.md),
    else from the product."""
    every_offer = list(
        GroupBuyOffer.objects.filter(broadcast=broadcast).select_related("product").order_by("pk")
    )
    # A withdrawn offer had no joins and was taken back by the owner: not a live offer (a 0 %
    # ring marked cancelled among them only misleads); the page counts them in one line.
    offers = [offer for offer in every_offer if offer.status != GroupBuyOffer.Status.CANCELLED]
    withdrawn = len(every_offer) - len(offers)
    figures = offers_joined(offers)
    stock = dict(
        StockLevel.objects.filter(
            store_id=broadcast.store_id, product_id__in=[offer.product_id for offer in offers]
        ).values_list("product_id", "on_hand")
    )
    knowledge_points = product_selling_points(product_ids=[offer.product_id for offer in offers])
    # An erased member's comments are kept for the counts but their words are gone
    # ("[erased]"): neither listed nor read for keywords and talking points.
    comments = list(
        BroadcastComment.objects.filter(broadcast=broadcast)
        .exclude(member__is_erased=True)
        .order_by("-created_at", "-pk")
        .values("pk", "author", "text", "created_at")[:ANALYSED_COMMENTS]
    )

    offer_rows = [_offer_row(offer, figures[offer.pk]) for offer in offers]
    viewers, peak_viewers = _viewers(broadcast)
    units_by_product: dict[int, dict[str, Any]] = {}
    joined = JoinedFigures()
    for offer, row in zip(offers, offer_rows, strict=True):
        joined.add(figures[offer.pk])
        entry = units_by_product.setdefault(
            offer.product_id,
            {"product_id": offer.product_id, "name": offer.product.name, "units": 0},
        )
        entry["units"] += row["units"]

    # A member's phone number typed into a comment ("2 份 13812345678") is masked before it
    # reaches the screen, the keywords or the talking points, as phones are on every portal page.
    texts = [phones_masked_in(comment["text"]) for comment in comments]
    facts = [
        comment_analytics.ProductFacts(
            product_id=offer.product_id,
            name=offer.product.name,
            selling_points=tuple(
                knowledge_points.get(offer.product_id)
                or [
                    line.strip()
                    for line in offer.product.selling_points.splitlines()
                    if line.strip()
                ]
            ),
            price=offer.price,
            regular_price=offer.product.price,
            stock=stock.get(offer.product_id),
            presale=offer.presale,
            units_joined=offer.units_joined,
            threshold=offer.threshold,
            threshold_counts_units=row["threshold_kind"] == GroupBuyOffer.ThresholdKind.UNITS,
            progress=row["progress"],
            cap=offer.cap,
        )
        for offer, row in zip(offers, offer_rows, strict=True)
    ]
    other_names: list[str] = []
    offered = {offer.product_id for offer in offers}
    if len(offered) == 1:
        # With one product offered, a question naming none is about it unless it names
        # another product of the catalogue.
        other_names = list(
            Product.objects.filter(is_active=True)
            .exclude(pk__in=offered)
            .values_list("name", flat=True)
        )
    points = comment_analytics.talking_points(
        texts, facts, limit=TALKING_POINTS, other_names=other_names
    )
    keywords = comment_analytics.keyword_summary(
        texts, product_names=[offer.product.name for offer in offers], top=KEYWORDS
    )
    return {
        "version": version,
        "broadcast_id": broadcast.pk,
        "store_id": broadcast.store_id,
        "store_name": broadcast.store.name,
        "status": broadcast.status,
        "started_at": broadcast.started_at.isoformat() if broadcast.started_at else None,
        "orders": joined.orders,
        "units": joined.units,
        "joined_value": str(joined.value.quantize(Decimal("0.01"))),
        "joined_value_reached": str(joined.value_reached.quantize(Decimal("0.01"))),
        "viewers": viewers,
        "peak_viewers": peak_viewers,
        **_viewers_report(broadcast, timezone.now()),
        "viewers_stale_after": viewers_stale_after(),
        "units_by_product": sorted(
            units_by_product.values(), key=lambda entry: (-entry["units"], entry["product_id"])
        ),
        "offers": offer_rows,
        "withdrawn": withdrawn,
        "comments": [
            {
                "id": comment["pk"],
                "author": phones_masked_in(comment["author"]),
                "text": text,
                "at": timezone.localtime(comment["created_at"]).strftime("%H:%M:%S"),
            }
            for comment, text in zip(comments[:LATEST_COMMENTS], texts, strict=False)
        ],
        "keywords": [{"word": word, "count": count} for word, count in keywords],
        "talking_points": [_talking_point(point) for point in points],
    }


def live_broadcasts(*, stores: QuerySet[Store] | None) -> QuerySet[Broadcast]:
    """The live broadcasts at these stores (every store when None), store loaded."""
    broadcasts = Broadcast.objects.filter(status=Broadcast.Status.LIVE)
    if stores is not None:
        broadcasts = broadcasts.filter(store__in=stores)
    return broadcasts.select_related("store").order_by("started_at", "pk")


def live_overview(*, stores: QuerySet[Store] | None, version: int = 0) -> dict[str, Any]:
    """Headline figures of every live broadcast at these stores (every store when None): orders,
    joined value (and its part at threshold), units, reported viewers (None before a report),
    offers at their threshold of offered, and the totals (viewers: the sum of the broadcasts
    that reported, None when none has). A broadcast whose report is stale keeps its count in
    its row, flagged, but is left out of the total (`viewers_stale` in the totals counts them).
    Three queries whatever the number of broadcasts."""
    now = timezone.now()
    broadcasts = list(live_broadcasts(stores=stores))
    ids = [broadcast.pk for broadcast in broadcasts]
    offers = list(
        GroupBuyOffer.objects.filter(broadcast_id__in=ids)
        .exclude(status=GroupBuyOffer.Status.CANCELLED)  # withdrawn: never offered, in effect
        .order_by("pk")
    )
    figures = offers_joined(offers)
    per_broadcast: dict[int, JoinedFigures] = defaultdict(JoinedFigures)
    for offer in offers:
        per_broadcast[offer.broadcast_id].add(figures[offer.pk])
    rows = []
    for broadcast in broadcasts:
        row = per_broadcast[broadcast.pk]
        viewers, _peak = _viewers(broadcast)
        rows.append(
            {
                "broadcast_id": broadcast.pk,
                "store_id": broadcast.store_id,
                "store_name": broadcast.store.name,
                "started_at": broadcast.started_at.isoformat() if broadcast.started_at else None,
                "orders": row.orders,
                "units": row.units,
                "joined_value": str(row.value.quantize(Decimal("0.01"))),
                "joined_value_reached": str(row.value_reached.quantize(Decimal("0.01"))),
                "viewers": viewers,
                **_viewers_report(broadcast, now),
                "offers": row.offers,
                "offers_reached": row.offers_reached,
            }
        )
    total_value = sum((per_broadcast[pk].value for pk in ids), Decimal("0.00"))
    total_reached = sum((per_broadcast[pk].value_reached for pk in ids), Decimal("0.00"))
    reported = [
        row["viewers"] for row in rows if row["viewers"] is not None and not row["viewers_stale"]
    ]
    return {
        "version": version,
        "broadcasts": rows,
        "totals": {
            "broadcasts": len(rows),
            "orders": sum(row["orders"] for row in rows),
            "joined_value": str(total_value.quantize(Decimal("0.01"))),
            "joined_value_reached": str(total_reached.quantize(Decimal("0.01"))),
            "viewers": sum(reported) if reported else None,
            "viewers_stale": sum(1 for row in rows if row["viewers_stale"]),
        },
        "viewers_stale_after": viewers_stale_after(),
    }
