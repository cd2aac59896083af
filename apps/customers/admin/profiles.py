"""Admin for profiles, tag rules and segments (imported at the end of customers/admin.py).

Business rules stay in services and selectors: the segment form validates through
`segment_rule_validate`, the live count, sample and preview come from the segment selectors.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms.models import modelform_factory
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from apps.campaigns.selectors.campaigns import tag_targeting_users
from apps.customers.models import MemberProfile, Segment, Tag, TagCategoryRule, TagKeyword
from apps.customers.selectors.segments import (
    SegmentRule,
    segment_rule_of,
    segment_rule_summary,
    segment_summary,
)
from apps.customers.services.segments import segment_rule_validate
from linli.admin_helpers import (
    MemberMaskingAdminMixin,
    RelatedLabelsFromRowsInlineMixin,
    may_see_members,
)
from linli.admin_utils import BigTableAdminMixin, truncated
from linli.phones import phone_mask
from linli.wording import labelled

RULE_FIELDS = [
    "tags_any",
    "tags_all",
    "min_trust_level",
    "max_recency_days",
    "min_frequency_90d",
    "max_frequency_90d",
    "min_spend_90d",
    "max_spend_90d",
    "stores",
    "regions",
    "marketing_consent_required",
]


class TagKeywordInline(admin.TabularInline):
    model = TagKeyword
    extra = 1
    fields = ["keyword"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TagKeyword]:
        # Each row's title names its tag.
        return super().get_queryset(request).select_related("tag")


class TagCategoryRuleInline(RelatedLabelsFromRowsInlineMixin, admin.TabularInline):
    model = TagCategoryRule
    extra = 0
    fields = ["category", "min_purchases"]
    autocomplete_fields = ["category"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TagCategoryRule]:
        # Each row's title names its category and tag, its autocomplete box the category.
        return super().get_queryset(request).select_related("tag", "category")


def _admin_link(obj: Any) -> str:
    """An object as Django's delete page lists a protected one: its kind, and a link to it."""
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, obj)


# Extend whatever TagAdmin customers/admin.py registered (without importing that module back):
# keywords and purchase rules are edited on the tag's page.
_RegisteredTagAdmin = type(admin.site.get_model_admin(Tag))
admin.site.unregister(Tag)


@admin.register(Tag)
class TagAdmin(_RegisteredTagAdmin):  # type: ignore[misc, valid-type]
    inlines = [*_RegisteredTagAdmin.inlines, TagKeywordInline, TagCategoryRuleInline]

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, ...]:
        """Django's delete page and "delete selected" action refuse while anything is listed as
        protected: a tag a campaign or scenario template targets is (the M2M rows would vanish
        and a draft with no tag left targets every member of the store)."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        users = tag_targeting_users(tag_ids=[tag.pk for tag in objs])
        protected = [*protected, *(_admin_link(row) for row in users)]
        return deleted, model_count, perms_needed, protected


@admin.register(TagKeyword)
class TagKeywordAdmin(admin.ModelAdmin):
    list_display = ["keyword", "tag"]
    list_filter = ["tag"]
    search_fields = ["keyword", "tag__name"]
    list_select_related = ["tag"]
    autocomplete_fields = ["tag"]
    ordering = ["tag__name", "keyword"]


@admin.register(TagCategoryRule)
class TagCategoryRuleAdmin(admin.ModelAdmin):
    list_display = ["tag", "category", "min_purchases"]
    list_filter = ["tag"]
    search_fields = ["tag__name", "category__name", "category__code"]
    list_select_related = ["tag", "category"]
    autocomplete_fields = ["tag", "category"]


def _percent(share: Decimal | None) -> str:
    """A stored fraction as a person reads it: 0.3876 → "38.8%"."""
    return "—" if share is None else f"{share:.1%}"


def _share(value: object) -> Decimal | None:
    # A JSON number (top categories' shares): a float or an int, or missing.
    try:
        return Decimal(str(value))
    except (ArithmeticError, ValueError):
        return None


@admin.register(MemberProfile)
class MemberProfileAdmin(MemberMaskingAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    """Read-only: profiles are written only by the nightly recompute."""

    list_display = [
        "member",
        "trust_level",
        "trust_score",
        "recency_days",
        "frequency_90d",
        "spend_90d",
        "average_basket",
        "price_sensitivity_shown",
        "monthly_repurchase_rate_shown",
        "orders_lifetime",
        "spend_lifetime",
        "first_purchase_at",
        "last_purchase_at",
        "computed_at",
    ]
    list_filter = ["trust_level", "member__home_store__region"]
    search_fields = ["member__member_no", "member__name"]
    list_select_related = ["member"]
    raw_id_fields = ["member"]
    # The shares are stored as fractions (0.3876) and read as percentages (38.8%).
    readonly_fields = [
        "price_sensitivity_shown",
        "monthly_repurchase_rate_shown",
        "top_categories_shown",
    ]
    SHOWN_AS_PERCENT = {
        "price_sensitivity": "price_sensitivity_shown",
        "monthly_repurchase_rate": "monthly_repurchase_rate_shown",
        "top_categories": "top_categories_shown",
    }

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The model's order, each share replaced where it stands by its percentage.
        names = [
            field.name
            for field in MemberProfile._meta.fields
            if field.editable and not field.primary_key
        ]
        return [self.SHOWN_AS_PERCENT.get(name, name) for name in names]

    @admin.display(description=_("price sensitivity"), ordering="price_sensitivity")
    def price_sensitivity_shown(self, profile: MemberProfile) -> str:
        return _percent(profile.price_sensitivity)

    @admin.display(description=_("monthly repurchase rate"), ordering="monthly_repurchase_rate")
    def monthly_repurchase_rate_shown(self, profile: MemberProfile) -> str:
        return _percent(profile.monthly_repurchase_rate)

    @admin.display(description=_("top categories"))
    def top_categories_shown(self, profile: MemberProfile) -> str:
        """Each category with its share of the spend: "水果 38.8%、乳品 20.1%"."""
        if not profile.top_categories:
            return "—"
        return pgettext("list separator", ", ").join(
            f"{row.get('category', '?')} {_percent(_share(row.get('share')))}"
            for row in profile.top_categories
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _rule_from_cleaned(cleaned: dict[str, Any]) -> SegmentRule:
    return segment_rule_of(
        tags_any=cleaned.get("tags_any") or (),
        tags_all=cleaned.get("tags_all") or (),
        stores=cleaned.get("stores") or (),
        regions=cleaned.get("regions") or (),
        min_trust_level=cleaned.get("min_trust_level"),
        max_recency_days=cleaned.get("max_recency_days"),
        min_frequency_90d=cleaned.get("min_frequency_90d"),
        max_frequency_90d=cleaned.get("max_frequency_90d"),
        min_spend_90d=cleaned.get("min_spend_90d"),
        max_spend_90d=cleaned.get("max_spend_90d"),
        marketing_consent_required=bool(cleaned.get("marketing_consent_required")),
    )


class SegmentAdminForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "description", *RULE_FIELDS]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            segment_rule_validate(rule=_rule_from_cleaned(cleaned))
        except ValidationError as error:
            for field_name, messages in error.message_dict.items():
                if field_name in self.fields and field_name not in self.errors:
                    self.add_error(field_name, messages)
        return cleaned


SegmentRuleForm = modelform_factory(Segment, fields=RULE_FIELDS)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentAdminForm
    change_form_template = "admin/customers/segment/change_form.html"
    list_display = [
        "name",
        truncated("description", model=Segment),
        "min_trust_level",
        "marketing_consent_required",
        "created_by",
        "created_at",
    ]
    list_filter = ["min_trust_level", "marketing_consent_required"]
    search_fields = ["name", "description"]
    list_select_related = ["created_by"]
    autocomplete_fields = ["tags_any", "tags_all", "stores", "regions"]
    readonly_fields = ["created_by", "created_at"]
    fieldsets = [
        (None, {"fields": ["name", "description"]}),
        (_("Tags"), {"fields": ["tags_any", "tags_all"]}),
        (
            _("Trust and RFM (from the nightly profile)"),
            {
                "fields": [
                    "min_trust_level",
                    "max_recency_days",
                    ("min_frequency_90d", "max_frequency_90d"),
                    ("min_spend_90d", "max_spend_90d"),
                ]
            },
        ),
        (_("Where and consent"), {"fields": ["stores", "regions", "marketing_consent_required"]}),
        (_("Record"), {"fields": ["created_by", "created_at"]}),
    ]

    class Media:
        js = ["customers/segment_preview.js"]

    def get_urls(self) -> list[URLPattern]:
        preview = path(
            "preview/",
            self.admin_site.admin_view(self.preview_view),
            name="customers_segment_preview",
        )
        return [preview, *super().get_urls()]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = dict(extra_context or {})
        segment = self.get_object(request, object_id) if request.method == "GET" else None
        if segment is not None:
            context["segment_summary"] = self._summary_context(
                segment_summary(segment=segment), request=request
            )
        context["segment_preview_url"] = reverse("admin:customers_segment_preview")
        return super().change_view(request, object_id, form_url, context)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        context["segment_preview_url"] = reverse("admin:customers_segment_preview")
        return super().add_view(request, form_url, context)

    def save_model(self, request: HttpRequest, obj: Segment, form: Any, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """Count and sample for the rule currently in the form (GET), without saving anything."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = SegmentRuleForm(request.GET)
        context: dict[str, Any] = {"errors": None, "summary": None}
        if form.is_valid():
            rule = _rule_from_cleaned(form.cleaned_data)
            try:
                segment_rule_validate(rule=rule)
            except ValidationError as error:
                # Each problem with its field's label, as the form puts it beside the field:
                # two ranges can be empty at once, and "the maximum" alone named neither.
                context["errors"] = [
                    labelled(form.fields[name].label, message)
                    for name, messages in error.message_dict.items()
                    for message in messages
                ]
            else:
                context["summary"] = self._summary_context(
                    segment_rule_summary(rule=rule), request=request
                )
        else:
            context["errors"] = [
                labelled(form.fields[name].label if name in form.fields else "", message)
                for name, messages in form.errors.items()
                for message in messages
            ]
        return TemplateResponse(request, "admin/customers/segment/summary.html", context)

    @staticmethod
    def _summary_context(summary: Any, *, request: HttpRequest) -> dict[str, Any]:
        if not may_see_members(request.user):
            # Counts for everyone; the sample's members only for staff who may see members.
            return {"count": summary.count, "rows": []}
        return {
            "count": summary.count,
            "rows": [
                {
                    "member_no": member.member_no,
                    "name": member.name,
                    "phone": phone_mask(member.phone),
                    "home_store": str(member.home_store) if member.home_store_id else "",
                }
                for member in summary.sample
            ],
        }
