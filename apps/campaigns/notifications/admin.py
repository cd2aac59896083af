from __future__ import annotations

from django.contrib import admin

from apps.campaigns.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox is written by services; staff read it here (and may fix a failed row)."""

    list_display = [
        "created_at",
        "channel",
        "kind",
        "title",
        "recipient",
        "store",
        "status",
        "read_at",
    ]
    list_filter = ["channel", "status", "kind", "store__region"]
    search_fields = ["title", "dedupe_key", "recipient__username", "store__code"]
    list_select_related = ["recipient", "store"]
    raw_id_fields = ["recipient", "store", "member"]
    readonly_fields = ["dedupe_key", "created_at", "sent_at", "read_at"]
    date_hierarchy = "created_at"
    show_full_result_count = False
