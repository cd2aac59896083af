"""Admin for after-sales cases, their photos and the compensation policy table.

Cases are opened in the store portal; here HQ approves (as the policy proposes), rejects and
marks them resolved, through `apps.procurement.services.aftersales`, with the permission
`procurement.decide_aftersalescase`. A case's fields are read-only: its state changes only by
those actions. Photos are shown through an admin view that checks the photo permission, never
through the storage's URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms.models import BaseModelFormSet
from django.http import FileResponse, Http404, HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.procurement.models import (
    AfterSalesCase,
    AfterSalesPhoto,
    ChargedTo,
    CompensationPolicy,
    Remedy,
)
from apps.procurement.services.aftersales import (
    AfterSalesRefused,
    case_approve,
    case_reject,
    case_resolve,
)
from apps.procurement.views.aftersales import photo_response
from linli.admin_helpers import (
    ActionFormErrorsAdminMixin,
    MemberMaskingAdminMixin,
    UndeletableAdminMixin,
    bulk_steps,
    member_text_redact,
)
from linli.params import checked_text

DECIDE_PERMISSION = "procurement.decide_aftersalescase"


def _photo_thumbnail(photo: AfterSalesPhoto) -> str:
    url = reverse("admin:procurement_aftersalesphoto_image", args=[photo.pk])
    # Sized by static/linli/admin.css: the Content-Security-Policy refuses inline styles.
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" class="thumbnail small" '
        'loading="lazy" alt=""></a>',
        url,
        url,
    )


class CompensationPolicyFormSet(BaseModelFormSet):
    """The editable list's rows. Each row checks its kind and "up to" against the saved table
    (`CompensationPolicy.clean`); two rows changed to the same kind and "up to" in one
    submission are refused here, on both rows, and nothing is saved."""

    def clean(self) -> None:
        super().clean()
        changed: dict[tuple[str, object], list[forms.ModelForm]] = {}
        for form in self.forms:
            if form.has_changed() and form.is_valid():
                policy = form.instance
                changed.setdefault((policy.kind, policy.max_amount), []).append(form)
        for colliding in changed.values():
            if len(colliding) < 2:
                continue
            for form in colliding:
                form.add_error(
                    "max_amount",
                    _(
                        "Another row of %(kind)s is changed to the same “up to” in this "
                        "save; a kind has one row per amount."
                    )
                    % {"kind": form.instance.get_kind_display()},
                )


@admin.register(CompensationPolicy)
class CompensationPolicyAdmin(admin.ModelAdmin):
    """The policy table, edited in place on the changelist. A kind has one row per "up to"
    and one row for any amount; both forms check it with the row's kind (the list does not
    show `kind` as a field), the list also across the rows saved together."""

    list_display = [
        "__str__",
        "kind",
        "max_amount",
        "remedy",
        "charged_to",
        "needs_approval",
        "is_active",
    ]
    list_editable = ["max_amount", "remedy", "charged_to", "needs_approval", "is_active"]
    list_filter = ["kind", "remedy", "charged_to", "is_active"]
    search_fields = ["kind", "remedy", "charged_to"]

    def get_changelist_formset(self, request: HttpRequest, **kwargs: Any) -> type[BaseModelFormSet]:
        return super().get_changelist_formset(request, formset=CompensationPolicyFormSet, **kwargs)


class AfterSalesPhotoInline(admin.TabularInline):
    model = AfterSalesPhoto
    extra = 0
    can_delete = False
    fields = ["thumbnail", "width", "height", "size_bytes", "uploaded_by", "uploaded_at"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AfterSalesPhoto]:
        return super().get_queryset(request).select_related("case", "uploaded_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("photo"))
    def thumbnail(self, photo: AfterSalesPhoto) -> str:
        return _photo_thumbnail(photo)


class CaseDecisionActionForm(ActionForm):
    """Extra fields beside the action menu: an approval may choose the remedy and the cost
    bearer instead of the proposal, and a decision may carry a note for the member."""

    remedy = forms.ChoiceField(
        label=_("Remedy"), choices=[("", _("as proposed"))] + Remedy.choices, required=False
    )
    charged_to = forms.ChoiceField(
        label=_("Cost charged to"),
        choices=[("", _("as proposed"))] + ChargedTo.choices,
        required=False,
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=300,
        required=False,
        error_messages={
            "max_length": _("too long, at most %(limit_value)d characters (it has %(show_value)d).")
        },
    )


@admin.register(AfterSalesCase)
class AfterSalesCaseAdmin(
    ActionFormErrorsAdminMixin, UndeletableAdminMixin, MemberMaskingAdminMixin, admin.ModelAdmin
):
    """Cases for HQ to decide; the member shows masked and unlinked to staff without
    customers.view_member (docs/access.md).

    The description is the member's complaint as the store typed it. HQ procurement decides
    cases without member data, and needs the complaint to decide: staff without member data
    see it with phone numbers masked and the member's name and number replaced by the masked
    label (`member_text_redact`), not searchable."""

    member_text_fields = ("description",)

    list_display = [
        "number",
        "store",
        "kind",
        "amount",
        "status",
        "proposed_remedy",
        "remedy",
        "charged_to",
        "supplier",
        "origin",
        "opened_at",
    ]
    list_filter = [
        "status",
        "kind",
        # "Opened by the system at receiving": the refunds of goods that did not arrive.
        "origin",
        "charged_to",
        ("store", admin.RelatedOnlyFieldListFilter),
        ("supplier", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["number", "=order__id", "order__reference", "store__code", "supplier__code"]
    date_hierarchy = "opened_at"
    list_select_related = ["store", "supplier"]
    raw_id_fields = [
        "store",
        "order",
        "order_line",
        "member",
        "supplier",
        "policy",
        "opened_by",
        "decided_by",
        "receipt",
    ]
    readonly_fields = [
        "number",
        "store",
        "order",
        "order_line",
        "member",
        "supplier",
        "kind",
        "quantity",
        "amount",
        "description",
        "status",
        "policy",
        "proposed_remedy",
        "remedy",
        "charged_to",
        "origin",
        "receipt",
        "opened_by",
        "opened_at",
        "decided_by",
        "decided_at",
        "decision_note",
        "resolved_at",
    ]
    inlines = [AfterSalesPhotoInline]
    actions = ["approve_as_proposed", "reject", "resolve"]
    action_form = CaseDecisionActionForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Cases are opened by the store, on a member's order, in the portal (or by store
        # receiving, for goods that did not arrive).
        return False

    def member_text_redacted(self, obj: AfterSalesCase, field: str) -> str | None:
        return member_text_redact(obj.description, member=obj.member)

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(DECIDE_PERMISSION)

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[AfterSalesCase],
        step: Callable[[AfterSalesCase], AfterSalesCase],
        done: Callable[[int], str],
    ) -> None:
        rows = queryset.select_related("store", "member").order_by("pk")
        bulk_steps(self, request, rows, step, done, refused=AfterSalesRefused)

    @admin.action(
        description=_(
            "Approve the selected cases as the policy proposes (or with the remedy and "
            "cost bearer chosen)"
        ),
        permissions=["decide"],
    )
    def approve_as_proposed(self, request: HttpRequest, queryset: QuerySet[AfterSalesCase]) -> None:
        remedy = checked_text(request.POST.get("remedy", "")) or None
        charged_to = checked_text(request.POST.get("charged_to", "")) or None
        note = checked_text(request.POST.get("note", ""))
        self._each(
            request,
            queryset,
            lambda case: case_approve(
                case=case, by=request.user, remedy=remedy, charged_to=charged_to, note=note
            ),
            lambda count: (
                ngettext("Approved %(count)d case.", "Approved %(count)d cases.", count)
                % {"count": count}
            ),
        )

    @admin.action(description=_("Reject the selected cases"), permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[AfterSalesCase]) -> None:
        note = checked_text(request.POST.get("note", ""))
        self._each(
            request,
            queryset,
            lambda case: case_reject(case=case, by=request.user, note=note),
            lambda count: (
                ngettext("Rejected %(count)d case.", "Rejected %(count)d cases.", count)
                % {"count": count}
            ),
        )

    @admin.action(
        description=_("Mark the selected cases resolved (remedy given)"), permissions=["decide"]
    )
    def resolve(self, request: HttpRequest, queryset: QuerySet[AfterSalesCase]) -> None:
        self._each(
            request,
            queryset,
            lambda case: case_resolve(case=case, by=request.user),
            lambda count: (
                ngettext("Resolved %(count)d case.", "Resolved %(count)d cases.", count)
                % {"count": count}
            ),
        )


@admin.register(AfterSalesPhoto)
class AfterSalesPhotoAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    list_display = ["id", "thumbnail", "case", "uploaded_by", "uploaded_at", "width", "height"]
    search_fields = ["case__number"]
    list_select_related = ["case", "uploaded_by"]
    raw_id_fields = ["case", "uploaded_by"]
    date_hierarchy = "uploaded_at"
    readonly_fields = ["thumbnail"]
    exclude = ["image"]  # the storage path is never linked directly: see `thumbnail`

    @admin.display(description=_("photo"))
    def thumbnail(self, photo: AfterSalesPhoto) -> str:
        return _photo_thumbnail(photo)

    def get_urls(self) -> list[Any]:
        image = path(
            "<id:photo_id>/image/",
            self.admin_site.admin_view(self.image_view),
            name="procurement_aftersalesphoto_image",
        )
        return [image, *super().get_urls()]

    def image_view(self, request: HttpRequest, photo_id: int) -> FileResponse:
        """The photo's bytes for HQ staff who may view case photos (the thumbnails' source)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        photo = AfterSalesPhoto.objects.select_related("case").filter(pk=photo_id).first()
        if photo is None:
            raise Http404
        return photo_response(photo)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
