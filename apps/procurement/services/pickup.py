"""Handing member orders over: marking them ready (the member is told), verifying pickup codes
at the counter (one or a batch), the same-city delivery status, and cancelling before pickup
(docs/pickup.md).

Codes themselves are opened by `apps.stores.services.fulfilment.fulfilments_open`. These
services live in procurement because they notify members and adjust supply.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext

from apps.campaigns.models import GroupBuyJoin
from apps.campaigns.notifications.models import Notification
from apps.campaigns.notifications.services import (
    DISPATCH_TASK_NAME,
    NotificationDraft,
    notifications_enqueue,
)
from apps.customers.models import MemberIdentity
from apps.procurement.models import PurchaseOrderSource
from apps.procurement.selectors.receiving import order_line_units_arrived
from apps.procurement.services.aftersales import order_receiving_cases_withdraw
from apps.procurement.services.consolidation import (
    consolidation_lock_shared,
    order_cancelled_for_supply,
    order_purchase_order_ids,
    purchase_orders_lock,
)
from apps.stores.models import Order, OrderFulfilment, OrderLine, StockMovement, Store
from apps.stores.services.fulfilment import fulfilments_open
from apps.stores.services.stock import order_stock_return, stock_move
from linli.celery import app as celery_app
from linli.enqueue import enqueue_on_commit

if TYPE_CHECKING:
    from apps.stores.access import UserLike

Status = OrderFulfilment.Status
OPEN_STATUSES = (Status.WAITING, Status.READY, Status.OUT_FOR_DELIVERY)
NOT_WAITING_STATUSES = [status for status in Status.values if status != Status.WAITING]
# Codes typed or scanned in one go: at most this many are looked at.
MAX_BATCH = 200
CODE_SEPARATORS = re.compile(r"[\s,;，；、]+")
CODE_PATTERN = re.compile(r"^[0-9]{6}$")

# Outcomes of one verified code.
COLLECTED = "collected"
WRONG_CODE = "wrong_code"  # also what the counter sees for another store's code
OTHER_STORE = "other_store"  # internal only: never shown (it would reveal that code exists)
ALREADY_COLLECTED = "already_collected"
NOT_READY = "not_ready"
CANCELLED = "cancelled"

# Delivery: allowed moves of a delivery order's fulfilment.
DELIVERY_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.READY: (Status.OUT_FOR_DELIVERY,),
    Status.OUT_FOR_DELIVERY: (Status.DELIVERED, Status.FAILED),
    Status.FAILED: (Status.OUT_FOR_DELIVERY,),
}
# Delivery statuses the member hears about (once each).
DELIVERY_NOTIFIED = (Status.OUT_FOR_DELIVERY, Status.DELIVERED)
NOT_DELIVERED_NOTIFICATION_KIND = "order_not_delivered"
# A cancellation reads its order's purchase orders, locks them, then the order; this many
# times it starts again when a consolidation run linked the order to another purchase order
# in between (`_order_locked_after_supply`).
SUPPLY_LOCK_ATTEMPTS = 3


class _SupplyMoved(Exception):
    """The order's purchase orders changed between their read and the order's lock."""


def _orders_lock(*, store_id: int, order_ids: list[int]) -> list[int]:
    """Lock these orders of this store (`SELECT … FOR UPDATE`, primary-key order): an
    order's row before its fulfilment's and before any stock row (docs/purchasing.md, "Lock
    order"). Returns the ids locked, in that order."""
    return list(
        Order.objects.select_for_update(of=("self",))
        .filter(pk__in=order_ids, store_id=store_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


class PickupRefused(ValidationError):
    """A pickup action refused; `code` says why (not_found, not_delivery, transition,
    not_cancellable)."""


@dataclass(frozen=True)
class PickupResult:
    """What happened to one code at the counter. `outcome` is one of COLLECTED, WRONG_CODE,
    ALREADY_COLLECTED, NOT_READY, CANCELLED (OTHER_STORE is reported as WRONG_CODE: see
    `shown_outcome`). `order_id` / `member_id` are set only for COLLECTED."""

    code: str
    outcome: str
    order_id: int | None = None
    member_id: int | None = None

    @property
    def shown_outcome(self) -> str:
        return WRONG_CODE if self.outcome == OTHER_STORE else self.outcome


def pickup_codes_parse(*, text: str) -> list[str]:
    """The codes in what was typed or scanned (one per line, or separated by spaces, commas or
    semicolons), in order, each once; at most MAX_BATCH."""
    codes: list[str] = []
    for token in CODE_SEPARATORS.split(text.strip()):
        if token and token not in codes:
            codes.append(token)
        if len(codes) >= MAX_BATCH:
            break
    return codes


def member_channels(member_ids: set[int]) -> dict[int, str]:
    """WeChat for members with a WeChat identity, SMS otherwise (as campaigns do): the
    channel of every message to a member about their order."""
    on_wechat = set(
        MemberIdentity.objects.filter(
            member_id__in=member_ids, kind=MemberIdentity.Kind.WECHAT
        ).values_list("member_id", flat=True)
    )
    return {
        member_id: Notification.Channel.WECHAT
        if member_id in on_wechat
        else Notification.Channel.SMS
        for member_id in member_ids
    }


def members_notify(*, drafts: list[NotificationDraft]) -> int:
    """Enqueue these member notifications and, when any is new, the dispatcher on commit
    (an SMS / WeChat row is only sent by the dispatcher)."""
    created = notifications_enqueue(drafts=drafts)
    if created:
        enqueue_on_commit(celery_app.signature(DISPATCH_TASK_NAME))
    return created


def fulfilments_ready(
    *,
    store_id: int,
    order_ids: list[int],
    by: UserLike | None,
    now: dt.datetime | None = None,
) -> int:
    """Mark these orders of this store ready: fulfilment waiting → ready, the order PAID →
    READY, and one notification per member order (dedupe key `order-ready:<order id>`, kind
    `order_ready`, SMS or WeChat) with the pickup code and the store name (delivery orders:
    "being prepared for delivery"). Orders without a fulfilment yet get one first
    (`fulfilments_open`). Returns how many fulfilments became ready.

    A pre-order (以销定产, `GroupBuyOffer.presale`) took no stock when it was joined, nor did
    a mini-program order when it was placed: its goods leave the store's stock now, as a
    `sale` movement of the order (`_presale_stock_take`); refused with `InsufficientStock`
    (nothing written) when the store has too few.

    Idempotent: only waiting rows change (the orders, then their fulfilments, locked in
    primary-key order, then a conditional UPDATE); calling again, or for another store's
    order ids, changes nothing and notifies nobody twice. `by` is recorded on the stock
    movements of pre-orders; `now` (default the current time) is the ready time (group-buy
    settlement passes its own moment).
    """
    if not order_ids:
        return 0
    with transaction.atomic():
        # Only orders whose fulfilment is waiting (or not opened yet) can change: those are
        # locked, before their fulfilments; one ready or collected is left to the counter.
        own = list(
            Order.objects.select_for_update(of=("self",))
            .filter(pk__in=order_ids, store_id=store_id)
            .exclude(fulfilment_record__status__in=NOT_WAITING_STATUSES)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        fulfilments_open(order_ids=own)
        waiting = list(
            OrderFulfilment.objects.select_for_update()
            .filter(order_id__in=own, store_id=store_id, status=Status.WAITING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not waiting:
            return 0
        now = now or timezone.now()
        changed = OrderFulfilment.objects.filter(pk__in=waiting, status=Status.WAITING).update(
            status=Status.READY, ready_at=now, updated_at=now
        )
        assert changed == len(waiting), "locked waiting rows changed under the lock"  # noqa: S101
        Order.objects.filter(pk__in=waiting, status=Order.Status.PAID).update(
            status=Order.Status.READY
        )
        _presale_stock_take(store_id=store_id, order_ids=waiting, by=by, at=now)
        rows = list(
            OrderFulfilment.objects.filter(pk__in=waiting, order__member__isnull=False)
            .filter(order__member__is_erased=False)
            .values_list(
                "pk", "pickup_code", "order__member_id", "order__fulfilment", "store__name"
            )
        )
        channels = member_channels({row[2] for row in rows})
        drafts = []
        with translation.override(settings.LANGUAGE_CODE):
            for order_id, code, member_id, fulfilment, store_name in rows:
                if fulfilment == Order.Fulfilment.DELIVERY:
                    title = gettext("Your order is being prepared for delivery")
                    body = gettext(
                        "Your order %(order)d at %(store)s is being prepared for same-city "
                        "delivery. Order code: %(code)s."
                    ) % {"order": order_id, "store": store_name, "code": code}
                else:
                    title = gettext("Your order is ready for pickup")
                    body = gettext(
                        "Your order %(order)d is ready for pickup at %(store)s. Show the "
                        "pickup code %(code)s at the counter."
                    ) % {"order": order_id, "store": store_name, "code": code}
                drafts.append(
                    NotificationDraft(
                        dedupe_key=f"order-ready:{order_id}",
                        kind="order_ready",
                        title=title,
                        body=body,
                        channel=channels[member_id],
                        store_id=store_id,
                        member_id=member_id,
                        payload={"order_id": order_id},
                    )
                )
        members_notify(drafts=drafts)
        OrderFulfilment.objects.filter(pk__in=[row[0] for row in rows]).update(
            ready_notified_at=now
        )
    return changed


def _presale_stock_take(
    *, store_id: int, order_ids: list[int], by: UserLike | None, at: dt.datetime
) -> None:
    """Take from stock the goods of the pre-orders among these orders (a presale offer's
    joins, and mini-program orders: both are placed without taking stock, 以销定产), now
    that they are handed to pickup: per order line, its quantity less the units it came
    short at receiving (its live purchase-order source), less what the order already holds
    of that product (`order_stock_taken`: a second call takes nothing). The goods came in
    through the purchase order's receipt, or the owner hands them over from the shelf. One
    `sale` movement per line, in order then product order; `InsufficientStock` when the
    store has too few (the caller's transaction writes nothing then)."""
    presale_orders = set(
        GroupBuyJoin.objects.filter(order_id__in=order_ids, offer__presale=True).values_list(
            "order_id", flat=True
        )
    ) | set(
        Order.objects.filter(pk__in=order_ids, channel=Order.Channel.MINI_PROGRAM).values_list(
            "pk", flat=True
        )
    )
    if not presale_orders:
        return
    held = {
        (row["order_id"], row["product_id"]): -row["net"]
        for row in StockMovement.objects.filter(
            order_id__in=presale_orders,
            kind__in=(StockMovement.Kind.SALE, StockMovement.Kind.RETURN),
        )
        .values("order_id", "product_id")
        .annotate(net=Sum("quantity"))
    }
    lines = (
        OrderLine.objects.filter(order_id__in=presale_orders)
        .select_related("order", "product", "purchase_source")
        .order_by("order_id", "product_id", "pk")
    )
    store = Store.objects.get(pk=store_id)
    user = by if by is not None and by.is_authenticated else None
    for line in lines:
        units = order_line_units_arrived(line) - held.get((line.order_id, line.product_id), 0)
        if units <= 0:
            continue
        held[(line.order_id, line.product_id)] = (
            held.get((line.order_id, line.product_id), 0) + units
        )
        stock_move(
            store=store,
            product=line.product,
            kind=StockMovement.Kind.SALE,
            quantity=-units,
            order=line.order,
            note=gettext("Pre-order handed to pickup: order %(order)d") % {"order": line.order_id},
            by=user,
            at=at,
        )


def orders_not_delivered_cancel(
    *, store_id: int, order_ids: list[int], by: UserLike | None
) -> list[int]:
    """Cancel these member orders of this store as not delivered: every unit they were
    supplied came short at receiving, so there is nothing to hand over (store receiving
    decides which; see `receiving.receipt_record`). Returns the ids cancelled.

    Only orders still waiting for their goods change: the order PAID → CANCELLED, its
    fulfilment (if one was opened) waiting → cancelled, so its code is free and verifies as
    cancelled at the counter. An order already ready (marked ready from the shelf by hand),
    collected or cancelled is left alone. Stock: the order gets back what it took and has not
    got back (`order_stock_return`, per the ledger; a pre-order took nothing). Supply is not
    adjusted: the purchase orders were received, and the short units are on their lines. The
    member (not guests, not erased members) gets one notification, kind
    `order_not_delivered`, dedupe key `order-not-delivered:<order id>`, on SMS or WeChat
    (`member_channels`), in the project's language (saying that what came was damaged in
    delivery when some of the order's units came damaged, not that nothing came); the
    dispatcher is enqueued on commit.

    Orders, then fulfilments, locked in primary-key order (as `order_cancel_before_pickup`);
    conditional UPDATEs; idempotent (a second call finds nothing waiting and writes nothing).
    """
    if not order_ids:
        return []
    with transaction.atomic():
        orders = list(
            Order.objects.select_for_update(of=("self",))
            .select_related("member", "store")
            .filter(pk__in=order_ids, store_id=store_id, status=Order.Status.PAID)
            .order_by("pk")
        )
        open_rows = dict(
            OrderFulfilment.objects.select_for_update()
            .filter(order_id__in=[order.pk for order in orders])
            .order_by("pk")
            .values_list("pk", "status")
        )
        # A fulfilment no longer waiting (marked ready by hand) means the store has the goods.
        orders = [
            order for order in orders if open_rows.get(order.pk, Status.WAITING) == Status.WAITING
        ]
        if not orders:
            return []
        ids = [order.pk for order in orders]
        now = timezone.now()
        reason = gettext("Not delivered: none of its goods arrived.")
        changed = Order.objects.filter(pk__in=ids, status=Order.Status.PAID).update(
            status=Order.Status.CANCELLED
        )
        assert changed == len(ids), "locked orders changed under the lock"  # noqa: S101
        OrderFulfilment.objects.filter(pk__in=ids, status=Status.WAITING).update(
            status=Status.CANCELLED, delivery_note=reason[:200], updated_at=now
        )
        user = by if by is not None and by.is_authenticated else None
        for order in orders:
            order.status = Order.Status.CANCELLED
            note = gettext("Not delivered: order %(order)d") % {"order": order.pk}
            order_stock_return(order=order, store=order.store, note=note, by=user, at=now)
        members = {
            order.member_id
            for order in orders
            if order.member_id is not None and not order.member.is_erased
        }
        channels = member_channels(members)
        # Some of the goods came but damaged: the member is not told that nothing came.
        damaged = set(
            PurchaseOrderSource.objects.filter(
                order_line__order_id__in=ids, cancelled_at__isnull=True, damaged_quantity__gt=0
            ).values_list("order_line__order_id", flat=True)
        )
        drafts = []
        with translation.override(settings.LANGUAGE_CODE):
            for order in orders:
                if order.member_id not in members:
                    continue
                if order.pk in damaged:
                    body = gettext(
                        "None of the goods of your order %(order)d at %(store)s arrived in "
                        "good condition: what was not missing was damaged in delivery. The "
                        "order has been cancelled: you will not be charged for it, and "
                        "anything already paid will be refunded."
                    )
                else:
                    body = gettext(
                        "None of the goods of your order %(order)d at %(store)s arrived. "
                        "The order has been cancelled: you will not be charged for it, "
                        "and anything already paid will be refunded."
                    )
                drafts.append(
                    NotificationDraft(
                        dedupe_key=f"order-not-delivered:{order.pk}",
                        kind=NOT_DELIVERED_NOTIFICATION_KIND,
                        title=gettext("Your order could not be delivered"),
                        body=body % {"order": order.pk, "store": order.store.name},
                        channel=channels[order.member_id],
                        store_id=store_id,
                        member_id=order.member_id,
                        payload={"order_id": order.pk},
                    )
                )
        members_notify(drafts=drafts)
    return ids


def pickup_verify(*, store: Store, codes: list[str], by: UserLike) -> list[PickupResult]:
    """Hand over the orders whose pickup codes these are, one result per distinct code (in
    the order given; duplicates are verified once).

    One transaction. Each code is handed over with a conditional UPDATE (fulfilment ready →
    collected with completed_at / completed_by; the order READY → COMPLETED), so two counters
    verifying the same code concurrently hand it over once: the second sees
    ALREADY_COLLECTED. A code that is no open or collected order of this store is WRONG_CODE;
    another store's code is OTHER_STORE internally and shown as WRONG_CODE (never reveal
    another store's orders). Waiting (goods not received) or out-for-delivery → NOT_READY.
    """
    distinct: list[str] = []
    for code in codes:
        code = code.strip()
        if code and code not in distinct:
            distinct.append(code)
    valid = [code for code in distinct if CODE_PATTERN.match(code)]
    results: list[PickupResult] = []
    with transaction.atomic():
        mine: dict[str, list[tuple[int, str, int | None]]] = {}
        for order_id, code, status, member_id in (
            OrderFulfilment.objects.filter(store=store, pickup_code__in=valid)
            .order_by("-updated_at", "-pk")
            .values_list("pk", "pickup_code", "status", "order__member_id")
        ):
            mine.setdefault(code, []).append((order_id, status, member_id))
        elsewhere = set(
            OrderFulfilment.objects.filter(pickup_code__in=valid, status__in=OPEN_STATUSES)
            .exclude(store=store)
            .values_list("pickup_code", flat=True)
        )
        # The orders to hand over, locked in primary-key order before their fulfilments (as
        # every writer of both takes them), whatever order the codes came in.
        _orders_lock(
            store_id=store.pk,
            order_ids=[
                order_id
                for rows in mine.values()
                for order_id, status, _member_id in rows
                if status == Status.READY
            ],
        )
        now = timezone.now()
        for code in distinct:
            rows = mine.get(code, [])
            # An open row holds the code now; closed rows reuse it only in the past.
            current = next((row for row in rows if row[1] in OPEN_STATUSES), None)
            if current is None and rows:
                current = rows[0]
            if current is None:
                outcome = OTHER_STORE if code in elsewhere else WRONG_CODE
                results.append(PickupResult(code=code, outcome=outcome))
                continue
            order_id, status, member_id = current
            if status == Status.READY:
                if _hand_over(store=store, order_id=order_id, by=by, now=now):
                    results.append(
                        PickupResult(
                            code=code, outcome=COLLECTED, order_id=order_id, member_id=member_id
                        )
                    )
                    continue
                status = (
                    OrderFulfilment.objects.filter(pk=order_id)
                    .values_list("status", flat=True)
                    .first()
                )
            results.append(PickupResult(code=code, outcome=_not_handed_outcome(status)))
    return results


def _hand_over(
    *, store: Store, order_id: int, by: UserLike, now: dt.datetime, guest_only: bool = False
) -> bool:
    """The one handover write: fulfilment ready → collected (completed_at / completed_by) and
    the order → completed, as a conditional UPDATE that changes exactly one row or none (two
    counters handing over the same order hand it over once). `guest_only` adds "the order has
    no member" to the condition. The order's row is locked first (the lock order)."""
    _orders_lock(store_id=store.pk, order_ids=[order_id])
    rows = OrderFulfilment.objects.filter(pk=order_id, store=store, status=Status.READY)
    if guest_only:
        rows = rows.filter(order__member__isnull=True)
    if rows.update(status=Status.COLLECTED, completed_at=now, completed_by=by, updated_at=now) != 1:
        return False
    Order.objects.filter(pk=order_id, status__in=(Order.Status.PAID, Order.Status.READY)).update(
        status=Order.Status.COMPLETED
    )
    return True


def _not_handed_outcome(status: str | None) -> str:
    if status in (Status.COLLECTED, Status.DELIVERED):
        return ALREADY_COLLECTED
    if status == Status.CANCELLED:
        return CANCELLED
    return NOT_READY


def guest_order_hand_over(*, store: Store, order_id: int, by: UserLike) -> PickupResult:
    """Hand over a ready **guest** order (no member: a 接龙 line that matched nobody) without
    its code: nobody was sent the code, so there is none to bring; the counter finds the
    order by its chat name. Refused (`PickupRefused`): a member's order (`member_order`: the
    member has the code and handing over needs it), another store's order or one without a
    fulfilment (`not_found`), a delivery order (`not_pickup`: delivered, not handed over).
    The write is `_hand_over` (conditional UPDATE, at most once); an order that is not ready
    gets the outcome verification would give (NOT_READY, ALREADY_COLLECTED, CANCELLED) and
    nothing changes."""
    fulfilment = (
        OrderFulfilment.objects.select_related("order").filter(pk=order_id, store=store).first()
    )
    if fulfilment is None:
        raise PickupRefused(gettext("No such order at this store."), code="not_found")
    order = fulfilment.order
    if order.member_id is not None:
        raise PickupRefused(
            gettext("A member's order is handed over against the code the member brings."),
            code="member_order",
        )
    if order.fulfilment == Order.Fulfilment.DELIVERY:
        raise PickupRefused(
            gettext("A delivery order is not handed over at the counter."), code="not_pickup"
        )
    code = fulfilment.pickup_code
    with transaction.atomic():
        if _hand_over(store=store, order_id=order_id, by=by, now=timezone.now(), guest_only=True):
            return PickupResult(code=code, outcome=COLLECTED, order_id=order_id)
    status = OrderFulfilment.objects.filter(pk=order_id).values_list("status", flat=True).first()
    return PickupResult(code=code, outcome=_not_handed_outcome(status))


def _fulfilment_locked(*, store: Store, order_id: int) -> OrderFulfilment:
    """The order's fulfilment, locked after the order's row (the lock order)."""
    _orders_lock(store_id=store.pk, order_ids=[order_id])
    fulfilment = (
        OrderFulfilment.objects.select_for_update(of=("self",))
        .select_related("order__member", "store")
        .filter(pk=order_id, store=store)
        .first()
    )
    if fulfilment is None:
        raise PickupRefused(gettext("No such order at this store."), code="not_found")
    return fulfilment


def delivery_status_set(
    *, store: Store, order_id: int, status: str, by: UserLike, note: str = ""
) -> OrderFulfilment:
    """Move a delivery order's fulfilment along ready → out for delivery → delivered or
    failed (failed → out for delivery again). The row is locked; a move not allowed from the
    current status raises PickupRefused(code="transition"), a pickup order
    code="not_delivery", another store's order code="not_found". Delivered completes the
    order (COMPLETED, completed_at / by). The member is notified once per status reached
    (out for delivery, delivered; dedupe `order-delivery:<order id>:<status>`).
    """
    with transaction.atomic():
        fulfilment = _fulfilment_locked(store=store, order_id=order_id)
        order = fulfilment.order
        if order.fulfilment != Order.Fulfilment.DELIVERY:
            raise PickupRefused(
                gettext("This order is picked up, not delivered."), code="not_delivery"
            )
        if status not in DELIVERY_TRANSITIONS.get(fulfilment.status, ()):
            raise PickupRefused(
                gettext("An order that is %(current)s cannot become %(new)s.")
                % {
                    "current": fulfilment.get_status_display(),
                    "new": Status(status).label if status in Status.values else status,
                },
                code="transition",
            )
        now = timezone.now()
        changes: dict[str, object] = {"status": status, "updated_at": now}
        if note:
            changes["delivery_note"] = note[:200]
        if status == Status.DELIVERED:
            changes.update(completed_at=now, completed_by=by)
        changed = OrderFulfilment.objects.filter(pk=order_id, status=fulfilment.status).update(
            **changes
        )
        assert changed == 1, "locked fulfilment changed under the lock"  # noqa: S101
        if status == Status.DELIVERED:
            Order.objects.filter(
                pk=order_id, status__in=(Order.Status.PAID, Order.Status.READY)
            ).update(status=Order.Status.COMPLETED)
        member = order.member
        if status in DELIVERY_NOTIFIED and member is not None and not member.is_erased:
            with translation.override(settings.LANGUAGE_CODE):
                if status == Status.OUT_FOR_DELIVERY:
                    title = gettext("Your order is on its way")
                    body = gettext("Your order %(order)d from %(store)s is out for delivery.")
                else:
                    title = gettext("Your order has been delivered")
                    body = gettext("Your order %(order)d from %(store)s has been delivered.")
                body = body % {"order": order_id, "store": store.name}
            members_notify(
                drafts=[
                    NotificationDraft(
                        dedupe_key=f"order-delivery:{order_id}:{status}",
                        kind=f"order_{status}",
                        title=title,
                        body=body,
                        channel=member_channels({member.pk})[member.pk],
                        store_id=store.pk,
                        member_id=member.pk,
                        payload={"order_id": order_id},
                    )
                ]
            )
        fulfilment.refresh_from_db()
    return fulfilment


def order_cancel_before_pickup(
    *, store: Store, order_id: int, by: UserLike | None, reason: str, by_member: bool = False
) -> OrderFulfilment:
    """Cancel a member order that was paid but not handed over: the order (PAID or READY) →
    CANCELLED, its fulfilment → cancelled (frees the code). The units the order took from stock
    and has not got back go back (`return` movements noted with the reason, see
    `order_stock_return`): a group-buy join takes stock when it is made, so this holds
    whether the goods are still awaited (PAID) or arrived (READY); supply is adjusted
    (`order_cancelled_for_supply`: reduces purchase orders not yet confirmed, records an
    exception on confirmed ones); the member is notified (dedupe `order-cancelled:<order id>`).

    Locks, in the lock order of docs/purchasing.md: the purchase orders the order's lines are
    on (primary-key order), then the order, then its fulfilment, then stock rows
    (`_order_locked_after_supply`), so store receiving of one of those purchase orders and
    this cancellation take turns instead of deadlocking. Refused (PickupRefused, code
    "not_cancellable") for collected, delivered or already cancelled orders, and code
    "not_found" for another store's order. All in one transaction.

    `by_member`: the member asks (the mini-program, `mini_program.mini_program_order_cancel`;
    `by` is None): also refused while the order is out for delivery (code
    "out_for_delivery": the rider has it, the store decides).
    """
    reason = reason.strip()[:150]
    with transaction.atomic():
        order = _order_locked_after_supply(store=store, order_id=order_id)
        if order is None:
            raise PickupRefused(gettext("No such order at this store."), code="not_found")
        fulfilment = _fulfilment_locked(store=store, order_id=order_id)
        cancellable = order.status in (Order.Status.PAID, Order.Status.READY) and (
            fulfilment.status in OPEN_STATUSES or fulfilment.status == Status.FAILED
        )
        if not cancellable:
            raise PickupRefused(
                gettext("This order can no longer be cancelled."), code="not_cancellable"
            )
        if by_member and fulfilment.status == Status.OUT_FOR_DELIVERY:
            raise PickupRefused(
                gettext(
                    "This order is out for delivery and can no longer be cancelled here: "
                    "please contact the store."
                ),
                code="out_for_delivery",
            )
        now = timezone.now()
        changed = Order.objects.filter(pk=order.pk, status=order.status).update(
            status=Order.Status.CANCELLED
        )
        assert changed == 1, "locked order changed under the lock"  # noqa: S101
        OrderFulfilment.objects.filter(pk=order.pk, status=fulfilment.status).update(
            status=Status.CANCELLED,
            delivery_note=reason,
            updated_at=now,
        )
        order.status = Order.Status.CANCELLED
        note = gettext("Cancelled before pickup: order %(order)d") % {"order": order.pk}
        order_stock_return(
            order=order, store=store, note=f"{note} {reason}".strip()[:200], by=by, at=now
        )
        order_cancelled_for_supply(order=order)
        # The order is refunded whole: the refund of its short units is not paid as well.
        order_receiving_cases_withdraw(
            order_id=order.pk,
            note=gettext("Withdrawn: the order was cancelled before pickup and refunded whole."),
        )
        member = order.member
        if member is not None and not member.is_erased:
            with translation.override(settings.LANGUAGE_CODE):
                title = gettext("Your order has been cancelled")
                body = gettext("Your order %(order)d at %(store)s has been cancelled.") % {
                    "order": order.pk,
                    "store": store.name,
                }
                if reason:
                    body = f"{body} {reason}"
            members_notify(
                drafts=[
                    NotificationDraft(
                        dedupe_key=f"order-cancelled:{order.pk}",
                        kind="order_cancelled",
                        title=title,
                        body=body,
                        channel=member_channels({member.pk})[member.pk],
                        store_id=store.pk,
                        member_id=member.pk,
                        payload={"order_id": order.pk},
                    )
                ]
            )
        fulfilment.refresh_from_db()
    return fulfilment


def _order_locked_after_supply(*, store: Store, order_id: int) -> Order | None:
    """Lock, in the lock order of docs/purchasing.md: the consolidation's advisory lock in
    shared mode (`consolidation_lock_shared`: no run is linking this order's lines while it
    is cancelled), the purchase orders this order's live source links are on (primary-key
    order), then the order (`SELECT … FOR UPDATE`); return it (None: no such order at this
    store). Store receiving holds a purchase order's lock and then locks the orders it feeds,
    so a cancellation that locked the order first and the purchase order last could deadlock
    with it.

    The purchase orders are read before the order is locked, so they are read again under
    its lock: should a run have linked the order to another purchase order in between (a
    guard: on PostgreSQL the advisory lock keeps runs out, and SQLite's transactions take
    the write lock when they begin), the attempt's locks are released (its savepoint rolled
    back) and it starts again. A run links each order line once, so the set settles; after
    SUPPLY_LOCK_ATTEMPTS the newly linked purchase orders are locked as they are, after the
    order (a run's new purchase order, which nobody receives yet). Call inside a
    transaction."""
    consolidation_lock_shared()
    for attempt in range(1, SUPPLY_LOCK_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                locked = order_purchase_order_ids(order_id=order_id)
                purchase_orders_lock(ids=locked)
                order = (
                    Order.objects.select_for_update(of=("self",))
                    .select_related("member")
                    .filter(pk=order_id, store=store)
                    .first()
                )
                if order is None:
                    return None
                moved = order_purchase_order_ids(order_id=order_id) - locked
                if moved and attempt < SUPPLY_LOCK_ATTEMPTS:
                    raise _SupplyMoved
                purchase_orders_lock(ids=moved)
                return order
        except _SupplyMoved:
            continue
    raise AssertionError("unreachable: the last attempt returns")  # pragma: no cover
