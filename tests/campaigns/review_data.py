"""Planted data for the review tests (tracking, reviews, files, pages): orders without the
order service (no stock needed), joined to group-buy offers where the test says so."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer
from apps.stores.models import Order, OrderLine

SHANGHAI = ZoneInfo("Asia/Shanghai")
_keys = itertools.count(1)


def at(day: dt.date, hour: int = 20) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def order_for(
    store,
    *,
    member=None,
    lines=(),
    placed_at: dt.datetime | None = None,
    channel: str = Order.Channel.POS,
    status: str = Order.Status.COMPLETED,
) -> Order:
    """An order with `lines` = [(product, quantity, unit_price)], total = Σ quantity × price."""
    total = sum((Decimal(price) * quantity for _, quantity, price in lines), Decimal("0.00"))
    order = Order.objects.create(
        store=store,
        member=member,
        channel=channel,
        status=status,
        idempotency_key=f"test-{next(_keys)}",
        total=total,
        placed_at=placed_at or at(dt.date(2026, 6, 1)),
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            quantity=quantity,
            unit_price=Decimal(price),
            line_total=Decimal(price) * quantity,
        )
        for product, quantity, price in lines
    )
    return order


def group_buy_order(offer: GroupBuyOffer, *, member, quantity: int, **kwargs) -> Order:
    """A group-buy order for `offer` and the join that made it."""
    order = order_for(
        offer.broadcast.store,
        member=member,
        lines=[(offer.product, quantity, offer.price)],
        channel=Order.Channel.GROUP_BUY,
        **kwargs,
    )
    GroupBuyJoin.objects.create(
        offer=offer,
        member=member,
        quantity=quantity,
        source=GroupBuyJoin.Source.API,
        idempotency_key=f"join-{order.idempotency_key}",
        order=order,
        status=GroupBuyJoin.Status.CONFIRMED,
    )
    return order
