"""Admin for the suppliers' receipt disputes (docs/delivery-and-receiving.md, "Disputes").

Suppliers open them on their purchase-order page; here HQ reads them (filtered by status,
open first) and accepts or rejects them with an answer for the supplier, through
`apps.procurement.services.disputes`, with `procurement.decide_receiptdispute`. Every field
is read-only: a dispute changes only by those actions, and nothing here changes a receipt or
the stock.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.procurement.models import ReceiptDispute
from apps.procurement.services.disputes import (
    ANSWER_MAX_LENGTH,
    ReceiptDisputeRefused,
    receipt_dispute_accept,
    receipt_dispute_reject,
)
from linli.admin_helpers import ActionFormErrorsAdminMixin, UndeletableAdminMixin, bulk_steps
from linli.admin_utils import truncated
from linli.params import checked_text

DECIDE_PERMISSION = "procurement.decide_receiptdispute"


class DisputeAnswerActionForm(ActionForm):
    """The answer beside the action menu: the supplier reads it on their page (what happens
    next), required for either decision."""

    answer = forms.CharField(
        label=_("Answer for the supplier"), max_length=ANSWER_MAX_LENGTH, required=False
    )


@admin.register(ReceiptDispute)
class ReceiptDisputeAdmin(ActionFormErrorsAdminMixin, UndeletableAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "status",
        "supplier",
        "purchase_order",
        "store",
        "product",
        "recorded_quantity",
        "claimed_quantity",
        truncated("note", model=ReceiptDispute),
        "resolved_at",
    ]
    list_filter = ["status", ("supplier", admin.RelatedOnlyFieldListFilter)]
    list_select_related = [
        "supplier",
        "receipt_line__receipt__purchase_order",
        "receipt_line__receipt__store",
        "receipt_line__allocation__line__product",
    ]
    search_fields = [
        "receipt_line__receipt__purchase_order__number",
        "receipt_line__receipt__store__code",
        "supplier__code",
    ]
    date_hierarchy = "created_at"
    raw_id_fields = ["receipt_line", "supplier", "created_by", "resolved_by"]
    fields = [
        "status",
        "supplier",
        "receipt_line",
        "purchase_order",
        "store",
        "product",
        "recorded_quantity",
        "claimed_quantity",
        "note",
        "created_by",
        "created_at",
        "answer",
        "resolved_by",
        "resolved_at",
    ]
    readonly_fields = fields
    actions = ["accept", "reject"]
    action_form = DisputeAnswerActionForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Suppliers open disputes on their purchase-order page.
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(DECIDE_PERMISSION)

    @admin.display(description=_("purchase order"))
    def purchase_order(self, dispute: ReceiptDispute) -> str:
        return str(dispute.receipt_line.receipt.purchase_order)

    @admin.display(description=_("store"))
    def store(self, dispute: ReceiptDispute) -> str:
        return str(dispute.receipt_line.receipt.store)

    @admin.display(description=_("product"))
    def product(self, dispute: ReceiptDispute) -> str:
        return str(dispute.receipt_line.allocation.line.product)

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[ReceiptDispute],
        step: Callable[[ReceiptDispute], ReceiptDispute],
        done: Callable[[int], str],
    ) -> None:
        bulk_steps(
            self,
            request,
            queryset.select_related(
                "receipt_line__receipt__purchase_order",
                "receipt_line__receipt__store",
                "receipt_line__allocation__line__product",
            ).order_by("pk"),
            step,
            done,
            refused=ReceiptDisputeRefused,
            label=str,  # which dispute was refused: its purchase order, store and product
        )

    @admin.action(
        description=_("Accept the selected disputes (with the answer)"), permissions=["decide"]
    )
    def accept(self, request: HttpRequest, queryset: QuerySet[ReceiptDispute]) -> None:
        answer = checked_text(request.POST.get("answer", ""))
        self._each(
            request,
            queryset,
            lambda dispute: receipt_dispute_accept(dispute=dispute, by=request.user, answer=answer),
            lambda count: (
                ngettext("Accepted %(count)d dispute.", "Accepted %(count)d disputes.", count)
                % {"count": count}
            ),
        )

    @admin.action(
        description=_("Reject the selected disputes (with the answer)"), permissions=["decide"]
    )
    def reject(self, request: HttpRequest, queryset: QuerySet[ReceiptDispute]) -> None:
        answer = checked_text(request.POST.get("answer", ""))
        self._each(
            request,
            queryset,
            lambda dispute: receipt_dispute_reject(dispute=dispute, by=request.user, answer=answer),
            lambda count: (
                ngettext("Rejected %(count)d dispute.", "Rejected %(count)d disputes.", count)
                % {"count": count}
            ),
        )
