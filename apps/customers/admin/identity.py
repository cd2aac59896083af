"""Admin for the unified member ID and feedback: NPS answers (with NPS per store and region),
merge and erasure records, and the member merge / erase actions with confirmation pages.

The actions are wired into `MemberAdmin` (apps/customers/admin.py); business rules stay in the
services (`member_merge`, `member_erase`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from apps.customers.models import Member, MemberErasure, MemberMerge, NpsAnswer
from apps.customers.selectors.nps import DETRACTOR_MAX, PROMOTER_MIN, nps_by_region, nps_by_store
from apps.customers.services.erasure import ErasureRefused, member_erase
from apps.customers.services.identity import MergeRefused, member_merge, member_merge_preview
from linli.admin_helpers import MemberMaskingAdminMixin, UndeletableAdminMixin, may_see_members
from linli.admin_utils import BigTableAdminMixin, truncated
from linli.params import checked_text
from linli.phones import phone_for_viewer

MERGE_PERMISSION = "customers.merge_member"
ERASE_PERMISSION = "customers.erase_member"


def _member_row(member: Member, *, user: object) -> dict[str, Any]:
    return {
        "member": member,
        "phone": phone_for_viewer(member.phone, user=user),
        "identity_count": member.identities.count(),
    }


def _action_context(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, *, title: str
) -> dict[str, Any]:
    return {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "queryset": queryset,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action": request.POST.get("action", ""),
    }


def members_merge(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Member]
) -> HttpResponse | None:
    """Two members selected → confirmation page (choose the one to keep, see what moves) →
    `member_merge`. Anything else → an error message and nothing changes."""
    members = list(queryset.select_related("home_store").order_by("pk")[:3])
    if len(members) != 2:
        modeladmin.message_user(
            request, gettext("Select exactly two members to merge."), messages.ERROR
        )
        return None
    first, second = members
    if request.POST.get("confirm") == "yes":
        keep_id = request.POST.get("keep", "")
        if keep_id not in {str(first.pk), str(second.pk)}:
            modeladmin.message_user(
                request, gettext("Choose which member to keep."), messages.ERROR
            )
            return None
        keep, absorb = (first, second) if keep_id == str(first.pk) else (second, first)
        absorbed_no = absorb.member_no
        try:
            merge = member_merge(keep=keep, absorb=absorb, by=request.user)
        except MergeRefused as error:
            modeladmin.message_user(request, " ".join(error.messages), messages.ERROR)
            return None
        modeladmin.log_change(
            request,
            keep,
            gettext("Merged member %(number)s into this one.") % {"number": absorbed_no},
        )
        moved = merge.moved
        modeladmin.message_user(
            request,
            gettext(
                "Merged %(absorbed)s into %(kept)s: %(orders)d orders, %(identities)d identities, "
                "%(tags)d tags (%(combined)d combined), %(nps)d NPS answers, %(messages)d messages "
                "moved."
            )
            % {
                "absorbed": absorbed_no,
                "kept": keep.member_no,
                "orders": moved.get("orders", 0),
                "identities": moved.get("identities", 0),
                "tags": moved.get("tags", 0),
                "combined": moved.get("tags_combined", 0),
                "nps": moved.get("nps_answers", 0),
                "messages": moved.get("messages", 0),
            },
            messages.SUCCESS,
        )
        return None
    erased = [member for member in members if member.is_erased]
    context = {
        **_action_context(
            modeladmin, request, queryset, title=gettext("Merge two members into one")
        ),
        "members": [_member_row(member, user=request.user) for member in members],
        "previews": [
            member_merge_preview(keep=first, absorb=second),
            member_merge_preview(keep=second, absorb=first),
        ],
        "erased": erased,
    }
    return TemplateResponse(request, "members/admin/merge_confirm.html", context)


def members_erase(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Member]
) -> HttpResponse | None:
    """Selected members → confirmation page (with "requested via") → `member_erase` each.

    Members already erased are reported and skipped; the others are erased one transaction
    each (one member's refusal does not undo another's erasure)."""
    members = list(queryset.select_related("home_store").order_by("member_no"))
    if request.POST.get("confirm") == "yes":
        requested_via = checked_text(request.POST.get("requested_via", "")).strip()
        if not requested_via:
            modeladmin.message_user(
                request,
                gettext("Say how the erasure was requested (e.g. phone call, letter)."),
                messages.ERROR,
            )
            return None
        erased, refused = [], []
        for member in members:
            try:
                member_erase(member=member, by=request.user, requested_via=requested_via)
            except ErasureRefused as error:
                refused.append(" ".join(error.messages))
                continue
            modeladmin.log_change(request, member, gettext("Erased personal data on request."))
            erased.append(member.member_no)
        if erased:
            modeladmin.message_user(
                request,
                ngettext(
                    "Erased %(count)d member: %(numbers)s.",
                    "Erased %(count)d members: %(numbers)s.",
                    len(erased),
                )
                % {"count": len(erased), "numbers": pgettext("list separator", ", ").join(erased)},
                messages.SUCCESS,
            )
        for reason in refused:
            modeladmin.message_user(request, reason, messages.WARNING)
        return None
    context = {
        **_action_context(modeladmin, request, queryset, title=gettext("Erase members' data")),
        "members": [_member_row(member, user=request.user) for member in members],
    }
    return TemplateResponse(request, "members/admin/erase_confirm.html", context)


@admin.register(NpsAnswer)
class NpsAnswerAdmin(
    UndeletableAdminMixin, MemberMaskingAdminMixin, BigTableAdminMixin, admin.ModelAdmin
):
    """Answers, with NPS per region and per store for the rows currently filtered. The
    comment is the member's own words: hidden from staff without member data (the scores and
    NPS stay)."""

    member_text_fields = ("comment",)
    change_list_template = "members/admin/nps_change_list.html"
    list_display = [
        "answered_at",
        "store",
        "member",
        "score",
        "answer_kind",
        truncated("comment", model=NpsAnswer),
    ]
    list_filter = ["score", "store__region", "answered_at"]
    search_fields = ["member__member_no", "store__code", "store__name", "comment"]
    list_select_related = ["store", "member"]
    raw_id_fields = ["member", "store"]
    date_hierarchy = "answered_at"
    # Newest first, on the index `nps_answered_idx` (answered_at, id).
    ordering = ["-answered_at", "-pk"]

    @admin.display(description=_("promoter / detractor"))
    def answer_kind(self, answer: NpsAnswer) -> str:
        if answer.score >= PROMOTER_MIN:
            return gettext("promoter")
        if answer.score <= DETRACTOR_MAX:
            return gettext("detractor")
        return gettext("passive")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context is not None and "cl" in context:
            answers = context["cl"].queryset
            context["nps_regions"] = nps_by_region(answers=answers)
            context["nps_stores"] = nps_by_store(answers=answers)
        return response


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(MemberMerge)
class MemberMergeAdmin(_ReadOnlyAdmin):
    """Merge records, written only by `member_merge`: a record is the absorbed member's data
    (its snapshot), so only staff who may see members see them."""

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return may_see_members(request.user) and super().has_view_permission(request, obj)

    list_display = ["merged_at", "absorbed_member_no", "kept", "merged_by", "moved"]
    list_filter = ["merged_at"]
    search_fields = ["absorbed_member_no", "kept__member_no", "merged_by__username"]
    list_select_related = ["kept", "merged_by"]
    raw_id_fields = ["kept", "merged_by"]
    date_hierarchy = "merged_at"
    exclude = ["absorbed_snapshot"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[Any]:
        user = request.user

        @admin.display(description=_("absorbed member"))
        def absorbed_member(merge: MemberMerge) -> str:
            snapshot = dict(merge.absorbed_snapshot or {})
            if not snapshot:
                return "—"
            snapshot["phone"] = phone_for_viewer(snapshot.get("phone"), user=user)
            snapshot["identities"] = [
                {
                    **item,
                    "value": phone_for_viewer(item.get("value"), user=user)
                    if item.get("kind") == "phone"
                    else item.get("value"),
                }
                for item in snapshot.get("identities", [])
            ]
            return format_html(
                "<pre>{}</pre>",
                "\n".join(f"{key}: {value}" for key, value in snapshot.items()),
            )

        return [
            "kept",
            "absorbed_member_no",
            absorbed_member,
            "moved",
            "merged_by",
            "merged_at",
        ]


@admin.register(MemberErasure)
class MemberErasureAdmin(MemberMaskingAdminMixin, _ReadOnlyAdmin):
    """Erasure records, written only by `member_erase`."""

    list_display = ["erased_at", "member", "requested_via", "erased_by"]
    list_filter = ["erased_at"]
    search_fields = ["member__member_no", "requested_via", "erased_by__username"]
    list_select_related = ["member", "erased_by"]
    raw_id_fields = ["member", "erased_by"]
    date_hierarchy = "erased_at"
