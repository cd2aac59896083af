"""A purchase order's life after consolidation: HQ sends or cancels; the supplier confirms with
a ship date, ships, or reports a shortage. Each step is a conditional UPDATE on the status, so
two clicks (or a supplier and HQ at once) cannot both win."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.procurement.models import PurchaseOrder, PurchaseOrderLine, Receipt
from apps.procurement.services.allocations import allocations_short_update
from apps.procurement.services.consolidation import purchase_orders_notify
from linli.wording import status_in_sentence

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Status = PurchaseOrder.Status
SHORTAGE_STATUSES = (Status.SENT, Status.CONFIRMED)


class PurchaseOrderRefused(Exception):
    """The step is not allowed in the purchase order's current state (or with this input).
    `code` is stable for callers; `message` is for people. Nothing was written.

    `done_as_asked` is true when the order already stands as the step would have left it: a
    repeat (a second tap, a resend on a slow line) of a step that was done. The caller may
    report the step done instead of the refusal (the supplier pages do)."""

    def __init__(self, code: str, message: str, *, done_as_asked: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.done_as_asked = done_as_asked


def _transition(
    *, po: PurchaseOrder, allowed: tuple[str, ...], code: str, message: str, **changes: object
) -> PurchaseOrder:
    changed = PurchaseOrder.objects.filter(pk=po.pk, status__in=allowed).update(**changes)
    po.refresh_from_db()
    if changed != 1:
        raise PurchaseOrderRefused(
            code,
            message % {"status": status_in_sentence(po.get_status_display())},
            # Already in the status the step moves it to: a repeat of the step.
            done_as_asked=po.status == changes.get("status"),
        )
    return po


def purchase_order_send(*, po: PurchaseOrder, by: AbstractBaseUser | None) -> PurchaseOrder:
    """Draft → sent; the supplier's users are notified. Refused (`not_draft`) otherwise, and
    (`unallocated`, nothing written) when a line orders units that no store is allocated: no
    pick list, delivery plan or store receiving would ever account for them. Holds the
    purchase order's row lock (as a draft line's edit does), so the lines checked are the
    lines sent."""
    with transaction.atomic():
        locked = PurchaseOrder.objects.select_for_update().get(pk=po.pk)
        if locked.status == Status.DRAFT:
            unallocated = list(
                PurchaseOrderLine.objects.filter(
                    purchase_order=po, ordered_quantity__gt=0, allocations__isnull=True
                )
                .order_by("product__name")
                .values_list("product__name", flat=True)
            )
            if unallocated:
                raise PurchaseOrderRefused(
                    "unallocated",
                    _(
                        "Not sent: no store is allocated any of %(products)s, so no store "
                        "would receive these units. Edit the lines or cancel the draft."
                    )
                    % {"products": pgettext("list separator", ", ").join(unallocated)},
                )
        _transition(
            po=po,
            allowed=(Status.DRAFT,),
            code="not_draft",
            message=_("Only a draft can be sent; this purchase order is %(status)s."),
            status=Status.SENT,
            sent_at=timezone.now(),
            acted_by=by,
        )
        purchase_orders_notify(purchase_orders=[po])
    return po


# What HQ may still cancel: before the supplier confirmed.
CANCELLABLE = (Status.DRAFT, Status.SENT)


def purchase_order_cancel(
    *, po: PurchaseOrder, by: AbstractBaseUser | None, revision: int | None = None
) -> PurchaseOrder:
    """Draft or sent → cancelled (HQ). Once the supplier confirmed, refused (`confirmed`).

    `revision` is the revision of the order the page showed (the admin's confirmation page
    sends it): when a consolidation run has added to the order since, the cancel is refused
    (`changed`, nothing written) so that nobody cancels member orders they have not seen —
    the rule of the supplier's confirmation (`purchase_order_confirm`). Without it the order
    is cancelled as it stands. One conditional UPDATE (status and revision), which takes the
    order's row lock as a consolidation run adding to it does."""
    seen = {} if revision is None else {"revision": revision}
    cancelled = PurchaseOrder.objects.filter(pk=po.pk, status__in=CANCELLABLE, **seen).update(
        status=Status.CANCELLED, cancelled_at=timezone.now(), acted_by=by
    )
    po.refresh_from_db()
    if cancelled == 1:
        return po
    if po.status in CANCELLABLE:
        raise _changed_since_seen(
            _(
                "This purchase order was updated after you opened it: check the lines "
                "and cancel again."
            )
        )
    raise PurchaseOrderRefused(
        "confirmed",
        _("This purchase order is %(status)s and can no longer be cancelled.")
        % {"status": status_in_sentence(po.get_status_display())},
    )


def _changed_since_seen(message: str) -> PurchaseOrderRefused:
    """The refusal of a step taken on a page that showed an older revision of the order
    (`changed`): the step's conditional UPDATE names the revision seen, and the order is
    still in a state the step allows, so only the revision can have differed."""
    return PurchaseOrderRefused("changed", message)


def purchase_order_confirm(
    *,
    po: PurchaseOrder,
    ship_date: dt.date,
    by: AbstractBaseUser | None,
    revision: int | None = None,
) -> PurchaseOrder:
    """Sent → confirmed with the day the supplier will ship. The ship date may not be in the
    past (`ship_date_past`) nor after the delivery date (`ship_date_late`).

    `revision` is the revision of the order the supplier saw (the supplier page sends it):
    when a consolidation run has added to the order since, the confirmation is refused
    (`changed`) so that nobody confirms lines they have not seen. Without it the order is
    confirmed as it stands. The conditional UPDATE takes the order's row lock, so it waits
    for a consolidation run holding that lock and is then decided on what the run left.
    An order no longer sent is refused as such (`not_sent`) before its ship date is looked at:
    "the ship date is after the delivery date" says nothing to someone confirming an order
    that has shipped. That refusal is `done_as_asked` when the order is confirmed with this
    ship date at the `revision` given (a repeat of this confirmation); not without a revision,
    nor after a colleague's confirmation of an order a consolidation run added to since.
    """
    if po.status != Status.SENT:
        raise _not_sent(po, ship_date=ship_date, revision=revision)
    if ship_date < timezone.localdate():
        raise PurchaseOrderRefused("ship_date_past", _("The ship date is in the past."))
    if ship_date > po.delivery_date:
        raise PurchaseOrderRefused("ship_date_late", _("The ship date is after the delivery date."))
    seen = {} if revision is None else {"revision": revision}
    confirmed = PurchaseOrder.objects.filter(pk=po.pk, status=Status.SENT, **seen).update(
        status=Status.CONFIRMED, ship_date=ship_date, confirmed_at=timezone.now(), acted_by=by
    )
    po.refresh_from_db()
    if confirmed == 1:
        return po
    if po.status == Status.SENT:
        raise _changed_since_seen(
            _(
                "This purchase order was updated after you opened it: check the lines "
                "and confirm again."
            )
        )
    raise _not_sent(po, ship_date=ship_date, revision=revision)


def _not_sent(
    po: PurchaseOrder, *, ship_date: dt.date, revision: int | None
) -> PurchaseOrderRefused:
    return PurchaseOrderRefused(
        "not_sent",
        _("Only a sent purchase order can be confirmed; this one is %(status)s.")
        % {"status": status_in_sentence(po.get_status_display())},
        done_as_asked=(
            po.status == Status.CONFIRMED
            and po.ship_date == ship_date
            and revision is not None
            and revision == po.revision
        ),
    )


def purchase_order_ship(*, po: PurchaseOrder, by: AbstractBaseUser | None) -> PurchaseOrder:
    """Confirmed → shipped. Refused (`not_confirmed`) otherwise; `done_as_asked` when the
    order has shipped (a repeat)."""
    return _transition(
        po=po,
        allowed=(Status.CONFIRMED,),
        code="not_confirmed",
        message=_("Only a confirmed purchase order can be shipped; this one is %(status)s."),
        status=Status.SHIPPED,
        shipped_at=timezone.now(),
        acted_by=by,
    )


def purchase_order_report_shortage(
    *,
    po: PurchaseOrder,
    lines: dict[int, int],
    note: str,
    by: AbstractBaseUser | None,
    revision: int | None = None,
) -> PurchaseOrder:
    """Record how many units of each line the supplier cannot deliver (`{line id: units
    short}`; 0 withdraws a line's shortage), while the order is sent or confirmed.

    The part of a line's shortage beyond its rounding surplus is shared out over the stores
    (`allocations_short_update`: the latest member orders bear it first), so pick lists,
    delivery plans, receiving and "on order" show what will actually ship.

    `revision` is the revision of the order the supplier saw (the supplier page sends it), as
    for the confirmation (`purchase_order_confirm`): when a consolidation run has added to the
    order since, the report is refused (`changed`) so that nobody reports on lines they have
    not seen. Without it the report applies to the order as it stands.

    Once any store has a receipt for the order the report is refused (`received`): the goods
    have been delivered, what receiving found (short and damaged units, after-sales cases)
    stands, and a difference now is an after-sales matter, not a supplier's report that would
    overwrite it and share a shortage over allocations already received. Receiving takes the
    same row lock (`receiving.receipt_record`), so a receipt is either seen here or recorded
    after the report.

    All or nothing: a line of another order (`unknown_line`) or more than ordered
    (`too_many`) refuses the whole report; every refusal writes nothing. Holds the purchase
    order's row lock.
    """
    with transaction.atomic():
        locked = PurchaseOrder.objects.select_for_update().get(pk=po.pk)
        if locked.status not in SHORTAGE_STATUSES:
            raise PurchaseOrderRefused(
                "not_open",
                _("A shortage can only be reported before shipping; this order is %(status)s.")
                % {"status": status_in_sentence(locked.get_status_display())},
            )
        if revision is not None and locked.revision != revision:
            raise _changed_since_seen(
                _(
                    "This purchase order was updated after you opened it: check the lines "
                    "and report the shortage again."
                )
            )
        if Receipt.objects.filter(purchase_order=po).exists():
            raise PurchaseOrderRefused(
                "received",
                _(
                    "Stores have already received this purchase order, so a shortage can no "
                    "longer be reported: what they received stands, and any difference is "
                    "handled as an after-sales case."
                ),
            )
        rows = {
            line.pk: line
            for line in PurchaseOrderLine.objects.filter(purchase_order=po).select_related(
                "product"
            )
        }
        for line_id, short in lines.items():
            line = rows.get(line_id)
            if line is None:
                raise PurchaseOrderRefused(
                    "unknown_line", _("A line does not belong to this purchase order.")
                )
            if short < 0 or short > line.ordered_quantity:
                raise PurchaseOrderRefused(
                    "too_many",
                    _(
                        "%(product)s: the units short must be between 0 and %(ordered)d "
                        "(what is ordered)."
                    )
                    % {"product": line.product.name, "ordered": line.ordered_quantity},
                )
            line.shortage_quantity = short
            # No store has received yet (refused above), so receiving has found nothing: the
            # whole shortage is the supplier's report (the shelf units follow it).
            line.receiving_short_quantity = 0
        PurchaseOrderLine.objects.bulk_update(
            [rows[line_id] for line_id in lines], ["shortage_quantity", "receiving_short_quantity"]
        )
        allocations_short_update(line_ids=list(lines))
        has_shortage = any(line.shortage_quantity for line in rows.values())
        PurchaseOrder.objects.filter(pk=po.pk).update(
            has_shortage=has_shortage, shortage_note=note[:300], acted_by=by
        )
    po.refresh_from_db()
    return po
