"""The KPI snapshots in the admin: read-only (the nightly job writes them)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.stores.models import KpiSnapshot


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(admin.ModelAdmin):
    list_display = [
        "period",
        "scope",
        "store",
        "region",
        "code",
        "value",
        "percentile",
        "peer_median",
        "is_complete",
    ]
    list_filter = ["scope", "code", "period", "is_complete", "region"]
    search_fields = ["store__code", "store__name", "code"]
    list_select_related = ["store", "region"]
    raw_id_fields = ["store"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
