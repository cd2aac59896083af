"""The small hand-computed world of the KPI tests (this module holds no tests)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.stores.models import Order
from apps.stores.services.orders import LineInput, order_create
from tests.factories import MemberFactory, ProductFactory, RegionFactory, StoreFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
JULY = dt.date(2026, 7, 1)
AFTER_JULY = dt.datetime(2026, 8, 15, 12, tzinfo=SHANGHAI)


def at(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def _order(store, placed_at, amount: str, *, member=None, product=None, status=None) -> Order:
    order, _created = order_create(
        store=store,
        channel=Order.Channel.POS,
        idempotency_key=uuid.uuid4().hex,
        lines=[LineInput(product=product, quantity=1, unit_price=Decimal(amount))],
        member=member,
        status=status or Order.Status.PAID,
        placed_at=placed_at,
        take_stock=False,
    )
    return order


def build_world() -> dict:
    """Region R1: stores A and B; region R2: store C. Product P: price 10, cost 6; product Q:
    price 10, cost unknown (0)."""
    r1, r2 = RegionFactory(code="R1"), RegionFactory(code="R2")
    a = StoreFactory(code="A", region=r1)
    b = StoreFactory(code="B", region=r1)
    c = StoreFactory(code="C", region=r2)
    p = ProductFactory(price=Decimal("10.00"), cost=Decimal("6.00"))
    q = ProductFactory(price=Decimal("10.00"), cost=Decimal("0.00"))
    m1, m2, m3, m4, m5 = (MemberFactory() for _ in range(5))
    # June: A sells to m1, m2, m3; B to m1.
    for member in (m1, m2, m3):
        _order(a, at(6, 10), "10.00", member=member, product=p)
    _order(b, at(6, 11), "10.00", member=m1, product=p)
    # July. A: m1 twice (10, 20), m2 (30), an anonymous sale (40), m4 (10) → GMV 110.
    _order(a, at(7, 1, 0), "10.00", member=m1, product=p)  # first local hour of July
    _order(a, at(7, 20), "20.00", member=m1, product=p)
    _order(a, at(7, 21), "30.00", member=m2, product=p)
    _order(a, at(7, 22), "40.00", product=p)
    _order(a, at(7, 31, 23), "10.00", member=m4, product=p)
    _order(a, at(7, 23), "500.00", member=m2, product=p, status=Order.Status.CANCELLED)
    # B: m3 (who bought at A in June) → GMV 50.  C: m5 with product Q → GMV 100.
    _order(b, at(7, 5), "50.00", member=m3, product=p)
    _order(c, at(7, 6), "100.00", member=m5, product=q)
    _order(c, at(8, 1, 0), "999.00", member=m5, product=q)  # August: not July
    return {"a": a, "b": b, "c": c, "r1": r1, "r2": r2, "p": p, "q": q, "members": (m1, m2, m3)}
