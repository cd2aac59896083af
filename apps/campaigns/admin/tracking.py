"""Tracking events in the admin: read-only (they arrive only through the events API), filtered
by kind, campaign and time, searchable by event id and store code."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.campaigns.models import TrackingEvent
from linli.admin_helpers import MemberMaskingAdminMixin


@admin.register(TrackingEvent)
class TrackingEventAdmin(MemberMaskingAdminMixin, admin.ModelAdmin):
    list_display = [
        "event_id",
        "kind",
        "store_campaign",
        "store",
        "member",
        "product",
        "order",
        "occurred_at",
        "received_at",
    ]
    list_filter = [
        "kind",
        # All campaigns, not the campaigns the events name: that would scan the events table.
        "store_campaign__campaign",
        "occurred_at",
    ]
    search_fields = ["=event_id", "=store_campaign__store__code"]
    list_select_related = [
        "store_campaign",
        "store_campaign__campaign",
        "store_campaign__store",
        "member",
        "product",
        "order",
    ]
    raw_id_fields = ["store_campaign", "member", "product", "order"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    @admin.display(description=_("store"), ordering="store_campaign__store__code")
    def store(self, event: TrackingEvent) -> str:
        return str(event.store_campaign.store)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: TrackingEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TrackingEvent | None = None) -> bool:
        return False
