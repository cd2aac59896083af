"""Store portal: receiving deliveries and the region's delivery plan, for the store's owner and
clerks (RECEIVE_GOODS). Another store's purchase order, or one without goods for this store,
is a 404; a store the user may not receive at is a 403."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from apps.procurement.selectors.delivery import delivery_plan_for_store, delivery_plan_sheet
from apps.procurement.selectors.receiving import (
    ReceivingSheet,
    receiving_sheet,
    store_deliveries,
)
from apps.procurement.services.receiving import ReceiptRefused, receipt_record
from apps.stores.access import RECEIVE_GOODS, store_or_403
from apps.stores.models import Store


class ReceiveForm(forms.Form):
    """Per allocation: received (default what will ship: the allocated quantity less what
    the supplier reported short, plus the store's shelf units of the rounding surplus),
    short (default the reported short) and damaged (default 0); and a note. A clerk who got
    what was announced submits as it stands. The sums are the service's to check."""

    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)

    def __init__(self, *args: object, sheet: ReceivingSheet, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.sheet = sheet
        for row in sheet.rows:
            allocation = row.allocation
            for kind, label, initial in (
                ("received", gettext_lazy("Received"), allocation.delivered_quantity),
                ("short", gettext_lazy("Short"), allocation.reported_short_quantity),
                ("damaged", gettext_lazy("Damaged"), 0),
            ):
                self.fields[f"{kind}_{allocation.pk}"] = forms.IntegerField(
                    label=label,
                    min_value=0,
                    max_value=allocation.receipt_quantity,
                    initial=initial,
                    widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}),
                )

    def lines(self) -> dict[int, tuple[int, int, int]]:
        return {
            row.allocation.pk: (
                self.cleaned_data[f"received_{row.allocation.pk}"],
                self.cleaned_data[f"short_{row.allocation.pk}"],
                self.cleaned_data[f"damaged_{row.allocation.pk}"],
            )
            for row in self.sheet.rows
        }

    def rows(self) -> list[tuple[object, list[forms.BoundField]]]:
        return [
            (
                row,
                [self[f"{kind}_{row.allocation.pk}"] for kind in ("received", "short", "damaged")],
            )
            for row in self.sheet.rows
        ]


@login_required
@require_GET
def receiving(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, RECEIVE_GOODS)
    deliveries = store_deliveries(store_id=store.pk)
    return render(
        request,
        "supply/receiving_list.html",
        {"store": store, "deliveries": deliveries, "today": timezone.localdate()},
    )


def _form_page(
    request: HttpRequest,
    store: Store,
    sheet: ReceivingSheet,
    form: ReceiveForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "store": store,
        "sheet": sheet,
        "form": (form or ReceiveForm(sheet=sheet)) if sheet.receivable else None,
    }
    return render(request, "supply/receiving_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest, store_id: int, po_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, RECEIVE_GOODS)
    sheet = receiving_sheet(store_id=store.pk, purchase_order_id=po_id)
    if sheet is None:
        raise Http404
    if request.method == "GET":
        return _form_page(request, store, sheet)
    if not sheet.receivable:
        messages.error(request, _("This delivery cannot be received now."))
        return _form_page(request, store, sheet, status=409)
    form = ReceiveForm(request.POST, sheet=sheet)
    if not form.is_valid():
        return _form_page(request, store, sheet, form=form, status=400)
    try:
        receipt_record(
            purchase_order=sheet.purchase_order,
            store=store,
            lines=form.lines(),
            by=request.user,
            note=form.cleaned_data["note"],
        )
    except ReceiptRefused as error:
        for problem in error.problems:
            messages.error(request, problem)
        return _form_page(request, store, sheet, form=form, status=400)
    messages.success(request, _("Delivery received."))
    return redirect("supply:receive", store_id=store.pk, po_id=sheet.purchase_order.pk)


@login_required
@require_GET
def delivery_plan(request: HttpRequest, store_id: int, day: str) -> HttpResponse:
    store = store_or_403(request.user, store_id, RECEIVE_GOODS)
    try:
        when = dt.date.fromisoformat(day)
    except ValueError as error:
        raise Http404 from error
    plan = delivery_plan_for_store(store=store, day=when)
    sheet = delivery_plan_sheet(plan=plan, store_id=store.pk) if plan is not None else None
    return render(
        request,
        "supply/delivery_plan.html",
        {"store": store, "day": when, "plan": plan, "sheet": sheet},
    )
