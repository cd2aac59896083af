"""HQ admin for inspections: checklists (edited here), inspections (reviewed here), photos and
rectification items (read-only). Status changes only through `apps.stores.inspections.services`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from apps.stores.inspections import selectors, services
from apps.stores.inspections.forms import RectificationFormSet, ReviewForm
from apps.stores.inspections.models import pass_score
from apps.stores.models import (
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
    InspectionItemResult,
    InspectionPhoto,
    InspectionSave,
    RectificationItem,
)
from linli.admin_helpers import UndeletableAdminMixin


def _photo_thumbnail(photo: InspectionPhoto | None, *, small: bool = False) -> str:
    if photo is None:
        return "—"
    url = reverse("inspections:photo", args=[photo.pk])
    # Sized by static/linli/admin.css: the Content-Security-Policy refuses inline style attributes.
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" class="{}" loading="lazy" '
        'alt=""></a>',
        url,
        url,
        "thumbnail small" if small else "thumbnail",
    )


def _overdue_context() -> dict[str, Any]:
    url = reverse("admin:stores_rectificationitem_changelist") + "?" + urlencode({"overdue": "yes"})
    return {"overdue_count": selectors.rectifications_overdue_count(), "overdue_url": url}


class RectificationOverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Overdue")), ("no", _("Not overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        overdue = Q(status=RectificationItem.Status.OPEN, due_date__lt=timezone.localdate())
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


class InspectionOverdueFilter(admin.SimpleListFilter):
    title = _("overdue rectification")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Has overdue items"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(
                pk__in=selectors.rectifications_overdue().values("inspection_id")
            )
        return queryset


class PassLineFilter(admin.SimpleListFilter):
    """Scores at or above the pass line (`INSPECTION_PASS_SCORE`) pass; drafts have no score."""

    title = _("pass line")
    parameter_name = "passed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("yes", pgettext_lazy("inspection score", "Pass")),
            ("no", pgettext_lazy("inspection score", "Fail")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(score__gte=pass_score())
        if self.value() == "no":
            return queryset.filter(score__lt=pass_score())
        return queryset


# --- checklists -----------------------------------------------------------------------------


def _template_in_use(template: ChecklistTemplate | None) -> bool:
    """Whether inspections use this checklist, asked once per template object: the admin
    asks every permission of the inline for every item row."""
    if template is None or template.pk is None:
        return False
    if not hasattr(template, "_in_use"):
        template._in_use = template.inspections.exists()
    return template._in_use


class ChecklistItemInline(admin.TabularInline):
    """Items of a checklist that inspections already use are frozen: make a new version."""

    model = ChecklistItem
    extra = 1
    fields = ["order", "section", "title", "guidance", "weight", "requires_photo"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and not _template_in_use(obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and not _template_in_use(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not _template_in_use(obj)


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "active", "item_count", "inspection_count", "created_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    readonly_fields = ["active", "created_at"]
    inlines = [ChecklistItemInline]
    actions = ["activate", "new_version"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                item_total=Count("items", distinct=True),
                inspection_total=Count("inspections", distinct=True),
            )
        )

    @admin.display(description=_("items"), ordering="item_total")
    def item_count(self, template: ChecklistTemplate) -> int:
        return template.item_total

    @admin.display(description=_("inspections"), ordering="inspection_total")
    def inspection_count(self, template: ChecklistTemplate) -> int:
        return template.inspection_total

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if _template_in_use(obj):
            readonly += ["name", "version"]
        return readonly

    @admin.action(
        description=_("Make the selected checklist the active one"), permissions=["change"]
    )
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        if queryset.count() != 1:
            self.message_user(request, gettext("Select exactly one checklist."), messages.ERROR)
            return
        try:
            template = services.checklist_template_activate(template=queryset.get())
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return
        self.message_user(request, gettext("%(template)s is now active.") % {"template": template})

    @admin.action(description=_("Copy into a new version"), permissions=["add"])
    def new_version(self, request: HttpRequest, queryset: QuerySet) -> None:
        for template in queryset:
            copy = services.checklist_template_new_version(template=template)
            self.message_user(
                request,
                gettext("Created %(copy)s (inactive): edit it, then activate it.") % {"copy": copy},
            )


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = ["title", "template", "section", "weight", "requires_photo", "order"]
    list_filter = ["section", "requires_photo", "template"]
    search_fields = ["title", "guidance", "template__name"]
    list_select_related = ["template"]
    raw_id_fields = ["template"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        in_use = obj is not None and _template_in_use(obj.template)
        return super().has_change_permission(request, obj) and not in_use

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        in_use = obj is not None and _template_in_use(obj.template)
        return super().has_delete_permission(request, obj) and not in_use


# --- inspections ----------------------------------------------------------------------------


class ReadOnlyInlineMixin:
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ResultInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = InspectionItemResult
    fields = ["section", "title", "weight", "score", "note", "photos"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("photos")

    @admin.display(description=_("photos"))
    def photos(self, result: InspectionItemResult) -> str:
        thumbnails = [_photo_thumbnail(photo, small=True) for photo in result.photos.all()]
        return format_html(" ".join(["{}"] * len(thumbnails)), *thumbnails) if thumbnails else "—"


class RectificationInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = RectificationItem
    fields = ["description", "due_date", "status", "overdue", "done_at", "done_note", "photo"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("done_photo")

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, item: RectificationItem) -> bool:
        return item.is_overdue

    @admin.display(description=_("photo of the fix"))
    def photo(self, item: RectificationItem) -> str:
        return _photo_thumbnail(item.done_photo, small=True)


class SaveInline(ReadOnlyInlineMixin, admin.TabularInline):
    """When and by whom the inspector's scoring page was saved (one row per form key)."""

    model = InspectionSave
    fields = ["saved_at", "saved_by"]
    readonly_fields = fields
    ordering = ["saved_at", "id"]
    verbose_name = _("page save")
    verbose_name_plural = _("page saves")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("saved_by")


@admin.register(Inspection)
class InspectionAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    """Read-only record; HQ acts through the Review page (approve / request rectification)."""

    list_display = [
        "id",
        "store",
        "started_at",
        "inspector",
        "status",
        "score",
        "passed",
        "submitted_at",
        "open_items",
        "overdue_items",
        "reviewed_by",
    ]
    list_filter = ["status", PassLineFilter, InspectionOverdueFilter, "store__region", "template"]
    search_fields = ["=id", "store__code", "store__name", "inspector__username"]
    list_select_related = ["store", "inspector", "reviewed_by"]
    raw_id_fields = ["store", "template", "inspector", "reviewed_by"]
    date_hierarchy = "submitted_at"
    inlines = [ResultInline, RectificationInline, SaveInline]
    actions = ["approve"]
    change_form_template = "inspections/admin/inspection_change_form.html"
    change_list_template = "inspections/admin/change_list.html"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        today = timezone.localdate()
        open_items = Q(rectifications__status=RectificationItem.Status.OPEN)
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_total=Count("rectifications", filter=open_items),
                overdue_total=Count(
                    "rectifications", filter=open_items & Q(rectifications__due_date__lt=today)
                ),
            )
        )

    @admin.display(description=_("open items"), ordering="open_total")
    def open_items(self, inspection: Inspection) -> int:
        return inspection.open_total

    @admin.display(description=_("overdue items"), ordering="overdue_total")
    def overdue_items(self, inspection: Inspection) -> int:
        return inspection.overdue_total

    @admin.display(description=_("pass line met"), boolean=True)
    def passed(self, inspection: Inspection) -> bool | None:
        """Score against the pass line, not the review status (approved ≠ passed)."""
        return inspection.passed

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields] + ["passed", "photos"]

    @admin.display(description=_("photos"))
    def photos(self, inspection: Inspection) -> str:
        thumbnails = [_photo_thumbnail(photo) for photo in inspection.photos.all()]
        return format_html(" ".join(["{}"] * len(thumbnails)), *thumbnails) if thumbnails else "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # inspections are made by inspectors in the portal

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), **_overdue_context()})

    @admin.action(description=_("Approve the selected inspections"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        approved = 0
        for inspection in queryset:
            try:
                services.inspection_approve(inspection=inspection, by=request.user)
            except ValidationError as error:
                self.message_user(
                    request,
                    gettext("#%(id)d not approved: %(reason)s")
                    % {"id": inspection.pk, "reason": " ".join(error.messages)},
                    messages.WARNING,
                )
            else:
                approved += 1
        if approved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d inspection approved.", "%(count)d inspections approved.", approved
                )
                % {"count": approved},
            )

    def get_urls(self) -> list[Any]:
        review = path(
            "<path:object_id>/review/",
            self.admin_site.admin_view(self.review_view),
            name="stores_inspection_review",
        )
        return [review, *super().get_urls()]

    def review_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Approve, or request rectification with items and due dates."""
        inspection = self.get_object(request, object_id)
        if inspection is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, inspection):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        form = ReviewForm(data)
        formset = RectificationFormSet(data, inspection=inspection, prefix="rectification")
        if request.method == "POST" and form.is_valid():
            note = form.cleaned_data["note"]
            try:
                if "_approve" in request.POST:
                    services.inspection_approve(inspection=inspection, by=request.user, note=note)
                    self.message_user(
                        request,
                        gettext("Inspection #%(id)d: %(status)s.")
                        % {"id": inspection.pk, "status": inspection.get_status_display()},
                    )
                    return HttpResponseRedirect(
                        reverse("admin:stores_inspection_change", args=[inspection.pk])
                    )
                if "_rectify" in request.POST and formset.is_valid():
                    items = services.inspection_request_rectification(
                        inspection=inspection,
                        by=request.user,
                        items=formset.requests(),
                        note=note,
                    )
                    self.message_user(
                        request,
                        ngettext(
                            "Rectification requested: %(count)d item.",
                            "Rectification requested: %(count)d items.",
                            len(items),
                        )
                        % {"count": len(items)},
                    )
                    return HttpResponseRedirect(
                        reverse("admin:stores_inspection_change", args=[inspection.pk])
                    )
            except ValidationError as error:
                form.add_error(None, error)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": inspection,
            "title": gettext("Review inspection #%(id)d") % {"id": inspection.pk},
            "form": form,
            "formset": formset,
            "results": selectors.inspection_results(inspection=inspection),
            "rectifications": selectors.inspection_rectifications(inspection=inspection),
            "general_photos": selectors.inspection_general_photos(inspection=inspection),
            "pass_score": pass_score(),
            "can_approve": inspection.status
            in (Inspection.Status.SUBMITTED, Inspection.Status.RECTIFIED),
            "can_rectify": inspection.status
            in (
                Inspection.Status.SUBMITTED,
                Inspection.Status.RECTIFICATION_REQUESTED,
                Inspection.Status.RECTIFIED,
            ),
        }
        return TemplateResponse(request, "inspections/admin/review.html", context)


@admin.register(RectificationItem)
class RectificationItemAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    """Read-only list for HQ to follow up; filter "overdue" for what is late."""

    list_display = [
        "id",
        "inspection",
        "store",
        "short_description",
        "due_date",
        "status",
        "overdue",
        "done_at",
        "done_by",
    ]
    list_filter = [RectificationOverdueFilter, "status", "inspection__store__region"]
    search_fields = ["description", "inspection__store__code", "inspection__store__name"]
    list_select_related = ["inspection", "inspection__store", "done_by"]
    raw_id_fields = ["inspection", "result", "created_by", "done_by", "done_photo"]
    date_hierarchy = "due_date"
    change_list_template = "inspections/admin/change_list.html"
    readonly_fields = ["photo"]

    @admin.display(description=_("store"), ordering="inspection__store__code")
    def store(self, item: RectificationItem) -> str:
        return str(item.inspection.store)

    @admin.display(description=_("what to fix"))
    def short_description(self, item: RectificationItem) -> str:
        return item.description if len(item.description) <= 60 else item.description[:59] + "…"

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, item: RectificationItem) -> bool:
        return item.is_overdue

    @admin.display(description=_("photo of the fix"))
    def photo(self, item: RectificationItem) -> str:
        return _photo_thumbnail(item.done_photo)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requested from an inspection's Review page

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # done by the owner in the portal

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), **_overdue_context()})


@admin.register(InspectionPhoto)
class InspectionPhotoAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "thumbnail",
        "inspection",
        "result",
        "uploaded_by",
        "uploaded_at",
        "width",
        "height",
        "size_bytes",
        "source_format",
    ]
    list_filter = ["source_format", "inspection__store__region"]
    search_fields = ["=inspection__id", "inspection__store__code", "result__title"]
    list_select_related = ["inspection__store", "result", "uploaded_by"]
    raw_id_fields = ["inspection", "result", "uploaded_by"]
    date_hierarchy = "uploaded_at"
    readonly_fields = ["thumbnail"]
    exclude = ["image"]  # the storage path is never linked directly: see `thumbnail`
    show_full_result_count = False

    @admin.display(description=_("photo"))
    def thumbnail(self, photo: InspectionPhoto) -> str:
        return _photo_thumbnail(photo)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InspectionItemResult)
class InspectionItemResultAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    list_display = ["inspection", "section", "title", "weight", "score", "updated_at"]
    list_filter = ["section", "score"]
    search_fields = ["title", "note", "inspection__store__code", "=inspection__id"]
    list_select_related = ["inspection__store"]
    raw_id_fields = ["inspection", "item"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
