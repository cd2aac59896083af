"""import-export resources for members and community messages (admin import / export).

Imports go through the import services (all rows or none); exports escape formulas and show
phones only to users with `customers.view_phone`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from apps.customers.models import CommunityMessage, Member, MemberIdentity
from apps.customers.services.imports import community_messages_import, members_import
from linli.imports.admin import ServiceResource
from linli.phones import phone_for_viewer

MEMBER_FIELDS = (
    "phone",
    "name",
    "member_no",
    "gender",
    "birth_year",
    "home_store",
    "joined_at",
    "marketing_consent",
    "member_card",
    "wechat",
)


class MemberResource(ServiceResource):
    """Columns of docs/csv-formats.md § members; an export imports back unchanged, also one
    made by staff who may not see phones: a masked phone on a row with its `member_no` is
    the mask of that member's stored phone, which is kept; a row with only a member number
    (a member known by a POS card or mini-program id alone, or an erased one) names that
    member (`members_import`)."""

    column_labels: ClassVar[dict[str, Promise]] = {
        "member_card": _("Member card"),
        "wechat": _("WeChat open ID"),
    }

    phone = Field(column_name="phone")
    name = Field(attribute="name", column_name="name")
    member_no = Field(attribute="member_no", column_name="member_no")
    gender = Field(attribute="gender", column_name="gender")
    birth_year = Field(column_name="birth_year")
    home_store = Field(column_name="home_store")
    joined_at = Field(column_name="joined_at")
    marketing_consent = Field(column_name="marketing_consent")
    member_card = Field(column_name="member_card")
    wechat = Field(column_name="wechat")

    class Meta:
        model = Member
        fields = MEMBER_FIELDS
        export_order = MEMBER_FIELDS
        name = _("Members")

    import_service = staticmethod(members_import)

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        cards = MemberIdentity.objects.filter(kind=MemberIdentity.Kind.MEMBER_CARD).order_by("pk")
        wechats = MemberIdentity.objects.filter(kind=MemberIdentity.Kind.WECHAT).order_by("pk")
        return queryset.select_related("home_store").prefetch_related(
            Prefetch("identities", queryset=cards, to_attr="member_cards"),
            Prefetch("identities", queryset=wechats, to_attr="member_wechats"),
        )

    def dehydrate_phone(self, member: Member) -> str:
        return phone_for_viewer(member.phone, user=self.user)

    def dehydrate_birth_year(self, member: Member) -> str:
        return "" if member.birth_year is None else str(member.birth_year)

    def dehydrate_home_store(self, member: Member) -> str:
        return member.home_store.code if member.home_store_id else ""

    def dehydrate_joined_at(self, member: Member) -> str:
        return timezone.localtime(member.joined_at).isoformat()

    def dehydrate_marketing_consent(self, member: Member) -> str:
        return "1" if member.marketing_consent else "0"

    def dehydrate_member_card(self, member: Member) -> str:
        cards = getattr(member, "member_cards", None)
        if cards is None:
            cards = list(member.identities.filter(kind=MemberIdentity.Kind.MEMBER_CARD))
        return cards[0].value if cards else ""

    def dehydrate_wechat(self, member: Member) -> str:
        wechats = getattr(member, "member_wechats", None)
        if wechats is None:
            wechats = list(member.identities.filter(kind=MemberIdentity.Kind.WECHAT))
        return wechats[0].value if wechats else ""


MESSAGE_FIELDS = ("store_code", "group_name", "member_identity", "text", "sent_at")


class CommunityMessageResource(ServiceResource):
    """Chat messages: import only (docs/csv-formats.md § chat messages)."""

    store_code = Field(column_name="store_code")
    group_name = Field(attribute="group_name", column_name="group_name")
    member_identity = Field(column_name="member_identity")
    text = Field(attribute="text", column_name="text")
    sent_at = Field(column_name="sent_at")

    class Meta:
        model = CommunityMessage
        fields = MESSAGE_FIELDS
        export_order = MESSAGE_FIELDS
        name = _("Chat messages")

    import_service = staticmethod(community_messages_import)
