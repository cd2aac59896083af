from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from apps.catalog.models import Product
from apps.customers.models import Member
from apps.devices.models import DeviceAlert
from apps.stores.models import (
    LossBatch,
    LossReason,
    Order,
    OrderLine,
    Region,
    StockLevel,
    StockMovement,
    Store,
    StoreKpiSnapshot,
    StoreStaff,
    StoreTerminal,
)
from apps.stores.resources import (
    RegionResource,
    SalesHistoryResource,
    StockLevelResource,
    StoreResource,
)
from apps.stores.selectors import LOSS_REPORT_DAYS, LossReport, loss_report, loss_report_csv
from apps.stores.services.terminals import terminal_issue, terminal_revoke
from linli.admin_helpers import (
    PHONE_PERMISSION,
    MemberMaskingAdminMixin,
    RelatedLabelsFromRowsInlineMixin,
    UndeletableAdminMixin,
    may_see_members,
    request_cached,
)
from linli.admin_utils import BigTableAdminMixin, exact_key_search, truncated
from linli.imports.admin import ImportAdminMixin, ImportExportAdminMixin
from linli.phones import phone_normalise
from linli.widgets import NativeDateInput, NativeMonthInput

# The store list's key figures cover the last this many days of KPI snapshots.
STORE_FIGURES_DAYS = 30


@admin.register(Region)
class RegionAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    resource_classes = [RegionResource]
    list_display = ["code", "name", "city"]
    list_filter = ["city"]
    search_fields = ["code", "name", "city"]


class StoreStaffInline(RelatedLabelsFromRowsInlineMixin, admin.TabularInline):
    model = StoreStaff
    extra = 0
    raw_id_fields = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoreStaff]:
        # Each row's title names its user and store, its raw-id label the user.
        return super().get_queryset(request).select_related("user", "store")


@admin.register(Store)
class StoreAdmin(ImportExportAdminMixin, admin.ModelAdmin):
    """The store list shows each store's last 30 days (from the nightly KPI snapshots) and
    its open device alerts, each as one subquery of the list's single query, and links to
    the store's portal page."""

    resource_classes = [StoreResource]
    list_display = [
        "code",
        "name",
        "region",
        "status",
        "opened_on",
        "revenue_30d",
        "orders_30d",
        "open_alerts",
        "portal_link",
    ]
    list_filter = ["status", "region"]
    search_fields = ["code", "name", "address"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]
    inlines = [StoreStaffInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Store]:
        since = timezone.localdate() - dt.timedelta(days=STORE_FIGURES_DAYS)
        snapshots = (
            StoreKpiSnapshot.objects.filter(store=OuterRef("pk"), day__gte=since)
            .order_by()
            .values("store")
        )
        alerts = (
            DeviceAlert.objects.filter(store=OuterRef("pk"), status__in=DeviceAlert.ACTIVE_STATUSES)
            .order_by()
            .values("store")
        )
        money = DecimalField(max_digits=14, decimal_places=2)
        return (
            super()
            .get_queryset(request)
            .annotate(
                revenue_30d_total=Coalesce(
                    Subquery(snapshots.annotate(total=Sum("revenue")).values("total")),
                    0,
                    output_field=money,
                ),
                orders_30d_total=Coalesce(
                    Subquery(snapshots.annotate(total=Sum("order_count")).values("total")),
                    0,
                    output_field=IntegerField(),
                ),
                open_alert_total=Coalesce(
                    Subquery(alerts.annotate(total=Count("pk")).values("total")),
                    0,
                    output_field=IntegerField(),
                ),
            )
        )

    @admin.display(description=_("revenue, 30 days (yuan)"), ordering="revenue_30d_total")
    def revenue_30d(self, store: Store) -> Decimal:
        # A sum computed in SQL: SQLite hands it back with fifteen digits, not in cents.
        return Decimal(store.revenue_30d_total).quantize(Decimal("0.01"))

    @admin.display(description=_("orders, 30 days"), ordering="orders_30d_total")
    def orders_30d(self, store: Store) -> int:
        return store.orders_30d_total

    @admin.display(description=_("open alerts"), ordering="open_alert_total")
    def open_alerts(self, store: Store) -> object:
        if not store.open_alert_total:
            return 0
        url = reverse("admin:devices_devicealert_changelist")
        return format_html(
            '<a href="{}?store__id__exact={}&amp;active=yes">{}</a>',
            url,
            store.pk,
            store.open_alert_total,
        )

    @admin.display(description=_("portal"))
    def portal_link(self, store: Store) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("portal:store", args=[store.pk]), gettext("Store page")
        )


@admin.register(StoreStaff)
class StoreStaffAdmin(admin.ModelAdmin):
    list_display = ["user", "store", "role", "created_at"]
    list_filter = ["role", "store__region"]
    search_fields = ["user__username", "user__first_name", "store__code", "store__name"]
    list_select_related = ["user", "store"]
    raw_id_fields = ["user", "store"]


@admin.register(StockLevel)
class StockLevelAdmin(
    UndeletableAdminMixin, BigTableAdminMixin, ImportExportAdminMixin, admin.ModelAdmin
):
    """On-hand is read-only here: it changes only through ledger movements (a CSV stock
    count writes one ADJUSTMENT movement per change)."""

    resource_classes = [StockLevelResource]

    list_display = ["store", "product", "on_hand", "updated_at"]
    list_filter = ["store__region", "product__category"]
    search_fields = ["=store__code", "=product__sku", "product__name"]
    list_select_related = ["store", "product"]
    raw_id_fields = ["store", "product"]
    readonly_fields = ["on_hand", "updated_at"]


# The longest window the loss report reads at once: a year and a day (a leap year's whole year).
LOSS_REPORT_MAX_DAYS = 366


class LossReportForm(forms.Form):
    """The loss report's filters (GET): a month, or a from/to range of days (both included),
    default the last LOSS_REPORT_DAYS days; a region and a store; whether to list the rows
    without a loss (sales only). `cleaned_data` gets `since`
    and `until` as the report reads them (until excluded)."""

    month = forms.DateField(
        label=_("Month"),
        required=False,
        input_formats=["%Y-%m"],
        widget=NativeMonthInput(),
    )
    first_day = forms.DateField(
        label=pgettext_lazy("date range", "From"),
        required=False,
        widget=NativeDateInput(),
    )
    last_day = forms.DateField(label=_("To (included)"), required=False, widget=NativeDateInput())
    region = forms.ModelChoiceField(
        queryset=Region.objects.order_by("code"), required=False, label=_("Region")
    )
    store = forms.ModelChoiceField(
        queryset=Store.objects.order_by("code"), required=False, label=_("Store")
    )
    # Off by default: with 200 stores the rows with sales but no loss (0 %) would bury the
    # rows with a loss below hundreds of zeros.
    with_lossless_rows = forms.BooleanField(required=False, label=_("Show rows without loss"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        month, first, last = data.get("month"), data.get("first_day"), data.get("last_day")
        if self.errors:
            return data
        today = timezone.localdate()
        if month is not None:
            if first or last:
                raise ValidationError(_("Choose a month or a range of days, not both."))
            since = month.replace(day=1)
            until = (since + dt.timedelta(days=32)).replace(day=1)
        else:
            last = last or today
            first = first or last - dt.timedelta(days=LOSS_REPORT_DAYS - 1)
            if first > last:
                raise ValidationError(_("The first day must not be after the last day."))
            since, until = first, last + dt.timedelta(days=1)
        if (until - since).days > LOSS_REPORT_MAX_DAYS:
            raise ValidationError(
                _("The report covers at most %(days)d days.") % {"days": LOSS_REPORT_MAX_DAYS}
            )
        data["since"], data["until"] = since, until
        return data


def _reason_cells(figures: Any, reasons: list[str]) -> list[tuple[int, Decimal] | None]:
    """(units, value) lost for each of `reasons` (the page's columns), None where none."""
    lost = {reason: (units, value) for reason, units, value in figures.lost_by_reason}
    return [lost.get(reason) for reason in reasons]


def _loss_report_context(report: LossReport) -> dict[str, Any]:
    """The page's tables: totals and rows, each with its losses per reason in column order."""
    reasons = report.reasons
    return {
        "reason_labels": [LossReason(reason).label for reason in reasons],
        "network": {
            "figures": report.network.figures,
            "reasons": _reason_cells(report.network.figures, reasons),
        },
        "regions": [
            {
                "label": total.label,
                "figures": total.figures,
                "reasons": _reason_cells(total.figures, reasons),
            }
            for total in report.regions
        ],
        "rows": [
            {
                "store": row.store,
                "figures": row.figures,
                "reasons": _reason_cells(row.figures, reasons),
            }
            for row in report.rows
        ],
    }


@admin.register(StockMovement)
class StockMovementAdmin(MemberMaskingAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    """The ledger is append-only: rows are written by services, never edited. Its notes are
    free text typed at the store (a loss, a cancelled order's reason) that may name a member:
    hidden from staff without member data, like other text about a member (docs/access.md)."""

    member_fields = ()
    member_text_fields = ("note",)

    list_display = [
        "created_at",
        "store",
        "product",
        "kind",
        "reason",
        "quantity",
        "order",
        truncated("note", model=StockMovement),
    ]
    list_filter = ["kind", "reason", "store__region"]
    # Store code or product SKU, exactly: each resolves to ids probed in the ledger's indexes.
    search_fields = ["=store__code", "=product__sku"]
    list_select_related = ["store", "product", "order"]
    raw_id_fields = ["store", "product", "order", "created_by"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
    change_list_template = "admin/stores/stockmovement/change_list.html"

    # -- HQ's loss report: loss rate by store and category (docs/loss.md) --

    def get_urls(self) -> list[URLPattern]:
        report = path(
            "loss-report/",
            self.admin_site.admin_view(self.loss_report_view),
            name="stores_stockmovement_loss_report",
        )
        return [report, *super().get_urls()]

    def loss_report_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the loss rate per store × category over the chosen days (read only), or its
        rows as CSV with `download=csv`; rows without a loss only with `with_lossless_rows`.
        Needs `stores.view_stockmovement` (every HQ group); bad filters re-render the form
        with the reason (400), no figures."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = LossReportForm(request.GET)
        if not form.is_valid():
            report = None
        else:
            data = form.cleaned_data
            region, store = data["region"], data["store"]
            report = loss_report(
                since=data["since"],
                until=data["until"],
                region_id=region.pk if region else None,
                store_id=store.pk if store else None,
                with_lossless_rows=data["with_lossless_rows"],
            )
            if request.GET.get("download") == "csv":
                # The CSV holds the page's rows; its name says when the rows without a loss
                # were left out, so a file read later is not taken for every store × category.
                last_day = report.until - dt.timedelta(days=1)
                scope = "all-rows" if report.with_lossless_rows else "with-loss"
                response = HttpResponse(
                    loss_report_csv(report=report), content_type="text/csv; charset=utf-8"
                )
                response["Content-Disposition"] = content_disposition_header(
                    True, f"loss-rates-{report.since:%Y%m%d}-{last_day:%Y%m%d}-{scope}.csv"
                )
                return response
        query = request.GET.copy()
        query.pop("download", None)
        show_all = query.copy()
        show_all["with_lossless_rows"] = "on"
        context = {
            **self.admin_site.each_context(request),
            "title": _("Loss rate by store and category"),
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "last_day": report.until - dt.timedelta(days=1) if report else None,
            "csv_query": query.urlencode(),
            "show_all_query": show_all.urlencode(),
            "default_days": LOSS_REPORT_DAYS,
            **(_loss_report_context(report) if report else {}),
        }
        return TemplateResponse(
            request,
            "admin/stores/stockmovement/loss_report.html",
            context,
            status=200 if report else 400,
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StockMovement], search_term: str
    ) -> tuple[QuerySet[StockMovement], bool]:
        found = exact_key_search(
            queryset,
            search_term,
            related={
                "store_id": (Store.objects.all(), lambda term: Q(code=term)),
                "product_id": (Product.objects.all(), lambda term: Q(sku=term)),
            },
        )
        return found, False

    def has_add_permission(self, request: object) -> bool:
        # A row added here would not move on-hand: the ledger is written by stock_move only.
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(LossBatch)
class LossBatchAdmin(BigTableAdminMixin, admin.ModelAdmin):
    """The lists of losses recorded at once in the portal (the losses themselves are ledger
    rows): who recorded how many when. Written by `losses_record` only."""

    list_display = ["recorded_at", "store", "loss_count", "recorded_by"]
    list_filter = ["store__region"]
    search_fields = ["=store__code"]
    list_select_related = ["store", "recorded_by"]
    raw_id_fields = ["store", "recorded_by"]
    date_hierarchy = "recorded_at"
    ordering = ["-recorded_at", "-pk"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["product", "quantity", "unit_price", "discount", "line_total"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        return super().get_queryset(request).select_related("product")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(
    UndeletableAdminMixin,
    MemberMaskingAdminMixin,
    BigTableAdminMixin,
    ImportAdminMixin,
    admin.ModelAdmin,
):
    """750 000 orders in the demo: the list is ordered by the (placed, id) index, counted
    by estimate, and searched by exact keys — order number, reference, store code, member
    number (with customers.view_member), member phone (with customers.view_phone too) — each
    an index probe. Without customers.view_member the member shows masked, unlinked."""

    # Sales history CSV import, with its own permission: stores.import_order.
    resource_classes = [SalesHistoryResource]
    list_display = [
        "id",
        "placed_at",
        "store",
        "member",
        "channel",
        "fulfilment",
        "status",
        "total",
    ]
    list_filter = ["channel", "fulfilment", "status", "store__region"]
    search_fields = ["=id", "=reference", "=store__code", "=member__member_no"]
    search_help_text = _(
        "Exact order number, reference, store code, member number or member phone."
    )
    list_select_related = ["store", "member"]
    raw_id_fields = ["store", "member"]
    # Every field read-only, the status too: an order changes state only through its
    # services (pickup, cancellation before pickup, group-buy settlement), which also adjust
    # the purchase orders that buy for it, its stock, its pickup code and its member's
    # messages. A status typed in here did none of that: a paid pre-order "cancelled" here
    # stayed on its supplier's purchase order and was bought and delivered all the same.
    readonly_fields = [field.name for field in Order._meta.fields]
    date_hierarchy = "placed_at"
    ordering = ["-placed_at", "-pk"]
    inlines = [OrderLineInline]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        if not may_see_members(request.user):
            # What the search below does for this viewer: no member number or phone.
            changelist.search_help_text = _("Exact order number, reference or store code.")
        return changelist

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        may_see_phones = request.user.has_perm(PHONE_PERMISSION)
        related = {"store_id": (Store.objects.all(), lambda term: Q(code=term))}

        def member_match(term: str) -> Q:
            match = Q(member_no=term)
            if may_see_phones:
                try:
                    match |= Q(phone=phone_normalise(term))
                except ValidationError:
                    pass
            return match

        if may_see_members(request.user):
            related["member_id"] = (Member.objects.all(), member_match)
        found = exact_key_search(
            queryset,
            search_term,
            fields=["reference"],
            integer_fields=["pk"],
            related=related,
        )
        return found, False

    # Orders are made by order_create (POS API, group buys, imports), which takes stock and
    # totals the lines; an order typed in here would do neither.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # Nothing on an order is edited here (every field above is read-only), so the change page
    # is Django's view-only page: no Save buttons that saved nothing, and a posted form is
    # refused (403). The list, its search and filters, and the sales-history import (its own
    # permission) stay as they are.
    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None) -> list[Any]:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        return [*readonly, *_order_supply_columns(request)]


def _order_supply_columns(request: HttpRequest) -> list[Any]:
    """The order page's links to what supplies it and what was claimed on it: the purchase
    orders its lines are on (PO line ↔ source order line ↔ member order) and its after-sales
    cases, each shown to staff who may open that list. Bound to the request (the viewer's
    permissions) and cached on it: the admin compares readonly callables by identity."""
    user = request.user

    def build() -> list[Any]:
        columns: list[Any] = []
        if user.has_perm("procurement.view_purchaseorder"):

            def purchase_orders(order: Order) -> str:
                rows = (
                    order.lines.filter(purchase_source__isnull=False)
                    .values_list(
                        "purchase_source__line__purchase_order_id",
                        "purchase_source__line__purchase_order__number",
                    )
                    .distinct()
                    .order_by("purchase_source__line__purchase_order_id")
                )
                return _admin_links("admin:procurement_purchaseorder_change", rows)

            purchase_orders.short_description = _("purchase orders")  # type: ignore[attr-defined]
            columns.append(purchase_orders)
        if user.has_perm("procurement.view_aftersalescase"):

            def after_sales_cases(order: Order) -> str:
                rows = order.after_sales_cases.order_by("pk").values_list("pk", "number")
                return _admin_links("admin:procurement_aftersalescase_change", rows)

            after_sales_cases.short_description = _("after-sales cases")  # type: ignore[attr-defined]
            columns.append(after_sales_cases)
        return columns

    return request_cached(request, "order_supply_columns", build)


def _admin_links(url_name: str, rows: Any) -> str:
    """Links to admin change pages, one per (pk, label) row; "—" without rows."""
    rows = list(rows)
    if not rows:
        return "—"
    return format_html_join(
        pgettext("list separator", "; "),
        '<a href="{}">{}</a>',
        ((reverse(url_name, args=[pk]), label) for pk, label in rows),
    )


@admin.register(OrderLine)
class OrderLineAdmin(UndeletableAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    """Order lines are read-only history: they are written with their order. 1.5 million in
    the demo: searched by exact order number or product SKU (index probes)."""

    list_display = ["order", "product", "quantity", "unit_price", "discount", "line_total"]
    search_fields = ["=order__id", "=product__sku"]
    search_help_text = _("Exact order number or product SKU.")
    list_select_related = ["order", "product"]
    raw_id_fields = ["order", "product"]
    ordering = ["-pk"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[OrderLine], search_term: str
    ) -> tuple[QuerySet[OrderLine], bool]:
        found = exact_key_search(
            queryset,
            search_term,
            integer_fields=["order_id"],
            related={"product_id": (Product.objects.all(), lambda term: Q(sku=term))},
        )
        return found, False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(StoreKpiSnapshot)
class StoreKpiSnapshotAdmin(BigTableAdminMixin, admin.ModelAdmin):
    list_display = ["day", "store", "order_count", "revenue", "member_count", "average_basket"]
    list_filter = ["store__region"]
    search_fields = ["=store__code", "store__name"]
    list_select_related = ["store"]
    raw_id_fields = ["store"]
    date_hierarchy = "day"
    ordering = ["-day", "store_id"]
    readonly_fields = ["computed_at"]


@admin.register(StoreTerminal)
class StoreTerminalAdmin(admin.ModelAdmin):
    list_display = ["store", "name", "token_prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["store__region"]
    search_fields = ["store__code", "name", "token_prefix"]
    list_select_related = ["store"]
    raw_id_fields = ["store"]
    readonly_fields = ["token_prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_tokens", "reissue_tokens"]

    # Tokens come only from terminal_issue and are shown once, on the page right after adding
    # (or re-issuing); only their hash is stored, so that page is never cached or redisplayed.
    # Adding a terminal issues a token, so adding, re-issuing and revoking all ask
    # `stores.issue_terminal_token` (HQ operations), not just the model's add / change.

    def has_issue_token_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("stores.issue_terminal_token")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and self.has_issue_token_permission(request)

    def save_model(self, request: HttpRequest, obj: StoreTerminal, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        terminal, token = terminal_issue(store=obj.store, name=obj.name)
        for field in StoreTerminal._meta.concrete_fields:
            setattr(obj, field.attname, getattr(terminal, field.attname))
        obj._state.adding = False
        obj._state.db = terminal._state.db
        request._issued_terminal_tokens = [(terminal, token)]

    def response_add(
        self, request: HttpRequest, obj: StoreTerminal, post_url_continue: str | None = None
    ) -> HttpResponse:
        issued = getattr(request, "_issued_terminal_tokens", None)
        if not issued:
            return super().response_add(request, obj, post_url_continue)
        return self._tokens_page(request, issued)

    @admin.action(
        description=_("Revoke the selected terminals' tokens"), permissions=["issue_token"]
    )
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[StoreTerminal]) -> None:
        revoked = sum(terminal_revoke(terminal=terminal, by=request.user) for terminal in queryset)
        self.message_user(
            request,
            ngettext(
                "Revoked %(count)d terminal token.", "Revoked %(count)d terminal tokens.", revoked
            )
            % {"count": revoked},
        )

    @admin.action(
        description=_("Issue new tokens for the selected terminals (revokes the current ones)"),
        permissions=["issue_token"],
    )
    def reissue_tokens(
        self, request: HttpRequest, queryset: QuerySet[StoreTerminal]
    ) -> HttpResponse:
        issued = []
        with transaction.atomic():
            for terminal in queryset.select_related("store").order_by("pk"):
                terminal_revoke(terminal=terminal, by=request.user)
                issued.append(terminal_issue(store=terminal.store, name=terminal.name))
        return self._tokens_page(request, issued)

    def _tokens_page(
        self, request: HttpRequest, issued: list[tuple[StoreTerminal, str]]
    ) -> HttpResponse:
        response = TemplateResponse(
            request,
            "admin/stores/storeterminal/tokens_issued.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Terminal tokens: copy them now"),
                "opts": self.model._meta,
                "issued": [{"terminal": terminal, "token": token} for terminal, token in issued],
            },
        )
        add_never_cache_headers(response)
        return response


from apps.stores.inspections import admin as inspection_admin  # noqa: E402, F401  (registers the inspection admins)
from apps.stores.kpis import admin as kpi_admin  # noqa: E402, F401  (registers the KPI snapshot admin)

# --- pickup codes and delivery status (read-only: written by the pickup services) ----------------
from apps.stores.models import OrderFulfilment  # noqa: E402


@admin.register(OrderFulfilment)
class OrderFulfilmentAdmin(MemberMaskingAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    """Delivery status and pickup codes, for HQ to look up; changed only at the store's pickup
    counter (apps.procurement.services.pickup), never here. The code shows as its last two
    digits, to everyone: the whole code is the member's to bring (docs/access.md), and an order
    is found here by its number. The delivery note (typed at the counter: where to deliver,
    who to ask for, a cancellation's reason) and what the member gave with a mini-program
    order (address, contact, phone, note) are text about a member: hidden from staff without
    member data."""

    member_fields = ()
    member_text_fields = (
        "delivery_note",
        "delivery_address",
        "delivery_contact",
        "delivery_phone",
        "member_note",
    )

    list_display = [
        "order",
        "store",
        "pickup_code_hint",
        "status",
        "ready_at",
        "ready_notified_at",
        "completed_at",
        "completed_by",
    ]
    list_filter = ["status", "store__region", "store"]
    search_fields = ["=order__id", "store__code"]
    list_select_related = ["order", "store", "completed_by"]
    raw_id_fields = ["order", "store", "completed_by"]
    exclude = ["pickup_code"]
    readonly_fields = ["pickup_code_hint"]

    @admin.display(description=_("pickup code"))
    def pickup_code_hint(self, fulfilment: OrderFulfilment) -> str:
        return fulfilment.pickup_code_hint

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
