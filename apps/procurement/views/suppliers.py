"""Supplier pages: each supplier user sees only the suppliers they act for, and only their
sent purchase orders; another supplier's order id is a 404 on every page and download."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.campaigns.notifications.selectors import (
    notifications_for_user,
    notifications_unread_count,
)
from apps.campaigns.notifications.services import notifications_mark_read
from apps.procurement.access import (
    ACT_ON_PURCHASE_ORDERS,
    VIEW_PURCHASE_ORDERS,
    SupplierAction,
    may_act_for,
    suppliers_for,
)
from apps.procurement.forms import (
    ConfirmForm,
    PurchaseOrderFilterForm,
    ReceiptDisputeForm,
    ShipForm,
    ShortageForm,
)
from apps.procurement.models import PurchaseOrder
from apps.procurement.selectors import files
from apps.procurement.selectors import suppliers as supplier_selectors
from apps.procurement.selectors.aftersales import supplier_quality_90_days
from apps.procurement.selectors.purchase_orders import (
    purchase_order_for_user,
    purchase_order_pick_lists,
    purchase_order_proposed_ship_date,
    purchase_order_sheet,
    purchase_orders_for_user,
    supplier_to_do,
)
from apps.procurement.selectors.reconciliation import (
    purchase_order_reconciliation,
    receipt_line_for_user,
)
from apps.procurement.services.disputes import ReceiptDisputeRefused, receipt_dispute_open
from apps.procurement.services.purchase_orders import (
    SHORTAGE_STATUSES,
    PurchaseOrderRefused,
    purchase_order_confirm,
    purchase_order_report_shortage,
    purchase_order_ship,
)
from linli.wording import labelled

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# How many of the user's latest notifications the supplier home lists.
INBOX_SIZE = 20
# The confirmation's refusals that are about the date typed, not about the order's state.
SHIP_DATE_REFUSALS = frozenset({"ship_date_past", "ship_date_late"})


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    suppliers = supplier_selectors.suppliers_visible(user=request.user)
    if not suppliers:
        raise PermissionDenied
    to_do = None
    if suppliers_for(request.user, VIEW_PURCHASE_ORDERS).exists():
        to_do = supplier_to_do(user=request.user, today=timezone.localdate())
    # Each supplier's own quality score, as HQ buyers see it in the admin (docs/after-sales.md).
    scores = supplier_quality_90_days(supplier_ids=[supplier.pk for supplier in suppliers])
    for supplier in suppliers:
        supplier.quality = scores[supplier.pk]
    # The user's own portal notifications (new and updated purchase orders, answers to their
    # disputes): the supplier's inbox, newest first.
    inbox = notifications_for_user(user=request.user, limit=INBOX_SIZE)
    for notification in inbox:
        url = str(notification.payload.get("url", "")) if notification.payload else ""
        notification.link = url if url.startswith("/supplier/") else ""
    return render(
        request,
        "supplier/home.html",
        {
            "suppliers": suppliers,
            "to_do": to_do,
            "inbox": inbox,
            "unread_count": notifications_unread_count(user=request.user),
        },
    )


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark the user's own notifications read (a supplier user's are all supplier ones), then
    back to the supplier home."""
    if not supplier_selectors.suppliers_visible(user=request.user):
        raise PermissionDenied
    notifications_mark_read(user=request.user)
    return redirect("supplier:home")


@login_required
@require_GET
def orders(request: HttpRequest) -> HttpResponse:
    if not suppliers_for(request.user, VIEW_PURCHASE_ORDERS).exists():
        raise PermissionDenied
    form = PurchaseOrderFilterForm(request.GET or None)
    # Filters that do not read (an unknown status, a date that is none, "to" before "from")
    # list nothing: the whole unfiltered list under an error would look like their result.
    purchase_orders = None
    if not form.is_bound or form.is_valid():
        filters = form.cleaned_data if form.is_bound else {}
        purchase_orders = purchase_orders_for_user(
            user=request.user,
            status=filters.get("status", ""),
            date_from=filters.get("date_from"),
            date_to=filters.get("date_to"),
        )
    return render(
        request,
        "supplier/orders.html",
        {"form": form, "purchase_orders": purchase_orders, "today": timezone.localdate()},
    )


def _order_or_404(
    request: HttpRequest, po_id: int, action: SupplierAction = VIEW_PURCHASE_ORDERS
) -> PurchaseOrder:
    po = purchase_order_for_user(user=request.user, pk=po_id, action=action)
    if po is None:
        raise Http404
    return po


def _detail(
    request: HttpRequest,
    po: PurchaseOrder,
    *,
    confirm_form: ConfirmForm | None = None,
    ship_form: ShipForm | None = None,
    shortage_form: ShortageForm | None = None,
    dispute_form: ReceiptDisputeForm | None = None,
    dispute_line_id: int | None = None,
    status: int = 200,
) -> HttpResponse:
    sheet = purchase_order_sheet(purchase_order=po)
    may_act = may_act_for(request.user, ACT_ON_PURCHASE_ORDERS, po.supplier_id)
    shortage_open = may_act and po.status in SHORTAGE_STATUSES
    # Once a store has received, the supplier's report is closed (`received`): the page
    # says so instead of offering a form that would be refused.
    received = shortage_open and po.receipts.exists()
    # What stores received (对账), once any has: docs/purchasing.md, "Received".
    reconciliation = purchase_order_reconciliation(sheet=sheet, now=timezone.now())
    if dispute_form is not None and reconciliation:
        # The dispute just refused goes back on its line, bound to what was typed, open.
        # (An attribute of the page's, on that one row; the template reads `row.typed`.)
        for received_line in reconciliation.lines:
            for row in received_line.rows:
                if row.receipt_line is not None and row.receipt_line.pk == dispute_line_id:
                    row.typed = dispute_form
    context = {
        "po": po,
        "sheet": sheet,
        "may_act": may_act,
        "may_confirm": may_act and po.status == PurchaseOrder.Status.SENT,
        "may_ship": may_act and po.status == PurchaseOrder.Status.CONFIRMED,
        "may_report_shortage": shortage_open and not received,
        "shortage_closed_by_receipt": received,
        "confirm_form": confirm_form
        or ConfirmForm(
            initial={
                "ship_date": purchase_order_proposed_ship_date(
                    purchase_order=po, today=timezone.localdate()
                ),
                "revision": po.revision,
            }
        ),
        "ship_form": ship_form or ShipForm(),
        "shortage_form": shortage_form
        or ShortageForm(
            lines=sheet.lines, initial={"note": po.shortage_note, "revision": po.revision}
        ),
        "reconciliation": reconciliation,
        "dispute_form": ReceiptDisputeForm(),
        "dispute_days": settings.RECEIPT_DISPUTE_DAYS,
    }
    return render(request, "supplier/order_detail.html", context, status=status)


@login_required
@require_GET
def order(request: HttpRequest, po_id: int) -> HttpResponse:
    return _detail(request, _order_or_404(request, po_id))


def _refused(request: HttpRequest, po: PurchaseOrder, error: PurchaseOrderRefused) -> HttpResponse:
    messages.error(request, error.message)
    return redirect("supplier:order", po_id=po.pk)


@login_required
@require_POST
def order_confirm(request: HttpRequest, po_id: int) -> HttpResponse:
    po = _order_or_404(request, po_id, ACT_ON_PURCHASE_ORDERS)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return _detail(request, po, confirm_form=form, status=400)
    try:
        purchase_order_confirm(
            po=po,
            ship_date=form.cleaned_data["ship_date"],
            by=request.user,
            revision=form.cleaned_data["revision"],
        )
    except PurchaseOrderRefused as error:
        if error.code in SHIP_DATE_REFUSALS:
            # A date the order does not allow: said on the field with the typed date kept (a
            # redirect showed the proposed date again under "the ship date is in the past"),
            # and at the top, as the form sits below the lines on a phone.
            messages.error(request, error.message)
            form.add_error("ship_date", error.message)
            return _detail(request, po, confirm_form=form, status=400)
        # A second tap (or a resend on a slow line) finds the order confirmed as asked: what
        # it asked for is done, so it says so instead of "only a sent order can be confirmed"
        # (the service tells which refusal is such a repeat).
        if not error.done_as_asked:
            return _refused(request, po, error)
    messages.success(request, _("Purchase order confirmed."))
    return redirect("supplier:order", po_id=po.pk)


@login_required
@require_POST
def order_ship(request: HttpRequest, po_id: int) -> HttpResponse:
    po = _order_or_404(request, po_id, ACT_ON_PURCHASE_ORDERS)
    form = ShipForm(request.POST)
    if not form.is_valid():
        # Also at the top: the box sits at the foot of a long page on a phone.
        messages.error(request, form.errors["shipped"][0])
        return _detail(request, po, ship_form=form, status=400)
    try:
        purchase_order_ship(po=po, by=request.user)
    except PurchaseOrderRefused as error:
        # A second tap finds it shipped, as asked (see order_confirm).
        if not error.done_as_asked:
            return _refused(request, po, error)
    messages.success(request, _("Purchase order marked as shipped."))
    return redirect("supplier:order", po_id=po.pk)


def _shortage_refused(
    request: HttpRequest, po: PurchaseOrder, error: PurchaseOrderRefused
) -> HttpResponse:
    """The page again, with the reason at the top and the supplier's figures and note kept
    (409: the order is no longer as the page showed it). The form is bound to what they typed
    but built on the order as it stands: after `changed` it lists the updated lines and carries
    the current revision, so they check the lines and send again without retyping. After
    `received` (or a step beyond shipping) the page offers no form, only why."""
    messages.error(request, error.message)
    po.refresh_from_db()
    data = request.POST.copy()
    data["revision"] = str(po.revision)
    form = ShortageForm(data, lines=purchase_order_sheet(purchase_order=po).lines)
    return _detail(request, po, shortage_form=form, status=409)


@login_required
@require_POST
def order_shortage(request: HttpRequest, po_id: int) -> HttpResponse:
    po = _order_or_404(request, po_id, ACT_ON_PURCHASE_ORDERS)
    lines = purchase_order_sheet(purchase_order=po).lines
    form = ShortageForm(request.POST, lines=lines)
    if not form.is_valid():
        # The form is at the foot of a long page: name each wrong line at the top as well.
        for error in form.line_errors():
            messages.error(request, error)
        return _detail(request, po, shortage_form=form, status=400)
    had_shortage = po.has_shortage
    try:
        purchase_order_report_shortage(
            po=po,
            lines=form.shortages(),
            note=form.cleaned_data["note"],
            by=request.user,
            revision=form.cleaned_data["revision"],
        )
    except PurchaseOrderRefused as error:
        return _shortage_refused(request, po, error)
    messages.success(request, _shortage_outcome(had_shortage=had_shortage, po=po))
    return redirect("supplier:order", po_id=po.pk)


def _shortage_outcome(*, had_shortage: bool, po: PurchaseOrder) -> str:
    """What the report did (`po` as the service left it): every line at 0 reports nothing, or
    withdraws the earlier report."""
    if po.has_shortage:
        return _("Shortage reported.")
    if had_shortage:
        return _("Shortage withdrawn: every line will be delivered in full.")
    return _("No shortage reported: every line is 0, so nothing is short.")


@login_required
@require_POST
def receipt_dispute(request: HttpRequest, receipt_line_id: int) -> HttpResponse:
    """The supplier disputes one store's receipt of one line (docs/delivery-and-receiving.md,
    "Disputes"). Errors and refusals are named at the top of the order page, which comes back
    with that line's dispute form open and bound to what was typed: 400 for a form error, 409
    for a refusal of the service (nothing written either way)."""
    receipt_line = receipt_line_for_user(user=request.user, pk=receipt_line_id)
    if receipt_line is None:
        raise Http404
    po = receipt_line.receipt.purchase_order
    form = ReceiptDisputeForm(request.POST)
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else ""
            for error in errors:
                messages.error(request, labelled(label, error) if label else error)
        return _detail(request, po, dispute_form=form, dispute_line_id=receipt_line.pk, status=400)
    try:
        receipt_dispute_open(
            receipt_line=receipt_line,
            claimed_quantity=form.cleaned_data["claimed_quantity"],
            note=form.cleaned_data["note"],
            by=request.user,
        )
    except ReceiptDisputeRefused as error:
        if error.done_as_asked:
            # A second tap (or a resend) of the dispute just sent: it is with HQ, as asked.
            messages.success(request, _("Dispute sent to HQ."))
            return redirect(reverse("supplier:order", args=[po.pk]) + "#received")
        messages.error(request, error.message)
        form.add_error(None, error.message)
        return _detail(request, po, dispute_form=form, dispute_line_id=receipt_line.pk, status=409)
    messages.success(request, _("Dispute sent to HQ."))
    return redirect(reverse("supplier:order", args=[po.pk]) + "#received")


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def order_csv(request: HttpRequest, po_id: int) -> HttpResponse:
    po = _order_or_404(request, po_id)
    sheet = purchase_order_sheet(purchase_order=po)
    content = files.purchase_order_csv(
        sheet=sheet,
        reconciliation=purchase_order_reconciliation(sheet=sheet, now=timezone.now()),
    )
    return _download(content, "text/csv; charset=utf-8", f"{po.number}.csv")


@login_required
@require_GET
def order_xlsx(request: HttpRequest, po_id: int) -> HttpResponse:
    po = _order_or_404(request, po_id)
    sheet = purchase_order_sheet(purchase_order=po)
    content = files.purchase_order_xlsx(
        sheet=sheet,
        reconciliation=purchase_order_reconciliation(sheet=sheet, now=timezone.now()),
    )
    return _download(content, XLSX, f"{po.number}.xlsx")


@login_required
@require_GET
def order_pdf(request: HttpRequest, po_id: int) -> HttpResponse:
    po = _order_or_404(request, po_id)
    sheet = purchase_order_sheet(purchase_order=po)
    content = files.purchase_order_pdf(
        sheet=sheet,
        reconciliation=purchase_order_reconciliation(sheet=sheet, now=timezone.now()),
    )
    return _download(content, "application/pdf", f"{po.number}.pdf")


@login_required
@require_GET
def pick_lists_csv(request: HttpRequest, po_id: int) -> HttpResponse:
    po = _order_or_404(request, po_id)
    content = files.pick_lists_csv(
        sheet=purchase_order_sheet(purchase_order=po),
        pick_lists=purchase_order_pick_lists(purchase_order=po),
    )
    return _download(content, "text/csv; charset=utf-8", f"{po.number}-pick-lists.csv")


@login_required
@require_GET
def pick_lists_pdf(request: HttpRequest, po_id: int) -> HttpResponse:
    po = _order_or_404(request, po_id)
    content = files.pick_lists_pdf(
        sheet=purchase_order_sheet(purchase_order=po),
        pick_lists=purchase_order_pick_lists(purchase_order=po),
    )
    return _download(content, "application/pdf", f"{po.number}-pick-lists.pdf")
