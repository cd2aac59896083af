"""The pickup counter (/portal/supply/stores/<store>/pickup/): verify pickup codes one by one
or in a batch (typed or scanned), see the open member orders by status, mark an order ready
by hand, move a delivery order along, cancel before pickup. Guarded by HAND_OVER; member names
only with MEMBER_DATA. Another store's order id is a 404 (docs/pickup.md)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from apps.procurement.selectors.pickup import (
    CollectedOrder,
    order_ready_notified,
    pickup_board,
    pickup_collected_orders,
    pickup_order_exists,
)
from apps.procurement.services.pickup import (
    COLLECTED,
    PickupRefused,
    delivery_status_set,
    fulfilments_ready,
    guest_order_hand_over,
    order_cancel_before_pickup,
    pickup_codes_parse,
    pickup_verify,
)
from apps.stores.access import HAND_OVER, MEMBER_DATA, may, store_or_403
from apps.stores.services.stock import InsufficientStock
from linli.params import text_param

# What the counter sees for each outcome (another store's code reads as a wrong code).
OUTCOME_LABELS = {
    "collected": gettext_lazy("Handed over"),
    "wrong_code": gettext_lazy("Wrong code"),
    "already_collected": gettext_lazy("Already collected"),
    "not_ready": gettext_lazy("Not ready yet"),
    "cancelled": gettext_lazy("Order cancelled"),
}


@login_required
@require_http_methods(["GET", "POST"])
def pickup(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, HAND_OVER)
    show_names = may(request.user, MEMBER_DATA, store.pk)
    results: list[dict[str, object]] = []
    collected: list[CollectedOrder] = []
    typed = ""
    if request.method == "POST":
        typed = text_param(request.POST, "codes", max_length=4000)
        scanned = text_param(request.POST, "code", max_length=40)
        codes = pickup_codes_parse(text=f"{scanned}\n{typed}")
        if not codes:
            messages.error(request, _("Type or scan a pickup code."))
        else:
            verified = pickup_verify(store=store, codes=codes, by=request.user)
            results = [
                {
                    "code": result.code,
                    "outcome": result.shown_outcome,
                    "label": OUTCOME_LABELS[result.shown_outcome],
                }
                for result in verified
            ]
            collected = pickup_collected_orders(
                store=store,
                order_codes={
                    result.order_id: result.code
                    for result in verified
                    if result.outcome == COLLECTED and result.order_id is not None
                },
                show_member_names=show_names,
            )
            typed = ""
    board = pickup_board(store=store, show_member_names=show_names)
    return render(
        request,
        "supply/pickup_counter.html",
        {
            "store": store,
            "board": board,
            "results": results,
            "collected": collected,
            "typed": typed,
            "status_sections": [
                (status, label, board.by_status[status], board.counts[status])
                for status, label in _status_sections()
            ],
        },
    )


def _status_sections() -> list[tuple[str, str]]:
    return [
        ("ready", _("Ready for pickup")),
        ("waiting", _("Waiting for goods")),
        ("out_for_delivery", _("Out for delivery")),
        ("failed", _("Delivery failed")),
    ]


@login_required
@require_POST
def pickup_ready(request: HttpRequest, store_id: int, order_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, HAND_OVER)
    if not pickup_order_exists(store=store, order_id=order_id):
        raise Http404
    try:
        ready = fulfilments_ready(store_id=store.pk, order_ids=[order_id], by=request.user)
    except InsufficientStock as short:
        # A pre-order's goods leave stock when it is ready: the shelf has too few.
        messages.error(request, short.messages[0])
        return redirect("supply:pickup", store_id=store.pk)
    if ready:
        if order_ready_notified(store=store, order_id=order_id):
            message = _("Order %(order)d is ready; the member is notified.")
        else:
            message = _("Order %(order)d is ready (a walk-in order: nobody to notify).")
        messages.success(request, message % {"order": order_id})
    else:
        messages.error(
            request, _("Order %(order)d was not waiting for goods.") % {"order": order_id}
        )
    return redirect("supply:pickup", store_id=store.pk)


@login_required
@require_POST
def delivery_status(request: HttpRequest, store_id: int, order_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, HAND_OVER)
    try:
        fulfilment = delivery_status_set(
            store=store,
            order_id=order_id,
            status=text_param(request.POST, "status", max_length=20),
            by=request.user,
            note=text_param(request.POST, "note", max_length=200),
        )
    except PickupRefused as refusal:
        if refusal.code == "not_found":
            raise Http404 from refusal
        messages.error(request, refusal.messages[0])
    else:
        messages.success(
            request,
            _("Order %(order)d: %(status)s.")
            % {
                "order": order_id,
                "status": fulfilment.get_status_display(),
            },
        )
    return redirect("supply:pickup", store_id=store.pk)


@login_required
@require_POST
def pickup_cancel(request: HttpRequest, store_id: int, order_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, HAND_OVER)
    try:
        order_cancel_before_pickup(
            store=store,
            order_id=order_id,
            by=request.user,
            reason=text_param(request.POST, "reason", max_length=150),
        )
    except PickupRefused as refusal:
        if refusal.code == "not_found":
            raise Http404 from refusal
        messages.error(request, refusal.messages[0])
    else:
        messages.success(request, _("Order %(order)d is cancelled.") % {"order": order_id})
    return redirect("supply:pickup", store_id=store.pk)


@login_required
@require_POST
def guest_hand_over(request: HttpRequest, store_id: int, order_id: int) -> HttpResponse:
    """Hand over a ready guest order (a 接龙 line that matched no member) from the list:
    nobody was sent its code, so the counter finds it by the chat name."""
    store = store_or_403(request.user, store_id, HAND_OVER)
    try:
        result = guest_order_hand_over(store=store, order_id=order_id, by=request.user)
    except PickupRefused as refusal:
        if refusal.code == "not_found":
            raise Http404 from refusal
        messages.error(request, refusal.messages[0])
    else:
        label = OUTCOME_LABELS[result.shown_outcome]
        if result.outcome == COLLECTED:
            messages.success(
                request, _("Order %(order)d: %(outcome)s.") % {"order": order_id, "outcome": label}
            )
        else:
            messages.error(
                request, _("Order %(order)d: %(outcome)s.") % {"order": order_id, "outcome": label}
            )
    return redirect("supply:pickup", store_id=store.pk)
