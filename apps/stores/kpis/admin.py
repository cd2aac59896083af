"""The KPI snapshots in the admin: read-only (the nightly job writes them). Codes and values
are shown as the KPI pages show them: the KPI's translated label, the value in its format
("¥17,176,917", "12.3%")."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.stores.kpis.definitions import KPIS, kpi_label, kpi_value
from apps.stores.models import KpiSnapshot


class KpiFilter(admin.SimpleListFilter):
    title = _("KPI")
    parameter_name = "code"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(kpi.code, str(kpi.label)) for kpi in KPIS]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(code=self.value()) if self.value() else queryset


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(admin.ModelAdmin):
    list_display = [
        "period",
        "scope",
        "store",
        "region",
        "kpi",
        "value_shown",
        "percentile",
        "peer_median_shown",
        "is_complete",
    ]
    list_filter = ["scope", KpiFilter, "period", "is_complete", "region"]
    search_fields = ["store__code", "store__name", "code"]
    list_select_related = ["store", "region"]
    raw_id_fields = ["store"]
    show_full_result_count = False

    @admin.display(description=_("KPI"), ordering="code")
    def kpi(self, snapshot: KpiSnapshot) -> str:
        return kpi_label(snapshot.code)

    @admin.display(description=_("value"), ordering="value")
    def value_shown(self, snapshot: KpiSnapshot) -> str:
        return kpi_value(snapshot.code, snapshot.value)

    @admin.display(description=_("peer median"), ordering="peer_median")
    def peer_median_shown(self, snapshot: KpiSnapshot) -> str:
        return kpi_value(snapshot.code, snapshot.peer_median)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
