"""Admin for regional delivery plans (with a printable drop-list sheet) and store receipts.

Plans, stops and receipts are written by services only (`delivery_plans_build`,
`delivery_plan_dispatch`, `delivery_stop_delivered`, `receipt_record`): every page here is
read-only, the actions call the services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet, Sum
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.procurement.models import DeliveryPlan, DeliveryStop, Receipt, ReceiptLine
from apps.procurement.selectors.delivery import delivery_plan_sheet
from apps.procurement.services.delivery import (
    DeliveryRefused,
    delivery_plan_dispatch,
    delivery_plans_build,
    delivery_stop_delivered,
)
from linli.wording import labelled


class ReadOnlyAdminMixin:
    """Rows written by services: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryStopInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DeliveryStop
    extra = 0
    fields = ["sequence", "store", "units", "delivered_at"]
    readonly_fields = fields
    ordering = ["sequence"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeliveryStop]:
        return super().get_queryset(request).select_related("store")


def _tomorrow() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=1)


@admin.register(DeliveryPlan)
class DeliveryPlanAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "delivery_date",
        "region",
        "status",
        "stop_count",
        "unit_count",
        "dispatched_at",
        "print_link",
    ]
    list_filter = ["status", "region", "delivery_date"]
    list_select_related = ["region"]
    search_fields = ["region__code", "region__name", "region__city"]
    date_hierarchy = "delivery_date"
    fields = ["region", "delivery_date", "status", "created_at", "dispatched_at", "print_link"]
    readonly_fields = fields
    inlines = [DeliveryStopInline]
    actions = ["plans_build", "plans_dispatch"]
    change_list_template = "admin/procurement/deliveryplan/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeliveryPlan]:
        return (
            super()
            .get_queryset(request)
            .annotate(stop_total=Count("stops"), unit_total=Sum("stops__units"))
        )

    @admin.display(description=_("stops"), ordering="stop_total")
    def stop_count(self, plan: DeliveryPlan) -> int:
        return getattr(plan, "stop_total", 0)

    @admin.display(description=_("units"), ordering="unit_total")
    def unit_count(self, plan: DeliveryPlan) -> int:
        return getattr(plan, "unit_total", None) or 0

    @admin.display(description=_("print"))
    def print_link(self, plan: DeliveryPlan) -> str:
        if plan.pk is None:
            return "—"
        url = reverse("admin:procurement_deliveryplan_print", args=[plan.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Drop lists"))

    # -- permissions of the actions: changing a plan means building or dispatching it ------

    def has_build_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("procurement.change_deliveryplan")

    has_dispatch_permission = has_build_permission

    # -- actions -----------------------------------------------------------------------------

    def _build(self, request: HttpRequest, days: list[dt.date]) -> None:
        for day in sorted(set(days)):
            built = delivery_plans_build(day=day)
            self.message_user(
                request,
                gettext("%(day)s: %(plans)s (%(created)d new), %(stops)s; %(frozen)s")
                % {
                    "day": day.isoformat(),
                    "plans": ngettext("%(count)d plan", "%(count)d plans", built.plans)
                    % {"count": built.plans},
                    "created": built.created,
                    "stops": ngettext("%(count)d stop", "%(count)d stops", built.stops)
                    % {"count": built.stops},
                    "frozen": ngettext(
                        "%(count)d already dispatched left as it is.",
                        "%(count)d already dispatched left as they are.",
                        built.frozen,
                    )
                    % {"count": built.frozen},
                },
                messages.SUCCESS,
            )

    @admin.action(
        description=_("Build tomorrow's plans (and refresh the selected plans' days)"),
        permissions=["build"],
    )
    def plans_build(self, request: HttpRequest, queryset: QuerySet[DeliveryPlan]) -> None:
        days = list(queryset.values_list("delivery_date", flat=True).distinct())
        self._build(request, [_tomorrow(), *days])

    @admin.action(description=_("Dispatch the selected plans"), permissions=["dispatch"])
    def plans_dispatch(self, request: HttpRequest, queryset: QuerySet[DeliveryPlan]) -> None:
        dispatched = 0
        for plan in queryset.order_by("pk"):
            try:
                delivery_plan_dispatch(plan=plan, by=request.user)
            except DeliveryRefused as error:
                self.message_user(request, labelled(plan, error.message), messages.WARNING)
            else:
                dispatched += 1
        if dispatched:
            self.message_user(
                request,
                ngettext("%(count)d plan dispatched.", "%(count)d plans dispatched.", dispatched)
                % {"count": dispatched},
                messages.SUCCESS,
            )

    # -- custom pages: build (a button, also when the list is empty) and the printable sheet --

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "build-tomorrow/",
                self.admin_site.admin_view(self.build_view),
                name="procurement_deliveryplan_build",
            ),
            path(
                "<path:object_id>/print/",
                self.admin_site.admin_view(self.print_view),
                name="procurement_deliveryplan_print",
            ),
        ]
        return [*own, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        context["may_build"] = self.has_build_permission(request)
        context["tomorrow"] = _tomorrow()
        return super().changelist_view(request, context)

    def build_view(self, request: HttpRequest) -> HttpResponse:
        """POST: build tomorrow's plans, back to the list (procurement.change_deliveryplan)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_build_permission(request):
            raise PermissionDenied
        self._build(request, [_tomorrow()])
        return HttpResponseRedirect(reverse("admin:procurement_deliveryplan_changelist"))

    def print_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """An A4 sheet: per stop its drop list and a signature line. Needs the view permission
        (procurement.view_deliveryplan)."""
        plan = self.get_object(request, object_id)
        if plan is None:
            raise Http404
        if not self.has_view_permission(request, plan):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "plan": plan,
            "sheet": delivery_plan_sheet(plan=plan),
            "printed_at": timezone.localtime(),
        }
        return TemplateResponse(request, "admin/procurement/deliveryplan/print.html", context)


@admin.register(DeliveryStop)
class DeliveryStopAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["plan", "sequence", "store", "units", "delivered_at"]
    list_filter = ["plan__status", "plan__delivery_date", "plan__region"]
    list_select_related = ["plan__region", "store"]
    search_fields = ["store__code", "store__name"]
    actions = ["stops_delivered"]

    def has_deliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("procurement.change_deliveryplan")

    @admin.action(description=_("Mark the selected stops delivered"), permissions=["deliver"])
    def stops_delivered(self, request: HttpRequest, queryset: QuerySet[DeliveryStop]) -> None:
        delivered = 0
        for stop in queryset.order_by("pk"):
            try:
                delivery_stop_delivered(stop=stop, by=request.user)
            except DeliveryRefused as error:
                self.message_user(request, labelled(stop.store, error.message), messages.WARNING)
            else:
                delivered += 1
        if delivered:
            self.message_user(
                request,
                ngettext("%(count)d stop delivered.", "%(count)d stops delivered.", delivered)
                % {"count": delivered},
                messages.SUCCESS,
            )


class ReceiptLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReceiptLine
    extra = 0
    fields = [
        "allocation",
        "product",
        "allocated_quantity",
        "shelf_quantity",
        "received_quantity",
        "short_quantity",
        "damaged_quantity",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReceiptLine]:
        # Each row's title names its receipt's purchase order and store and its product; its
        # allocation column the allocation's product and store.
        return (
            super()
            .get_queryset(request)
            .select_related(
                "receipt__purchase_order",
                "receipt__store",
                "allocation__line__product",
                "allocation__store",
            )
        )

    @admin.display(description=_("product"))
    def product(self, line: ReceiptLine) -> str:
        return str(line.allocation.line.product)


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["purchase_order", "store", "received_at", "received_by"]
    # A buyer settling with a supplier reads that supplier's receipts.
    list_filter = [
        ("purchase_order__supplier", admin.RelatedOnlyFieldListFilter),
        "store__region",
        "received_at",
    ]
    list_select_related = ["purchase_order", "store", "received_by"]
    search_fields = ["purchase_order__number", "store__code", "store__name"]
    date_hierarchy = "received_at"
    fields = ["purchase_order", "store", "received_by", "received_at", "note"]
    readonly_fields = fields
    inlines = [ReceiptLineInline]


@admin.register(ReceiptLine)
class ReceiptLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "receipt",
        "allocation",
        "allocated_quantity",
        "shelf_quantity",
        "received_quantity",
        "short_quantity",
        "damaged_quantity",
    ]
    list_select_related = [
        "receipt__purchase_order",
        "receipt__store",
        "allocation__line__product",
        "allocation__store",
    ]
    search_fields = ["receipt__purchase_order__number", "receipt__store__code"]
    raw_id_fields = ["receipt", "allocation"]
