"""Reads for the pickup counter: a store's open member orders (waiting, ready, out for
delivery) and, for orders just handed over, what to offer the member next time.
Callers check access first (`apps.stores.access.HAND_OVER`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch
from django.utils.translation import gettext

from apps.catalog.selectors import NextProduct, member_next_products
from apps.customers.models import Member
from apps.customers.selectors.members import name_masked
from apps.stores.models import Order, OrderFulfilment, OrderLine, Store
from apps.stores.models.fulfilment import pickup_code_hint
from linli.admin_helpers import member_text_redact
from linli.phones import phone_mask

Status = OrderFulfilment.Status
OPEN_STATUSES = (Status.WAITING, Status.READY, Status.OUT_FOR_DELIVERY, Status.FAILED)
# Where an open order may go next by hand (delivery orders; see services.pickup).
DELIVERY_NEXT: dict[str, tuple[str, ...]] = {
    Status.READY: (Status.OUT_FOR_DELIVERY,),
    Status.OUT_FOR_DELIVERY: (Status.DELIVERED, Status.FAILED),
    Status.FAILED: (Status.OUT_FOR_DELIVERY,),
}
BOARD_LIMIT = 300
SUGGESTIONS_PER_MEMBER = 5
# Suggestions are computed per member (a few queries each): only for this many collected orders.
SUGGESTED_ORDERS = 20


def member_display(*, member: Member | None, full: bool, chat_name: str = "") -> str:
    """How the counter names a member: with member data access (`full`) the name and the
    masked phone, otherwise "Member" and the last 4 characters of the member number.

    A guest order (no member) that came from a 接龙 line is named by its chat name
    (`GroupBuyJoin.display_name`, "接龙: 李阿姨"), the only name the counter can ask for:
    in full with member data access, else masked as the broadcast page masks it ("李**");
    any other guest order is "Guest"."""
    if member is None:
        chat_name = chat_name.strip()
        if not chat_name:
            return gettext("Guest")
        return gettext("Group-buy chat: %(name)s") % {
            "name": chat_name if full else name_masked(chat_name)
        }
    if full and not member.is_erased:
        parts = [part for part in (member.name, member.masked_phone) if part]
        return " ".join(parts) or member.member_no
    return member.masked_label


def _chat_name(order: Order) -> str:
    """The 接龙 chat name of a group-buy order (selected with `order__group_buy_join`)."""
    join = getattr(order, "group_buy_join", None)
    return join.display_name if join is not None else ""


def _delivery_note(note: str, *, order: Order, full: bool) -> str:
    """The note typed at the counter (the rider, "nobody home, ask for Auntie Li", a cancelled
    order's reason): text about a member. With member data access as typed; otherwise, like
    the member's name on the board, redacted (`member_text_redact`: every mobile number
    masked, the member's name and number and the 接龙 chat name replaced by the masked
    label), so a clerk keeps what the delivery needs (docs/access.md)."""
    if full or not note:
        return note
    redacted = member_text_redact(note, member=order.member)
    chat_name = _chat_name(order)
    if chat_name:
        redacted = redacted.replace(chat_name, name_masked(chat_name))
    return redacted


def _delivery_to(fulfilment: OrderFulfilment, *, order: Order, full: bool) -> str:
    """Where a delivery goes and whom to ask for, as the member gave them with a mini-program
    order ("翠苑一区 12 幢 402 · 李阿姨 138****8000"), and the member's note after it; ""
    when there are none. Member data: redacted as the delivery note is (`_delivery_note`,
    phones masked) for users without member data — the address stays, a delivery needs it."""
    phone = fulfilment.delivery_phone
    if phone and not full:
        phone = phone_mask(phone)
    contact = " ".join(part for part in (fulfilment.delivery_contact, phone) if part)
    parts = [part for part in (fulfilment.delivery_address, contact) if part]
    if fulfilment.member_note:
        parts.append(gettext("Note: %(note)s") % {"note": fulfilment.member_note})
    return _delivery_note(" · ".join(parts), order=order, full=full)


@dataclass(frozen=True)
class NextStatus:
    value: str
    label: str


@dataclass(frozen=True)
class PickupRow:
    order_id: int
    code: str
    status: str
    status_label: str
    is_delivery: bool
    member: str
    items: list[str]
    placed_at: dt.datetime
    ready_at: dt.datetime | None
    delivery_note: str
    next_statuses: list[NextStatus]
    is_guest: bool = False
    delivery_to: str = ""

    @property
    def guest_hand_over(self) -> bool:
        """A ready guest pickup order: handed over from the list (nobody holds its code;
        `services.pickup.guest_order_hand_over`)."""
        return self.is_guest and self.status == Status.READY and not self.is_delivery

    @property
    def cancellable(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def code_hint(self) -> str:
        """The code as the open-orders list shows it: only its last CODE_HINT_DIGITS digits,
        so the list helps find an order but cannot stand in for the code the member brings
        (`pickup_code_hint`, one rule with the admin)."""
        return pickup_code_hint(self.code)


@dataclass
class PickupBoard:
    rows: list[PickupRow]
    counts: dict[str, int]
    more: bool = False
    by_status: dict[str, list[PickupRow]] = field(default_factory=dict)


def _items(order: Order) -> list[str]:
    """One "name ×units" per line, the units net of what came short at receiving (the line's
    source link, `short_quantity`), so the counter hands over what is there and says what
    is missing."""
    items = []
    for line in order.lines.all():
        source = getattr(line, "purchase_source", None)
        short = min(source.short_quantity, line.quantity) if source is not None else 0
        if short:
            items.append(
                gettext("%(product)s ×%(units)d (%(short)d short)")
                % {"product": line.product.name, "units": line.quantity - short, "short": short}
            )
        else:
            items.append(f"{line.product.name} ×{line.quantity}")
    return items


# The lines as `_items` reads them: product and source link in the same query.
_LINES = OrderLine.objects.select_related("product", "purchase_source").order_by("pk")


def pickup_board(*, store: Store, show_member_names: bool) -> PickupBoard:
    """The store's open fulfilments (waiting, ready, out for delivery, failed delivery: the
    ones still to hand over or settle), oldest order first, at most BOARD_LIMIT, with the
    member display (`member_display`), items and the delivery moves allowed; counts per
    status (every open status present, 0 when none). Three queries whatever the number of
    rows."""
    counts = dict.fromkeys(OPEN_STATUSES, 0)
    for status, count in (
        OrderFulfilment.objects.filter(store=store, status__in=OPEN_STATUSES)
        .values_list("status")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        counts[status] = count
    fulfilments = list(
        OrderFulfilment.objects.filter(store=store, status__in=OPEN_STATUSES)
        .select_related("order__member", "order__group_buy_join")
        .prefetch_related(
            Prefetch(
                "order__lines",
                queryset=_LINES,
            )
        )
        .order_by("order__placed_at", "pk")[: BOARD_LIMIT + 1]
    )
    rows = []
    for fulfilment in fulfilments[:BOARD_LIMIT]:
        order = fulfilment.order
        is_delivery = order.fulfilment == Order.Fulfilment.DELIVERY
        next_statuses = (
            [
                NextStatus(value=value, label=Status(value).label)
                for value in DELIVERY_NEXT.get(fulfilment.status, ())
            ]
            if is_delivery
            else []
        )
        rows.append(
            PickupRow(
                order_id=order.pk,
                code=fulfilment.pickup_code,
                status=fulfilment.status,
                status_label=fulfilment.get_status_display(),
                is_delivery=is_delivery,
                member=member_display(
                    member=order.member, full=show_member_names, chat_name=_chat_name(order)
                ),
                items=_items(order),
                placed_at=order.placed_at,
                ready_at=fulfilment.ready_at,
                delivery_note=_delivery_note(
                    fulfilment.delivery_note, order=order, full=show_member_names
                ),
                next_statuses=next_statuses,
                is_guest=order.member_id is None,
                delivery_to=_delivery_to(fulfilment, order=order, full=show_member_names),
            )
        )
    by_status: dict[str, list[PickupRow]] = {status: [] for status in OPEN_STATUSES}
    for row in rows:
        by_status[row.status].append(row)
    return PickupBoard(
        rows=rows, counts=counts, more=len(fulfilments) > BOARD_LIMIT, by_status=by_status
    )


@dataclass(frozen=True)
class CollectedOrder:
    """An order just handed over, as the counter sees it, with what to offer next time."""

    order_id: int
    code: str
    member: str
    items: list[str]
    suggestions: list[NextProduct]


def pickup_collected_orders(
    *, store: Store, order_codes: dict[int, str], show_member_names: bool
) -> list[CollectedOrder]:
    """The handed-over orders `order_codes` (order id → code) of this store, in the given
    order, each with the member's "what to offer next time" (`member_next_products`, the
    member page's suggestions; none for guests, and only for the first SUGGESTED_ORDERS
    orders). Other stores' order ids are left out."""
    orders = {
        order.pk: order
        for order in Order.objects.filter(store=store, pk__in=list(order_codes))
        .select_related("member", "group_buy_join")
        .prefetch_related(Prefetch("lines", queryset=_LINES))
    }
    shown: list[CollectedOrder] = []
    for order_id, code in order_codes.items():
        order = orders.get(order_id)
        if order is None:
            continue
        suggestions: list[NextProduct] = []
        if order.member_id is not None and len(shown) < SUGGESTED_ORDERS:
            suggestions = member_next_products(
                member_id=order.member_id, store=store, limit=SUGGESTIONS_PER_MEMBER
            )
        shown.append(
            CollectedOrder(
                order_id=order_id,
                code=code,
                member=member_display(
                    member=order.member, full=show_member_names, chat_name=_chat_name(order)
                ),
                items=_items(order),
                suggestions=suggestions,
            )
        )
    return shown


def pickup_order_exists(*, store: Store, order_id: int) -> bool:
    """Whether `order_id` is an order of this store that has a fulfilment (a pickup code)."""
    return OrderFulfilment.objects.filter(pk=order_id, store=store).exists()


def order_ready_notified(*, store: Store, order_id: int) -> bool:
    """Whether the member of this store's order was told it is ready (a walk-in order has
    nobody to tell)."""
    return OrderFulfilment.objects.filter(
        order_id=order_id, store=store, ready_notified_at__isnull=False
    ).exists()
