"""Admin for community chat messages: browse, and import from CSV (docs/csv-formats.md)."""

from __future__ import annotations

from django.contrib import admin

from apps.customers.models import CommunityMessage
from apps.customers.resources import CommunityMessageResource
from linli.admin_helpers import MemberMaskingAdminMixin
from linli.admin_utils import BigTableAdminMixin, truncated
from linli.imports.admin import ImportAdminMixin


@admin.register(CommunityMessage)
class CommunityMessageAdmin(
    MemberMaskingAdminMixin, BigTableAdminMixin, ImportAdminMixin, admin.ModelAdmin
):
    """Messages are evidence for scene tags: imported or received, not edited by hand. A
    message is the member's own words (`member_text_fields`): hidden from staff without member
    data, shown read-only with phone numbers masked, and not searched by phone number, for
    staff without customers.view_phone (the mixin)."""

    member_text_fields = ("text",)
    resource_classes = [CommunityMessageResource]
    list_display = [
        "sent_at",
        "store",
        "group_name",
        "member",
        truncated("text", model=CommunityMessage),
    ]
    list_filter = ["store__region", "group_name"]
    search_fields = ["text", "group_name", "store__code", "member__member_no"]
    list_select_related = ["store", "member"]
    raw_id_fields = ["store", "member"]
    date_hierarchy = "sent_at"
