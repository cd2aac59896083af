"""Admin for community chat messages: browse, and import from CSV (docs/csv-formats.md)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.customers.models import CommunityMessage
from apps.customers.resources import CommunityMessageResource
from linli.admin_helpers import PHONE_PERMISSION, MemberMaskingAdminMixin
from linli.admin_utils import BigTableAdminMixin, truncated, truncated_text
from linli.imports.admin import ImportAdminMixin
from linli.phones import phones_masked_in

text_column = truncated("text", model=CommunityMessage)


@admin.display(description=CommunityMessage._meta.get_field("text").verbose_name)
def text_phones_masked(message: CommunityMessage) -> str:
    """The message for staff without customers.view_phone: a phone number a member wrote in
    it is masked (138****1234), as the member's own phone is."""
    return phones_masked_in(message.text)


@admin.display(description=text_column.short_description, ordering="text")
def text_column_phones_masked(message: CommunityMessage) -> str:
    return truncated_text(phones_masked_in(message.text))


# The member masking mixin hides these from staff without member data, as it hides `text`.
text_phones_masked.field_name = "text"  # type: ignore[attr-defined]
text_column_phones_masked.field_name = "text"  # type: ignore[attr-defined]


@admin.register(CommunityMessage)
class CommunityMessageAdmin(
    MemberMaskingAdminMixin, BigTableAdminMixin, ImportAdminMixin, admin.ModelAdmin
):
    """Messages are evidence for scene tags: imported or received, not edited by hand. A
    message is the member's own words: hidden from staff without member data, and shown with
    phone numbers masked to staff without customers.view_phone."""

    member_text_fields = ("text",)
    resource_classes = [CommunityMessageResource]
    list_display = ["sent_at", "store", "group_name", "member", text_column]
    list_filter = ["store__region", "group_name"]
    search_fields = ["text", "group_name", "store__code", "member__member_no"]
    list_select_related = ["store", "member"]
    raw_id_fields = ["store", "member"]
    date_hierarchy = "sent_at"

    def _masks_phones(self, request: HttpRequest) -> bool:
        # Staff without member data do not see the text at all (the mixin).
        return not self._hides_members(request) and not request.user.has_perm(PHONE_PERMISSION)

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        columns = list(super().get_list_display(request))
        if not self._masks_phones(request):
            return columns
        return [text_column_phones_masked if name is text_column else name for name in columns]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str] | None:
        excluded = super().get_exclude(request, obj)
        if obj is None or not self._masks_phones(request):
            return excluded
        return [*(excluded or []), "text"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is None or not self._masks_phones(request):
            return readonly
        return [*readonly, text_phones_masked]
