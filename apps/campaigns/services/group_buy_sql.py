"""A group-buy join's writes as ONE PostgreSQL statement (data-modifying CTEs): the hot path of
`group_buy_join` on PostgreSQL. The ORM version in `group_buys._join_write_orm` (used on SQLite)
makes the same rows; tests/campaigns/test_group_buy_sql.py runs one join sequence through both
and compares every row.

Why: a join through the ORM and the order service is about fifteen round trips and a dozen
model saves, all of it CPU on the client, with the hot rows locked across those round trips. A
burst of joins on one hot offer is bound by that. Here the database does the whole join in one
round trip, and outside a transaction the statement commits by itself: the stock and offer rows
are locked only while it runs.

The statement, in the order PostgreSQL runs it (each step reads the one before it):

1. `existing`: the join already made with this key, if any (then nothing else happens);
2. `stock_locked`: the stock row, locked (`FOR UPDATE`) when it holds `on_hand >= q` — the stock
   row before the offer row, the order the ORM join and the settlement take them in;
3. `offer`: the offer's conditional UPDATE of its counters (open, before the deadline,
   `units_joined <= cap - q`), only when the stock row was locked;
4. `stock`: the ledger's UPDATE of on-hand, only when the offer was updated (the row is locked
   and was checked: it cannot fail; `on_hand >= 0` is a database constraint besides);
5. the order (pending pickup order of the group-buy channel: no pickup code until the offer
   forms), its one line, the ledger's `sale` movement and the join row.

A pre-order (`presale`: 以销定产, the supplier brings the goods after the group forms) skips
steps 2 and 4 and the movement: the offer's UPDATE alone decides, and the goods leave stock
when the order is handed to pickup.

All or nothing without a transaction around it: the only writes that can be refused (the offer
UPDATE) come before any other write, and any error (a same-key order or join committed
meanwhile: IntegrityError) aborts the whole statement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from django.db import connection

from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer
from apps.stores.models import Order, OrderLine, StockLevel, StockMovement


@dataclass(frozen=True)
class JoinRows:
    """What the statement did. `existing_join_id`: the key was used (nothing written);
    `stock_available` False: on-hand was short (nothing written); `join_id` None otherwise:
    the offer refused (closed or cap; nothing written)."""

    existing_join_id: int | None
    stock_available: bool
    join_id: int | None
    order_id: int | None


# `reason` of the movement is left to its database default (""), as the ORM does.
_TEMPLATE = """
WITH existing AS (
    SELECT id FROM {join} WHERE offer_id = %(offer_id)s AND idempotency_key = %(idempotency_key)s
), stock_locked AS (
    SELECT id FROM {stock}
     WHERE NOT %(presale)s
       AND store_id = %(store_id)s AND product_id = %(product_id)s AND on_hand >= %(quantity)s
       AND NOT EXISTS (SELECT FROM existing)
       FOR UPDATE
), offer AS (
    UPDATE {offer}
       SET units_joined = units_joined + %(quantity)s, participants = participants + 1
     WHERE id = %(offer_id)s AND status = %(open)s AND deadline > %(now)s
       AND units_joined <= cap - %(quantity)s
       AND NOT EXISTS (SELECT FROM existing)
       AND (%(presale)s OR EXISTS (SELECT FROM stock_locked))
    RETURNING id
), stock AS (
    UPDATE {stock}
       SET on_hand = on_hand - %(quantity)s, updated_at = %(clock)s
     WHERE id IN (SELECT id FROM stock_locked) AND EXISTS (SELECT FROM offer)
    RETURNING id
), new_order AS (
    INSERT INTO {order} (store_id, member_id, channel, fulfilment, status, idempotency_key,
                         reference, total, discount_total, placed_at, created_at)
    SELECT %(store_id)s, %(member_id)s, %(channel)s, %(fulfilment)s, %(order_status)s,
           %(order_key)s, '', %(line_total)s, %(zero)s, %(now)s, %(clock)s
      FROM offer
     WHERE %(presale)s OR EXISTS (SELECT FROM stock)
    RETURNING id
), line AS (
    INSERT INTO {line} (order_id, product_id, quantity, unit_price, discount, line_total)
    SELECT id, %(product_id)s, %(quantity)s, %(unit_price)s, %(zero)s, %(line_total)s
      FROM new_order
), movement AS (
    INSERT INTO {movement} (store_id, product_id, kind, quantity, order_id, note,
                            created_by_id, created_at)
    SELECT %(store_id)s, %(product_id)s, %(sale)s, -%(quantity)s, id, '', NULL, %(now)s
      FROM new_order
     WHERE NOT %(presale)s
), joined AS (
    INSERT INTO {join} (offer_id, member_id, display_name, quantity, source, status,
                        idempotency_key, order_id, created_at)
    SELECT %(offer_id)s, %(member_id)s, %(display_name)s, %(quantity)s, %(source)s,
           %(join_status)s, %(idempotency_key)s, id, %(now)s
      FROM new_order
    RETURNING id, order_id
)
SELECT (SELECT id FROM existing), %(presale)s OR EXISTS (SELECT FROM stock_locked),
       (SELECT id FROM joined), (SELECT order_id FROM joined)
"""


@cache
def _statement() -> str:
    quote = connection.ops.quote_name
    tables = {
        "stock": quote(StockLevel._meta.db_table),
        "offer": quote(GroupBuyOffer._meta.db_table),
        "order": quote(Order._meta.db_table),
        "line": quote(OrderLine._meta.db_table),
        "movement": quote(StockMovement._meta.db_table),
        "join": quote(GroupBuyJoin._meta.db_table),
    }
    # Table names only: every value is bound as a parameter.
    return _TEMPLATE.format(**tables)  # noqa: S608


def group_buy_join_rows_insert(
    *,
    offer_id: int,
    store_id: int,
    product_id: int,
    member_id: int | None,
    quantity: int,
    presale: bool,
    unit_price: Decimal,
    line_total: Decimal,
    order_key: str,
    idempotency_key: str,
    display_name: str,
    source: str,
    now: dt.datetime,
    clock: dt.datetime,
) -> JoinRows:
    """Write one join (offer counters, stock, order, line, movement, join) in one statement
    on the default PostgreSQL connection, all or nothing (see the module docstring). The
    arguments are already validated (quantity ≥ 1, key, name ≤ 60). A `presale` join (the
    offer is a pre-order, 以销定产) neither locks nor takes stock and books no movement.

    `now` is the join's time (deadline check, order placed, movement and join times); `clock`
    the wall clock for the rows' bookkeeping stamps (order created, stock level updated).
    Raises IntegrityError when a concurrent join with the same key committed first."""
    params = {
        "offer_id": offer_id,
        "store_id": store_id,
        "product_id": product_id,
        "member_id": member_id,
        "quantity": quantity,
        "presale": presale,
        "unit_price": unit_price,
        "line_total": line_total,
        "zero": Decimal("0.00"),
        "order_key": order_key,
        "idempotency_key": idempotency_key,
        "display_name": display_name,
        "source": source,
        "now": now,
        "clock": clock,
        "open": GroupBuyOffer.Status.OPEN.value,
        "channel": Order.Channel.GROUP_BUY.value,
        "fulfilment": Order.Fulfilment.PICKUP.value,
        "order_status": Order.Status.PENDING.value,
        "sale": StockMovement.Kind.SALE.value,
        "join_status": GroupBuyJoin.Status.JOINED.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        existing_join_id, stock_available, join_id, order_id = cursor.fetchone()
    return JoinRows(
        existing_join_id=existing_join_id,
        stock_available=bool(stock_available),
        join_id=join_id,
        order_id=order_id,
    )
