"""HQ's admin for scenario templates, campaigns (launched through a form that calls
`campaign_launch`), store campaigns with their packs, and target lists (phones masked).

No business rule lives here: actions call services and report with message_user.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import AdminErrorList, AdminForm
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext, pgettext_lazy

from apps.campaigns.models import (
    Campaign,
    CampaignProduct,
    CampaignTarget,
    ScenarioTemplate,
    StoreCampaign,
)
from apps.campaigns.selectors import review_files
from apps.campaigns.selectors.campaigns import campaign_terms_settled
from apps.campaigns.services import campaigns as services
from apps.campaigns.services.packs import store_campaign_pack_generate, template_check
from apps.campaigns.sources import pack_sources, review_sources
from apps.catalog.models import Product
from apps.customers.models import Segment, Tag
from apps.stores.models import Region, Store
from linli.admin_helpers import (
    MemberMaskingAdminMixin,
    RelatedLabelsFromRowsInlineMixin,
    UndeletableAdminMixin,
    request_cached,
)
from linli.admin_utils import BigTableAdminMixin, truncated
from linli.phones import phone_mask
from linli.widgets import NativeDateInput
from linli.wording import labelled

TEMPLATE_FIELDS = [
    "live_script_template",
    "warmup_copy_template",
    "jielong_copy_template",
    "poster_headline_template",
]


class ScenarioTemplateForm(forms.ModelForm):
    """Refuses a text template that does not compile (the pack would fall back to defaults)."""

    class Meta:
        model = ScenarioTemplate
        fields = [
            "name",
            "code",
            "description",
            "is_active",
            "target_segment",
            "target_tags",
            "categories",
            "products",
            "suggested_hour",
            "duration_days",
            "offer_hours",
            "default_discount_percent",
            "season_months",
            *TEMPLATE_FIELDS,
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in TEMPLATE_FIELDS:
            error = template_check(source=cleaned.get(name) or "")
            if error:
                self.add_error(name, _("Template syntax error: %(error)s") % {"error": error})
        return cleaned


@admin.register(ScenarioTemplate)
class ScenarioTemplateAdmin(admin.ModelAdmin):
    """Scenario templates (周末家庭日, 开学季, 夏季水果季 …). The texts are Django templates; their
    context is documented in docs/campaigns.md."""

    form = ScenarioTemplateForm
    list_display = ["name", "code", "suggested_hour", "duration_days", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    filter_horizontal = ["target_tags", "categories"]
    autocomplete_fields = ["target_segment", "products"]
    fieldsets = [
        (None, {"fields": ["name", "code", "description", "is_active"]}),
        (
            _("Who and what"),
            {"fields": ["target_segment", "target_tags", "categories", "products"]},
        ),
        (
            _("Schedule and offer"),
            {
                "fields": [
                    "suggested_hour",
                    "duration_days",
                    "offer_hours",
                    "default_discount_percent",
                    "season_months",
                ]
            },
        ),
        (
            _("Texts (Django templates; see docs/campaigns.md for the variables)"),
            {"fields": TEMPLATE_FIELDS},
        ),
    ]


def _terms_settled(campaign: Campaign | None, request: HttpRequest | None = None) -> bool:
    """Whether the campaign's terms are settled; asked once per request when given one (the
    admin asks each permission hook and the read-only fields several times a page)."""
    if campaign is None:
        return False
    if request is None:
        return campaign_terms_settled(campaign=campaign)
    return request_cached(
        request,
        f"campaign_terms_settled:{campaign.pk}",
        lambda: campaign_terms_settled(campaign=campaign),
    )


class CampaignProductInline(RelatedLabelsFromRowsInlineMixin, admin.TabularInline):
    """The campaign's products, editable until a store confirms (`campaign_terms_settled`):
    then read-only, since the packs' item numbers, prices and planned promotions were made
    from them."""

    model = CampaignProduct
    extra = 0
    raw_id_fields = ["product"]
    fields = ["product", "price", "suggested_stock", "position"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CampaignProduct]:
        # Each row's title names its campaign and product; the raw-id label its product.
        return super().get_queryset(request).select_related("campaign", "product")

    def has_add_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        return not _terms_settled(obj, request) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        return not _terms_settled(obj, request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        return not _terms_settled(obj, request) and super().has_delete_permission(request, obj)


class CampaignProductForm(forms.ModelForm):
    class Meta:
        model = CampaignProduct
        fields = ["campaign", "product", "price", "suggested_stock", "position"]

    def clean_campaign(self) -> Campaign:
        campaign = self.cleaned_data["campaign"]
        if _terms_settled(campaign):
            raise ValidationError(
                _(
                    "A store has confirmed this campaign (or it is cancelled): its products "
                    "can no longer change."
                )
            )
        return campaign


@admin.register(CampaignProduct)
class CampaignProductAdmin(admin.ModelAdmin):
    """Every campaign's products across campaigns (edited with their campaign, found here;
    read-only once a store confirmed the campaign, as in the campaign's inline)."""

    form = CampaignProductForm
    list_display = ["campaign", "product", "price", "suggested_stock", "position"]
    list_filter = ["campaign__starts_on", "campaign__template"]
    search_fields = ["campaign__name", "product__name", "=product__sku"]
    list_select_related = ["campaign", "product"]
    raw_id_fields = ["campaign", "product"]

    def has_change_permission(
        self, request: HttpRequest, obj: CampaignProduct | None = None
    ) -> bool:
        settled = obj is not None and _terms_settled(obj.campaign, request)
        return not settled and super().has_change_permission(request, obj)

    def has_delete_permission(
        self, request: HttpRequest, obj: CampaignProduct | None = None
    ) -> bool:
        settled = obj is not None and _terms_settled(obj.campaign, request)
        return not settled and super().has_delete_permission(request, obj)


class StoreCampaignInline(admin.TabularInline):
    model = StoreCampaign
    extra = 0
    can_delete = False
    fields = ["store", "status", "confirmed_at", "pack_generated_at"]
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoreCampaign]:
        # Each row's title names its campaign and store.
        return super().get_queryset(request).select_related("campaign", "store")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class TwoBoxPicker(FilteredSelectMultiple):
    """The admin's filter_horizontal picker outside a model form. The admin wraps the select in a
    `related-widget-wrapper` box, and the picker's script puts its boxes first in the select's
    parent; without the box they would land before the field's label."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> str:
        rendered = super().render(name, value, attrs=attrs, renderer=renderer)
        return format_html('<div class="related-widget-wrapper">{}</div>', rendered)


class CampaignLaunchForm(forms.Form):
    """HQ's launch: what, when, where, to whom. Empty optional fields take the template's."""

    template = forms.ModelChoiceField(
        queryset=ScenarioTemplate.objects.filter(is_active=True),
        required=False,
        label=capfirst(_("scenario template")),
    )
    name = forms.CharField(
        max_length=120,
        required=False,
        label=capfirst(_("name")),
        help_text=_("Empty: the template's name."),
    )
    starts_on = forms.DateField(label=capfirst(_("starts on")), widget=NativeDateInput())
    ends_on = forms.DateField(
        required=False,
        label=capfirst(_("ends on")),
        help_text=_("Empty: as long as the template says."),
        widget=NativeDateInput(),
    )
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.filter(is_active=True).order_by("name"),
        required=False,
        label=capfirst(_("products")),
        help_text=_("Empty: the template's products."),
        widget=TwoBoxPicker(_("products"), is_stacked=False),
    )
    regions = forms.ModelMultipleChoiceField(
        queryset=Region.objects.order_by("code"),
        required=False,
        label=capfirst(_("regions")),
        widget=forms.CheckboxSelectMultiple,
    )
    stores = forms.ModelMultipleChoiceField(
        queryset=Store.objects.trading().order_by("code"),
        required=False,
        label=capfirst(_("stores")),
        widget=TwoBoxPicker(_("stores"), is_stacked=False),
    )
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.order_by("name"),
        required=False,
        label=capfirst(_("target segment")),
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.order_by("name"),
        required=False,
        label=capfirst(_("target tags")),
        help_text=_("Empty: the template's tags."),
        widget=TwoBoxPicker(_("target tags"), is_stacked=False),
    )
    discount_percent = forms.IntegerField(
        min_value=0, max_value=90, required=False, label=capfirst(_("discount (%)"))
    )
    broadcast_hour = forms.IntegerField(
        min_value=0, max_value=23, required=False, label=capfirst(_("broadcast hour"))
    )
    # Shown only when the launch overlaps campaigns of the same template (their choices then):
    # HQ ticks each one to launch beside it anyway.
    overlaps_confirmed = forms.ModelMultipleChoiceField(
        queryset=Campaign.objects.filter(status=Campaign.Status.ACTIVE),
        required=False,
        label=capfirst(_("launch alongside")),
        help_text=_("Tick each campaign named above to launch beside it anyway."),
        widget=forms.CheckboxSelectMultiple,
    )


def _names(campaigns: list[Campaign]) -> str:
    return pgettext("list separator", ", ").join(campaign.name for campaign in campaigns)


# A campaign's state as `Campaign.state_label` reads it, ranked in the list's order.
STATE_RANKS = {"upcoming": 0, "running": 1, "ended": 2, "cancelled": 3}


def _state_rank() -> Case:
    """`Campaign.state_label` in SQL, as a rank (upcoming, running, ended, cancelled), for the
    campaign list's state column to sort and filter by."""
    today = timezone.localdate()
    return Case(
        When(status=Campaign.Status.CANCELLED, then=Value(STATE_RANKS["cancelled"])),
        When(starts_on__gt=today, then=Value(STATE_RANKS["upcoming"])),
        When(ends_on__lt=today, then=Value(STATE_RANKS["ended"])),
        default=Value(STATE_RANKS["running"]),
    )


class CampaignStateFilter(admin.SimpleListFilter):
    """By the state the list's status column shows (upcoming, running, ended, cancelled),
    read from the days; the stored status only tells active from cancelled. Filters on the
    `state_rank` the admin's queryset carries."""

    title = _("status")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, Any]]:
        return [
            ("upcoming", pgettext_lazy("campaign state", "Upcoming")),
            ("running", pgettext_lazy("campaign state", "Running")),
            ("ended", pgettext_lazy("campaign state", "Ended")),
            ("cancelled", Campaign.Status.CANCELLED.label),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> QuerySet:
        if self.value() in STATE_RANKS:
            return queryset.filter(state_rank=STATE_RANKS[self.value()])
        return queryset


@admin.register(Campaign)
class CampaignAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    """Campaigns. "Add" opens the launch form (a draft for every chosen store); the products'
    prices can be edited below until the stores confirm."""

    list_display = [
        "name",
        "origin",
        "state",
        "template",
        "starts_on",
        "ends_on",
        "broadcast_hour",
    ]
    list_filter = [CampaignStateFilter, "origin", "template", "starts_on"]
    search_fields = ["name"]
    list_select_related = ["template"]
    date_hierarchy = "starts_on"
    inlines = [CampaignProductInline, StoreCampaignInline]
    raw_id_fields = ["insight_card"]
    autocomplete_fields = ["segment"]
    filter_horizontal = ["target_tags"]
    readonly_fields = ["origin", "status", "insight_card", "created_by", "created_at"]
    # What the stores' packs, planned promotions and target lists are made from: read-only
    # once a store confirmed (or the campaign was cancelled); the name stays editable.
    settled_fields = [
        "template",
        "segment",
        "target_tags",
        "starts_on",
        "ends_on",
        "broadcast_hour",
        "discount_percent",
    ]
    actions = ["cancel_selected", "download_review_xlsx", "download_review_pdf"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        # The state column sorts, and its filter filters, by what it shows, not by the stored
        # status, which says "active" for all but a cancelled campaign.
        return super().get_queryset(request).annotate(state_rank=_state_rank())

    @admin.display(description=_("status"), ordering="state_rank")
    def state(self, campaign: Campaign) -> str:
        return campaign.state_label(today=timezone.localdate())

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        if _terms_settled(obj, request):
            readonly += self.settled_fields
        return readonly

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return self.launch_view(request)

    def launch_view(self, request: HttpRequest) -> HttpResponse:
        """The launch form (GET) and the launch itself (POST, through `campaign_launch`)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CampaignLaunchForm(request.POST or None)
        overlapping: list[Campaign] = []
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            # Ticked ones stay shown (and ticked) when the launch is refused for another reason.
            overlapping = list(data["overlaps_confirmed"])
            try:
                campaign = services.campaign_launch(
                    template=data["template"],
                    name=data["name"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    products=list(data["products"]),
                    stores=list(data["stores"]),
                    regions=list(data["regions"]),
                    segment=data["segment"],
                    tags=list(data["tags"]) or None,
                    discount_percent=data["discount_percent"],
                    broadcast_hour=data["broadcast_hour"],
                    overlaps_confirmed=list(data["overlaps_confirmed"]),
                    by=request.user,
                )
            except services.CampaignOverlapError as error:
                overlapping += error.campaigns
                for message in error.messages:
                    form.add_error(None, message)
                form.add_error(
                    None,
                    _(
                        "To launch anyway, tick them under “Launch alongside”; otherwise change "
                        "the stores or the days, or add the stores to the existing campaign."
                    ),
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                count = campaign.stores.count()
                self.message_user(
                    request,
                    ngettext(
                        "Launched “%(name)s” to %(count)d store.",
                        "Launched “%(name)s” to %(count)d stores.",
                        count,
                    )
                    % {"name": campaign.name, "count": count},
                )
                return HttpResponseRedirect(
                    reverse("admin:campaigns_campaign_change", args=[campaign.pk])
                )
        # The admin's own form layout (fieldset include, forms.css): the two-box pickers look and
        # read like filter_horizontal on every other admin page.
        confirm_field = form.fields["overlaps_confirmed"]
        confirm_field.queryset = Campaign.objects.filter(
            pk__in=[campaign.pk for campaign in overlapping]
        ).order_by("starts_on", "pk")
        fields = [name for name in form.fields if overlapping or name != "overlaps_confirmed"]
        adminform = AdminForm(
            form,
            fieldsets=[(None, {"fields": fields})],
            prepopulated_fields={},
            model_admin=self,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Launch a campaign"),
            "adminform": adminform,
            "errors": AdminErrorList(form, []),
            "opts": self.model._meta,
            "media": self.media + adminform.media,
        }
        return TemplateResponse(request, "campaigns/campaign_launch.html", context)

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Cancel selected campaigns"), permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        """Cancels through the service, then says why each campaign that cancelled nothing
        was skipped: already cancelled, already ended (left as it ran), or — cancelled itself
        — no store left with a draft or confirmed part (declined ones stay declined). When
        nothing was cancelled the warnings are the whole answer, not a green "Cancelled 0"."""
        today = timezone.localdate()
        campaigns = list(queryset.order_by("pk"))
        refusals = {
            c.pk: services.campaign_cancel_refusal(campaign=c, today=today) for c in campaigns
        }
        already = [c for c in campaigns if refusals[c.pk] == services.CANCEL_ALREADY]
        ended = [c for c in campaigns if refusals[c.pk] == services.CANCEL_ENDED]
        cancelled, none_left = 0, []
        for campaign in campaigns:
            count = services.campaign_cancel(campaign=campaign, by=request.user, today=today)
            cancelled += count
            if not count and refusals[campaign.pk] is None:
                none_left.append(campaign)
        warnings = []
        if already:
            warnings.append(
                ngettext(
                    "%(count)d campaign was already cancelled: %(names)s.",
                    "%(count)d campaigns were already cancelled: %(names)s.",
                    len(already),
                )
                % {"count": len(already), "names": _names(already)}
            )
        if ended:
            warnings.append(
                ngettext(
                    "%(count)d campaign had already ended and was left as it ran: %(names)s.",
                    "%(count)d campaigns had already ended and were left as they ran: %(names)s.",
                    len(ended),
                )
                % {"count": len(ended), "names": _names(ended)}
            )
        if none_left:
            warnings.append(
                ngettext(
                    "%(count)d campaign was cancelled with no store campaign to cancel (none "
                    "was a draft or confirmed; declined ones stay declined): %(names)s.",
                    "%(count)d campaigns were cancelled with no store campaign to cancel (none "
                    "was a draft or confirmed; declined ones stay declined): %(names)s.",
                    len(none_left),
                )
                % {"count": len(none_left), "names": _names(none_left)}
            )
        if cancelled or not warnings:
            self.message_user(
                request,
                ngettext(
                    "Cancelled %(count)d store campaign.",
                    "Cancelled %(count)d store campaigns.",
                    cancelled,
                )
                % {"count": cancelled},
            )
        for text in warnings:
            self.message_user(request, text, messages.WARNING)

    def _one(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> Campaign | None:
        if queryset.count() != 1:
            self.message_user(
                request, _("Choose exactly one campaign for its review report."), messages.WARNING
            )
            return None
        return queryset.get()

    @admin.action(description=_("Download the review report (XLSX)"), permissions=["view"])
    def download_review_xlsx(
        self, request: HttpRequest, queryset: QuerySet[Campaign]
    ) -> HttpResponse | None:
        campaign = self._one(request, queryset)
        if campaign is None:
            return None
        response = HttpResponse(
            review_files.campaign_review_xlsx(campaign=campaign, sources=review_sources()),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = content_disposition_header(
            True, review_files.review_filename(campaign, "xlsx")
        )
        return response

    @admin.action(description=_("Download the review report (PDF)"), permissions=["view"])
    def download_review_pdf(
        self, request: HttpRequest, queryset: QuerySet[Campaign]
    ) -> HttpResponse | None:
        campaign = self._one(request, queryset)
        if campaign is None:
            return None
        response = HttpResponse(
            review_files.campaign_review_pdf(campaign=campaign, sources=review_sources()),
            content_type="application/pdf",
        )
        response["Content-Disposition"] = content_disposition_header(
            True, review_files.review_filename(campaign, "pdf")
        )
        return response


@admin.register(StoreCampaign)
class StoreCampaignAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    """Each store's part in a campaign; the pack is read-only here (regenerate it with the
    action)."""

    list_display = ["campaign", "store", "status", "confirmed_at", "pack_generated"]
    list_filter = ["status", "campaign__starts_on", "store__region"]
    search_fields = ["campaign__name", "store__code", "store__name"]
    list_select_related = ["campaign", "store"]
    raw_id_fields = ["campaign", "store"]
    readonly_fields = [
        "campaign",
        "store",
        "status",
        "confirmed_at",
        "confirmed_by",
        "live_script",
        "warmup_copy",
        "jielong_copy",
        "poster",
        "pack_generated_at",
        "created_at",
    ]
    actions = ["regenerate_packs"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # store campaigns come from a launch or an insight card

    @admin.display(description=_("pack generated"), boolean=True)
    def pack_generated(self, store_campaign: StoreCampaign) -> bool:
        return store_campaign.pack_generated_at is not None

    @admin.action(
        description=_("Regenerate the packs of confirmed campaigns"), permissions=["change"]
    )
    def regenerate_packs(self, request: HttpRequest, queryset: QuerySet[StoreCampaign]) -> None:
        """Only a confirmed store campaign has a pack to regenerate; the others selected are
        skipped, and the message says how many of each status and why."""
        done = 0
        sources = pack_sources()
        for store_campaign in queryset.filter(status=StoreCampaign.Status.CONFIRMED).select_related(
            "campaign", "campaign__template", "store"
        ):
            result = store_campaign_pack_generate(store_campaign=store_campaign, sources=sources)
            done += 1
            for error in result.errors:
                self.message_user(request, labelled(store_campaign.store, error), messages.WARNING)
        skipped = dict(
            queryset.exclude(status=StoreCampaign.Status.CONFIRMED)
            .values_list("status")
            .annotate(total=Count("pk"))
            .order_by()
        )
        if done or not skipped:
            self.message_user(
                request,
                ngettext("Regenerated %(count)d pack.", "Regenerated %(count)d packs.", done)
                % {"count": done},
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "Skipped %(count)d store campaign that is not confirmed (%(statuses)s): only "
                    "a confirmed one has a pack to regenerate; a draft gets its pack when its "
                    "store confirms.",
                    "Skipped %(count)d store campaigns that are not confirmed (%(statuses)s): "
                    "only a confirmed one has a pack to regenerate; a draft gets its pack when "
                    "its store confirms.",
                    sum(skipped.values()),
                )
                % {
                    "count": sum(skipped.values()),
                    "statuses": pgettext("list separator", ", ").join(
                        labelled(status.label, skipped[status])
                        for status in StoreCampaign.Status
                        if status in skipped
                    ),
                },
                messages.WARNING,
            )


@admin.register(CampaignTarget)
class CampaignTargetAdmin(
    UndeletableAdminMixin, MemberMaskingAdminMixin, BigTableAdminMixin, admin.ModelAdmin
):
    """Target lists (snapshots taken at confirmation), read-only, phones masked (the full
    number is on the member's own admin page, for those who may see it); without
    customers.view_member only the masked member label."""

    member_columns = ("member_no", "member_name", "phone")
    list_display = [
        "store_campaign",
        "member",
        "member_no",
        "member_name",
        "phone",
        truncated("reason", model=CampaignTarget),
        "created_at",
    ]
    list_select_related = [
        "store_campaign",
        "store_campaign__campaign",
        "store_campaign__store",
        "member",
    ]
    search_fields = ["member__member_no", "member__name", "store_campaign__store__code"]
    list_filter = ["store_campaign__campaign"]
    raw_id_fields = ["store_campaign", "member"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("member number"))
    def member_no(self, target: CampaignTarget) -> str:
        return target.member.member_no

    @admin.display(description=_("name"))
    def member_name(self, target: CampaignTarget) -> str:
        return target.member.name

    @admin.display(description=_("phone"))
    def phone(self, target: CampaignTarget) -> str:
        return phone_mask(target.member.phone)
