"""Broadcasts, group-buy offers, joins and comments in the admin: HQ reads them here; they are
written by the owners' portal, the join API and the settlement task (services), so the admin
changes none of them."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.campaigns.models import Broadcast, BroadcastComment, GroupBuyJoin, GroupBuyOffer
from linli.admin_helpers import MemberMaskingAdminMixin
from linli.admin_utils import BigTableAdminMixin, truncated


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


class GroupBuyOfferInline(admin.TabularInline):
    model = GroupBuyOffer
    fields = [
        "product",
        "price",
        "threshold_kind",
        "threshold",
        "cap",
        "presale",
        "deadline",
        "status",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[GroupBuyOffer]:
        return super().get_queryset(request).select_related("product")

    def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(Broadcast)
class BroadcastAdmin(_ReadOnlyAdmin):
    list_display = [
        "store",
        "store_campaign",
        "status",
        "scheduled_at",
        "started_at",
        "ended_at",
        "reported_peak_viewers",
    ]
    list_filter = ["status", "scheduled_at", "store__region"]
    search_fields = ["=store__code", "store__name", "store_campaign__campaign__name"]
    list_select_related = [
        "store",
        "store_campaign",
        "store_campaign__campaign",
        "store_campaign__store",
    ]
    raw_id_fields = ["store", "store_campaign"]
    date_hierarchy = "scheduled_at"
    inlines = [GroupBuyOfferInline]

    @admin.display(description=_("peak viewers"), ordering="peak_viewers")
    def reported_peak_viewers(self, broadcast: Broadcast) -> str | int:
        """The peak as the platform reported it; "—" before any report (`peak_viewers` is 0
        then by default, and a 0 would be a guess), as the live pages show it."""
        if broadcast.viewers_reported_at is None:
            return "—"
        return broadcast.peak_viewers


@admin.register(GroupBuyOffer)
class GroupBuyOfferAdmin(_ReadOnlyAdmin):
    list_display = [
        "product",
        "store",
        "price",
        "threshold_kind",
        "threshold",
        "cap",
        "presale",
        "units_joined",
        "participants",
        "deadline",
        "status",
        "settled_at",
    ]
    list_filter = ["status", "presale", "threshold_kind", "deadline"]
    search_fields = ["product__name", "=product__sku", "=broadcast__store__code"]
    list_select_related = ["product", "broadcast", "broadcast__store"]
    raw_id_fields = ["broadcast", "product"]

    @admin.display(description=_("store"), ordering="broadcast__store__code")
    def store(self, offer: GroupBuyOffer) -> str:
        return str(offer.broadcast.store)


@admin.register(GroupBuyJoin)
class GroupBuyJoinAdmin(MemberMaskingAdminMixin, BigTableAdminMixin, _ReadOnlyAdmin):
    # The 接龙 display name is the member's chat name: member data like the name.
    member_columns = ("display_name",)
    list_display = ["offer", "member", "display_name", "quantity", "source", "status", "created_at"]
    list_filter = ["status", "source", "created_at"]
    search_fields = ["=idempotency_key", "display_name", "=member__member_no"]
    list_select_related = ["offer", "offer__product", "member"]
    raw_id_fields = ["offer", "member", "order"]


@admin.register(BroadcastComment)
class BroadcastCommentAdmin(MemberMaskingAdminMixin, BigTableAdminMixin, _ReadOnlyAdmin):
    # The author is the viewer's chat name (member data, like the 接龙 name); the text is the
    # member's own words.
    member_columns = ("author",)
    member_text_fields = ("text",)
    list_display = ["broadcast", "author", truncated("text", model=BroadcastComment), "created_at"]
    list_filter = ["created_at"]
    search_fields = ["text", "author"]
    list_select_related = ["broadcast", "broadcast__store"]
    raw_id_fields = ["broadcast", "member"]
