from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from apps.procurement.models import (
    ConsolidationRun,
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderException,
    PurchaseOrderLine,
    PurchaseOrderSource,
    Supplier,
    SupplierProduct,
    SupplierUser,
)
from apps.procurement.resources import SupplierProductResource, SupplierResource
from apps.procurement.selectors.aftersales import supplier_quality_90_days
from apps.procurement.selectors.purchase_orders import purchase_orders_with_amounts
from apps.procurement.selectors.shelf import shelf_attach_to_lines, shelf_quantities
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.purchase_orders import (
    CANCELLABLE,
    PurchaseOrderRefused,
    purchase_order_cancel,
    purchase_order_send,
)
from apps.procurement.services.replenishment import (
    purchase_order_line_demand_check,
    purchase_order_line_edit,
)
from linli.admin_helpers import (
    PhoneMaskingAdminMixin,
    RelatedLabelsFromRowsInlineMixin,
    UndeletableAdminMixin,
    bulk_steps,
)
from linli.imports.admin import ImportExportAdminMixin
from linli.params import is_ascii_number
from linli.wording import labelled


class SupplierProductInline(RelatedLabelsFromRowsInlineMixin, admin.TabularInline):
    model = SupplierProduct
    extra = 0
    raw_id_fields = ["product"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SupplierProduct]:
        # Each row names its supplier and product (its title, the raw-id label).
        return super().get_queryset(request).select_related("supplier", "product")


@admin.register(Supplier)
class SupplierAdmin(ImportExportAdminMixin, PhoneMaskingAdminMixin, admin.ModelAdmin):
    """Suppliers, with their quality score over the last 90 days (docs/after-sales.md) for HQ
    buyers: on the changelist computed once for the whole page (two aggregate queries), on
    the change page for the one supplier.

    The contact phone is shown whole to staff with `procurement.view_supplier_phone` (HQ
    procurement and operations: buyers call their suppliers) or `customers.view_phone`, and
    masked to anyone else, as members' phones are (DESIGN: masked without an explicit
    permission); the export follows `apps.procurement.access.may_see_supplier_phones`.
    Phone masking is for members' privacy (docs/access.md), not a supplier's business line."""

    resource_classes = [SupplierResource]
    phone_permission = "procurement.view_supplier_phone"
    list_display = [
        "code",
        "name",
        "kind",
        "contact_name",
        "phone",
        "province",
        "is_active",
        "quality_score_90_days",
    ]
    list_filter = ["kind", "is_active", "province"]
    search_fields = ["code", "name", "contact_name"]
    readonly_fields = ["quality_90_days"]
    inlines = [SupplierProductInline]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        # Evaluating the page's queryset here fills its cache: the rows rendered below are
        # these objects, each carrying its score.
        suppliers = list(changelist.result_list)
        scores = supplier_quality_90_days(supplier_ids=[supplier.pk for supplier in suppliers])
        for supplier in suppliers:
            supplier.quality = scores.get(supplier.pk)
        return changelist

    @admin.display(description=_("quality score (90 days)"))
    def quality_score_90_days(self, supplier: Supplier) -> str:
        quality = getattr(supplier, "quality", None)
        if quality is None or quality.score is None:
            return "—"
        return str(quality.score)

    @admin.display(description=_("quality (90 days)"))
    def quality_90_days(self, supplier: Supplier) -> str:
        if supplier.pk is None:
            return "—"
        quality = supplier_quality_90_days(supplier_ids=[supplier.pk])[supplier.pk]
        # Each count through ngettext ("1 after-sales case", "1 purchase-order line"): one
        # sentence for all of them could only be plural.
        return " · ".join(
            [
                gettext("Score %(score)s")
                % {"score": "—" if quality.score is None else quality.score},
                ngettext(
                    "%(cases)d after-sales case, %(charged)d charged to the supplier "
                    "(%(amount)s yuan)",
                    "%(cases)d after-sales cases, %(charged)d charged to the supplier "
                    "(%(amount)s yuan)",
                    quality.case_count,
                )
                % {
                    "cases": quality.case_count,
                    "charged": quality.charged_case_count,
                    "amount": quality.charged_amount,
                },
                ngettext(
                    "%(lines)d purchase-order line, %(short)d of %(ordered)d units short and "
                    "%(damaged)d damaged",
                    "%(lines)d purchase-order lines, %(short)d of %(ordered)d units short and "
                    "%(damaged)d damaged",
                    quality.line_count,
                )
                % {
                    "lines": quality.line_count,
                    "short": quality.units_short,
                    "damaged": quality.units_damaged,
                    "ordered": quality.units_ordered,
                },
            ]
        )


@admin.register(SupplierProduct)
class SupplierProductAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    # SupplierProduct has no import/export permissions of its own: those of suppliers apply.
    resource_classes = [SupplierProductResource]
    import_permission = "procurement.import_supplier"
    export_permission = "procurement.export_supplier"
    list_display = [
        "supplier",
        "product",
        "cost",
        "lead_time_days",
        "min_order_qty",
        "pack_size",
        "is_preferred",
    ]
    list_filter = ["is_preferred", "supplier"]
    search_fields = ["supplier__name", "product__sku", "product__name"]
    list_select_related = ["supplier", "product"]
    raw_id_fields = ["supplier", "product"]


@admin.register(SupplierUser)
class SupplierUserAdmin(admin.ModelAdmin):
    list_display = ["user", "supplier"]
    search_fields = ["user__username", "supplier__name"]
    list_select_related = ["user", "supplier"]
    raw_id_fields = ["user", "supplier"]


# --- purchasing (HQ): purchase orders, their lines, consolidation runs ------------------------


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class PurchaseOrderLineInline(ReadOnlyInline):
    model = PurchaseOrderLine
    fields = [
        "product",
        "demanded_quantity",
        "ordered_quantity",
        "surplus_quantity",
        "shortage_quantity",
        "damaged_quantity",
        "pack_size",
        "min_order_qty",
        "unit_cost",
        "allocation_summary",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrderLine]:
        return (
            super()
            .get_queryset(request)
            .select_related("product")
            .prefetch_related("allocations__store")
        )

    @admin.display(description=_("allocation per store"))
    def allocation_summary(self, line: PurchaseOrderLine) -> str:
        allocations = line.allocations.all()
        # Every allocation of the line is prefetched: the shelf split needs no query.
        shelf_attach_to_lines([line])
        return pgettext("list separator", "; ").join(
            labelled(allocation.store.code, _allocation_units(allocation))
            for allocation in allocations
        )


def _allocation_units(allocation: PurchaseOrderAllocation) -> str:
    """The allocated units, what ships of them when the supplier reported the line short,
    and the store's shelf units of the rounding surplus."""
    if not allocation.reported_short_quantity:
        units = str(allocation.quantity)
    else:
        units = gettext("ships %(shipped)d of %(allocated)d") % {
            "shipped": allocation.to_ship_quantity,
            "allocated": allocation.quantity,
        }
    if allocation.shelf_quantity:
        units += " " + gettext("+ %(shelf)d for the shelf") % {"shelf": allocation.shelf_quantity}
    return units


class PurchaseOrderExceptionInline(ReadOnlyInline):
    model = PurchaseOrderException
    fields = ["kind", "line", "order_line_link", "store", "quantity", "created_at", "resolved_at"]
    readonly_fields = fields
    show_change_link = False

    @admin.display(description=_("order line"))
    def order_line_link(self, exception: PurchaseOrderException) -> str:
        return _order_line_link(exception.order_line_id)


def _order_line_link(order_line_id: int) -> str:
    url = reverse("admin:stores_orderline_change", args=[order_line_id])
    return format_html('<a href="{}">#{}</a>', url, order_line_id)


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "supplier",
        "delivery_date",
        "status",
        "amount",
        "has_shortage",
        "to_deliver_amount",
        "ship_date",
        "sent_at",
        "updated_at",
        "run",
    ]
    list_filter = [
        "status",
        "has_shortage",
        ("replenishment_of", admin.EmptyFieldListFilter),
        "delivery_date",
        "supplier",
    ]
    search_fields = ["number", "supplier__name", "supplier__code"]
    date_hierarchy = "delivery_date"
    list_select_related = ["supplier", "run"]
    raw_id_fields = ["supplier", "run", "acted_by"]
    readonly_fields = [
        "number",
        "supplier",
        "run",
        "replenishment_of",
        "delivery_date",
        "status",
        "amount",
        "has_shortage",
        "shortage_note",
        "to_deliver_amount",
        "ship_date",
        "created_at",
        "sent_at",
        "updated_at",
        "revision",
        "confirmed_at",
        "shipped_at",
        "cancelled_at",
        "acted_by",
    ]
    inlines = [PurchaseOrderLineInline, PurchaseOrderExceptionInline]
    actions = ["send", "cancel"]
    change_list_template = "admin/procurement/purchaseorder/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Purchase orders come from consolidation (and, later, replenishment drafts).
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrder]:
        # The money as the supplier pages compute it, summed in SQL for the whole page.
        return purchase_orders_with_amounts(super().get_queryset(request))

    @admin.display(description=_("amount (yuan)"), ordering="amount")
    def amount(self, po: PurchaseOrder) -> Decimal:
        return po.amount or Decimal("0.00")

    @admin.display(description=_("to deliver (yuan)"), ordering="to_deliver_amount")
    def to_deliver_amount(self, po: PurchaseOrder) -> Decimal:
        """Ordered less the shortage the supplier reported: what it delivers and invoices."""
        return po.to_deliver_amount or Decimal("0.00")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "may_consolidate": consolidate_now_allowed(request),
            "consolidate_back_to": "purchaseorder",
        }
        return super().changelist_view(request, context)

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[PurchaseOrder],
        step: Callable[..., PurchaseOrder],
        done: Callable[[int], str],
    ) -> None:
        bulk_steps(
            self,
            request,
            queryset.order_by("pk"),
            lambda po: step(po=po, by=request.user),
            done,
            refused=PurchaseOrderRefused,
            label=lambda po: po.number,
        )

    @admin.action(
        description=_("Approve: send the selected drafts to their suppliers"),
        permissions=["change"],
    )
    def send(self, request: HttpRequest, queryset: QuerySet[PurchaseOrder]) -> None:
        self._each(
            request,
            queryset,
            purchase_order_send,
            lambda count: (
                ngettext("Sent %(count)d purchase order.", "Sent %(count)d purchase orders.", count)
                % {"count": count}
            ),
        )

    @admin.action(
        description=_("Reject / cancel the selected purchase orders"), permissions=["change"]
    )
    def cancel(
        self, request: HttpRequest, queryset: QuerySet[PurchaseOrder]
    ) -> HttpResponse | None:
        """A confirmation page first (what will be cancelled, with the revision of each, and
        what no longer can be); the confirmed POST cancels through the service, order by
        order, each at the revision the page showed: one a consolidation run added to since
        is refused (`changed`) and stays as it is."""
        if request.POST.get("confirm") == "yes":
            seen = _revisions_seen(request)
            self._each(
                request,
                queryset,
                lambda *, po, by: purchase_order_cancel(po=po, by=by, revision=seen.get(po.pk)),
                lambda count: (
                    ngettext(
                        "Cancelled %(count)d purchase order.",
                        "Cancelled %(count)d purchase orders.",
                        count,
                    )
                    % {"count": count}
                ),
            )
            return None
        orders = list(queryset.select_related("supplier").order_by("pk"))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Cancel purchase orders"),
            "opts": self.model._meta,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": request.POST.get("action", ""),
            "cancellable": [po for po in orders if po.status in CANCELLABLE],
            "kept": [po for po in orders if po.status not in CANCELLABLE],
        }
        return TemplateResponse(
            request, "admin/procurement/purchaseorder/cancel_confirm.html", context
        )


def _revisions_seen(request: HttpRequest) -> dict[int, int]:
    """{purchase order id: the revision the cancel confirmation page showed} from its hidden
    `revision_<id>` fields. A value that is not a whole number counts as revision 0, which no
    order has: the cancel is refused as changed rather than done blind."""
    seen = {}
    for name, value in request.POST.items():
        prefix, _sep, pk = name.partition("_")
        if prefix != "revision" or not is_ascii_number(pk):
            continue
        seen[int(pk)] = int(value) if is_ascii_number(value) else 0
    return seen


class PurchaseOrderAllocationInline(ReadOnlyInline):
    model = PurchaseOrderAllocation
    fields = ["store", "quantity", "reported_short_quantity", "to_ship", "for_the_shelf"]
    readonly_fields = fields

    @admin.display(description=_("to ship"))
    def to_ship(self, allocation: PurchaseOrderAllocation) -> int:
        return allocation.to_ship_quantity

    @admin.display(description=_("for the shelf (rounding surplus)"))
    def for_the_shelf(self, allocation: PurchaseOrderAllocation) -> int:
        # Each row has its own line object, so the line's split is kept on this inline
        # (Django makes one per request) and read once per page, not once per row.
        shelf_by_line = self.__dict__.setdefault("_shelf_by_line", {})
        if allocation.line_id not in shelf_by_line:
            shelf_by_line[allocation.line_id] = shelf_quantities(line_ids=[allocation.line_id])
        return shelf_by_line[allocation.line_id].get(allocation.pk, 0)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrderAllocation]:
        # Each row's title names its line's product and its store.
        return super().get_queryset(request).select_related("store", "line__product")

    show_change_link = False


class PurchaseOrderSourceInline(ReadOnlyInline):
    model = PurchaseOrderSource
    fields = [
        "order_link",
        "order_line_link",
        "store",
        "quantity",
        "short_quantity",
        "damaged_quantity",
        "cancelled_at",
    ]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrderSource]:
        return super().get_queryset(request).select_related("order_line__order__store")

    @admin.display(description=_("store"))
    def store(self, source: PurchaseOrderSource) -> object:
        return source.order_line.order.store

    @admin.display(description=_("order line"))
    def order_line_link(self, source: PurchaseOrderSource) -> str:
        return _order_line_link(source.order_line_id)

    @admin.display(description=_("member order"))
    def order_link(self, source: PurchaseOrderSource) -> str:
        order_id = source.order_line.order_id
        url = reverse("admin:stores_order_change", args=[order_id])
        return format_html('<a href="{}">#{}</a>', url, order_id)


class PurchaseOrderLineForm(forms.ModelForm):
    """A draft line's demand, refused on the field for what `purchase_order_line_edit` would
    refuse for the number itself (too large, or too large once rounded up to whole packs)."""

    class Meta:
        model = PurchaseOrderLine
        fields = ["demanded_quantity"]  # the only field not read-only, and only on a draft

    def clean_demanded_quantity(self) -> int:
        demanded = self.cleaned_data["demanded_quantity"]
        try:
            purchase_order_line_demand_check(line=self.instance, demanded=demanded)
        except PurchaseOrderRefused as refusal:
            raise forms.ValidationError(refusal.message, code=refusal.code) from None
        return demanded


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    form = PurchaseOrderLineForm
    list_display = [
        "purchase_order",
        "product",
        "demanded_quantity",
        "ordered_quantity",
        "surplus_quantity",
        "shortage_quantity",
        "unit_cost",
    ]
    # A buyer looks for one supplier's lines, or a delivery day's.
    list_filter = [
        "purchase_order__status",
        ("purchase_order__supplier", admin.RelatedOnlyFieldListFilter),
        "purchase_order__delivery_date",
    ]
    search_fields = ["purchase_order__number", "product__sku", "product__name"]
    list_select_related = ["purchase_order", "product"]
    raw_id_fields = ["purchase_order", "product"]
    readonly_fields = [
        "purchase_order",
        "product",
        "demanded_quantity",
        "ordered_quantity",
        "surplus_quantity",
        "shortage_quantity",
        "damaged_quantity",
        "receiving_short_quantity",
        "pack_size",
        "min_order_qty",
        "unit_cost",
    ]
    inlines = [PurchaseOrderAllocationInline, PurchaseOrderSourceInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: PurchaseOrderLine | None = None
    ) -> bool:
        # Only a draft's line has anything to edit: another order's line page is view-only
        # (no Save buttons that saved nothing yet said "changed"; a POST is refused, 403).
        if obj is not None and obj.purchase_order.status != PurchaseOrder.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(
        self, request: HttpRequest, obj: PurchaseOrderLine | None = None
    ) -> list[str]:
        # A draft's demand may be edited (replenishment); everything else is read-only.
        if obj is not None and obj.purchase_order.status == PurchaseOrder.Status.DRAFT:
            return [name for name in self.readonly_fields if name != "demanded_quantity"]
        return self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: PurchaseOrderLine, form: object, change: bool
    ) -> None:
        # Only the demand of a draft is editable; the service re-allocates and re-rounds.
        if "demanded_quantity" not in getattr(form, "changed_data", ()):
            return
        try:
            purchase_order_line_edit(line=obj, demanded=obj.demanded_quantity)
        except PurchaseOrderRefused as refusal:
            self.message_user(request, refusal.message, level=messages.ERROR)


@admin.register(PurchaseOrderAllocation)
class PurchaseOrderAllocationAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    list_display = ["line", "store", "quantity", "reported_short_quantity"]
    list_filter = [
        "line__purchase_order__status",
        ("line__purchase_order__supplier", admin.RelatedOnlyFieldListFilter),
        "store__region",
    ]
    search_fields = ["line__purchase_order__number", "store__code", "store__name"]
    list_select_related = ["line__purchase_order", "line__product", "store"]
    raw_id_fields = ["line", "store"]
    readonly_fields = ["line", "store", "quantity", "reported_short_quantity"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PurchaseOrderSource)
class PurchaseOrderSourceAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    list_display = ["order_line", "line", "quantity", "cancelled_at"]
    list_filter = [("cancelled_at", admin.EmptyFieldListFilter)]
    search_fields = ["line__purchase_order__number"]
    list_select_related = [
        "order_line",
        "order_line__product",
        "line__purchase_order",
        "line__product",
    ]
    raw_id_fields = ["order_line", "line"]
    # Every field read-only: consolidation writes the link, cancellation its `cancelled_at`,
    # store receiving its short and damaged units (`receipt_record`, which also shortens the
    # member orders and opens their after-sales cases). Receiving has no correction path
    # (docs/delivery-and-receiving.md), and a hand edit would leave those out of step; it also
    # broke `short_quantity ≤ quantity` with the quantity not on the form (IntegrityError).
    readonly_fields = [
        "order_line",
        "line",
        "quantity",
        "short_quantity",
        "damaged_quantity",
        "cancelled_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PurchaseOrderException)
class PurchaseOrderExceptionAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    list_display = ["purchase_order", "kind", "store", "quantity", "created_at", "resolved_at"]
    list_filter = ["kind", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["purchase_order__number", "store__code"]
    list_select_related = ["purchase_order", "store"]
    raw_id_fields = ["purchase_order", "line", "order_line", "store"]
    readonly_fields = [
        "purchase_order",
        "line",
        "order_line",
        "store",
        "kind",
        "quantity",
        "created_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# Where "consolidate now" returns to: the list its button is on (a fixed choice, no open
# redirect); the consolidation runs by default.
CONSOLIDATE_BACK_TO = {"purchaseorder": "admin:procurement_purchaseorder_changelist"}


def consolidate_now_allowed(request: HttpRequest) -> bool:
    """Whether the user may "consolidate now": it makes and sends purchase orders, so it needs
    the permission to add them."""
    return request.user.has_perm("procurement.add_purchaseorder")


@admin.register(ConsolidationRun)
class ConsolidationRunAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    list_display = [
        "cutoff",
        "status",
        "started_at",
        "finished_at",
        "source_line_count",
        "unsupplied_line_count",
        "purchase_order_count",
        "purchase_order_updated_count",
        "purchase_order_line_count",
    ]
    list_filter = ["status"]
    date_hierarchy = "cutoff"
    search_fields = ["error"]
    readonly_fields = [
        "cutoff",
        "status",
        "started_at",
        "finished_at",
        "source_line_count",
        "unsupplied_line_count",
        "purchase_order_count",
        "purchase_order_updated_count",
        "purchase_order_line_count",
        "error",
    ]
    actions = ["rerun"]
    change_list_template = "admin/procurement/consolidationrun/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # -- "consolidate now": what is waiting goes to the suppliers without waiting for 22:00 --

    def get_urls(self) -> list[URLPattern]:
        own = path(
            "consolidate-now/",
            self.admin_site.admin_view(self.consolidate_now_view),
            name="procurement_consolidationrun_consolidate_now",
        )
        return [own, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "may_consolidate": consolidate_now_allowed(request)}
        return super().changelist_view(request, context)

    def consolidate_now_view(self, request: HttpRequest) -> HttpResponse:
        """POST: consolidate every paid order line waiting for supply, with this moment as the
        cut-off (a run of its own, so it never collides with the 22:00 run or a settlement's),
        in the request, and say what it made; back to the list the button is on. Needs
        `procurement.add_purchaseorder`: the purchase orders are made and sent at once."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not consolidate_now_allowed(request):
            raise PermissionDenied
        back = CONSOLIDATE_BACK_TO.get(
            request.POST.get("back_to", ""), "admin:procurement_consolidationrun_changelist"
        )
        try:
            run = purchase_orders_consolidate(cutoff=timezone.now())
        # The run is kept as failed with its error (listed here, "run again"); say so.
        except Exception as error:
            self.message_user(
                request,
                gettext("The consolidation failed: %(error)s")
                % {"error": f"{type(error).__name__}: {error}"[:300]},
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse(back))
        if run.purchase_order_count or run.purchase_order_updated_count:
            self.message_user(
                request,
                gettext(
                    "Consolidated now: %(orders)s made and %(updated)d added to (not yet "
                    "confirmed), with %(lines)s, from %(sources)s, sent to their suppliers."
                )
                % {
                    "orders": ngettext(
                        "%(count)d purchase order",
                        "%(count)d purchase orders",
                        run.purchase_order_count,
                    )
                    % {"count": run.purchase_order_count},
                    "updated": run.purchase_order_updated_count,
                    "lines": ngettext(
                        "%(count)d line", "%(count)d lines", run.purchase_order_line_count
                    )
                    % {"count": run.purchase_order_line_count},
                    "sources": ngettext(
                        "%(count)d member order line",
                        "%(count)d member order lines",
                        run.source_line_count,
                    )
                    % {"count": run.source_line_count},
                },
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                gettext("Nothing was waiting to be consolidated: no purchase order was made."),
                messages.INFO,
            )
        if run.unsupplied_line_count:
            self.message_user(
                request,
                ngettext(
                    "%(count)d order line keeps waiting: its product has no preferred "
                    "offer of an active supplier.",
                    "%(count)d order lines keep waiting: their products have no preferred "
                    "offer of an active supplier.",
                    run.unsupplied_line_count,
                )
                % {"count": run.unsupplied_line_count},
                messages.WARNING,
            )
        return HttpResponseRedirect(reverse(back))

    @admin.action(
        description=_("Run the selected failed or stale runs again"), permissions=["change"]
    )
    def rerun(self, request: HttpRequest, queryset: QuerySet[ConsolidationRun]) -> None:
        """Each selected run again, oldest cut-off first. A finished run (or one still running
        and not stale) is left as it is and not counted as run again; a run that fails again
        is kept as failed with its error, named in a warning, and the next one is run."""
        finished = 0
        for run in queryset.order_by("cutoff"):
            if run.status == ConsolidationRun.Status.FINISHED:
                self.message_user(
                    request,
                    labelled(run, gettext("already finished, left as it is.")),
                    messages.WARNING,
                )
                continue
            try:
                result = purchase_orders_consolidate(cutoff=run.cutoff, run=run)
            # The service keeps the run as failed with its error (listed here); say so.
            except Exception as error:
                self.message_user(
                    request,
                    labelled(
                        run,
                        gettext("The consolidation failed: %(error)s")
                        % {"error": f"{type(error).__name__}: {error}"[:300]},
                    ),
                    messages.ERROR,
                )
                continue
            if result.status == ConsolidationRun.Status.FINISHED:
                finished += 1
            else:
                self.message_user(
                    request,
                    labelled(run, gettext("still running; try again later.")),
                    messages.WARNING,
                )
        if finished:
            self.message_user(
                request,
                ngettext("%(count)d run is finished.", "%(count)d runs are finished.", finished)
                % {"count": finished},
                messages.SUCCESS,
            )
