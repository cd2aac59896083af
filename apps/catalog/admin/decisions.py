"""HQ admin for the decision engine (imported at the end of apps/catalog/admin.py).

Derived tables are read-only here: they are recomputed by the nightly run. HQ edits only the
decision settings; accepting insight cards goes through the same service as the portal (the
campaigns' `campaign_draft_from_insight`, reached through the composition root
apps/catalog/sources.py): each accepted card gets its campaign draft.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as django_apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from apps.catalog.models import (
    CoPurchaseRule,
    DailyListEntry,
    DecisionRun,
    DecisionSettings,
    DemandForecast,
    ForecastBacktest,
    ForecastMethodChoice,
    InsightCard,
    MemberSuggestion,
    ProductRepurchaseInterval,
    RuleRun,
    weather_missing_text,
)
from apps.stores.access import ACCEPT_INSIGHT
from apps.stores.services.kpis import BACKFILL_MAX_DAYS, kpi_backfill_range_check
from linli.admin_helpers import UndeletableAdminMixin, bulk_steps
from linli.admin_utils import BigTableAdminMixin, truncated_text
from linli.celery import app as celery_app
from linli.params import is_ascii_number
from linli.schedules import SCHEDULES
from linli.wording import bracketed


class ReadOnlyAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    """Computed rows: viewable and searchable, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DecisionSettings)
class DecisionSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "rules_window_days",
        "rules_min_support",
        "rules_min_confidence",
        "service_level",
        "updated_at",
    ]
    fieldsets = [
        (
            _("Co-purchase rules"),
            {
                "fields": [
                    "rules_window_days",
                    "rules_min_support",
                    "rules_min_confidence",
                    "rules_min_pair_count",
                    "rules_per_product",
                    "rules_store_scope",
                ]
            },
        ),
        (
            _("Forecasts and orders"),
            {
                "fields": [
                    "history_days",
                    "service_level",
                    "review_period_days",
                    "default_lead_time_days",
                ]
            },
        ),
        (
            _("Lists and insights"),
            {
                "fields": [
                    "hot_list_size",
                    "new_list_size",
                    "new_product_days",
                    "insight_cards_per_store",
                ]
            },
        ),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not DecisionSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: DecisionSettings, form: Any, change: bool
    ) -> None:
        obj.pk = 1
        super().save_model(request, obj, form, change)


@admin.register(RuleRun)
class RuleRunAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "scope",
        "region",
        "store",
        "basket_count",
        "rule_count",
        "duration_ms",
    ]
    list_filter = ["scope", "region"]
    search_fields = ["store__code", "store__name", "region__name"]
    list_select_related = ["region", "store"]
    raw_id_fields = ["region", "store"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(CoPurchaseRule)
class CoPurchaseRuleAdmin(ReadOnlyAdmin):
    list_display = [
        "sentence_column",
        "scope",
        "region",
        "store",
        "pair_count",
        "support",
        "confidence",
        "lift",
    ]
    list_filter = ["scope", "region"]
    search_fields = [
        "antecedent__name",
        "antecedent__sku",
        "antecedent_category__name",
        "consequent__name",
        "consequent__sku",
        "consequent_category__name",
        "store__code",
    ]
    list_select_related = [
        "antecedent",
        "consequent",
        "antecedent_category",
        "consequent_category",
        "region",
        "store",
    ]
    raw_id_fields = [
        "run",
        "region",
        "store",
        "antecedent",
        "consequent",
        "antecedent_category",
        "consequent_category",
    ]
    ordering = ["-confidence"]
    show_full_result_count = False

    @admin.display(description=_("In words"))
    def sentence_column(self, rule: CoPurchaseRule) -> str:
        return rule.sentence()


@admin.register(ForecastBacktest)
class ForecastBacktestAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "first_origin",
        "last_origin",
        "origin_count",
        "series_count",
        "model_wape",
        "seasonal_naive_wape",
        "duration_s",
    ]
    readonly_fields = ["metrics_pretty"]
    exclude = ["metrics"]
    date_hierarchy = "created_at"
    search_fields = ["first_origin"]

    def _overall_wape(self, backtest: ForecastBacktest, method: str) -> str:
        wape = backtest.metrics.get("overall", {}).get(method, {}).get("wape")
        return "—" if wape is None else f"{wape:.1%}"

    @admin.display(description=_("model WAPE"))
    def model_wape(self, backtest: ForecastBacktest) -> str:
        return self._overall_wape(backtest, "gbm")

    @admin.display(description=_("seasonal naive WAPE"))
    def seasonal_naive_wape(self, backtest: ForecastBacktest) -> str:
        return self._overall_wape(backtest, "seasonal_naive")

    @admin.display(description=_("metrics"))
    def metrics_pretty(self, backtest: ForecastBacktest) -> str:
        return format_html("<pre>{}</pre>", json.dumps(backtest.metrics, indent=2))


@admin.register(ForecastMethodChoice)
class ForecastMethodChoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "category",
        "method",
        "model_wape",
        "best_baseline",
        "best_baseline_wape",
        "chosen_at",
    ]
    list_filter = ["method", "best_baseline"]
    search_fields = ["category__name", "category__code"]
    list_select_related = ["category", "backtest"]
    raw_id_fields = ["category", "backtest"]


@admin.register(DemandForecast)
class DemandForecastAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    list_display = [
        "store",
        "product",
        "start_day",
        "method",
        "total",
        "on_hand",
        "safety_stock",
        "suggested_qty",
    ]
    list_filter = ["method", "start_day"]
    search_fields = ["=store__code", "store__name", "=product__sku", "product__name"]
    list_select_related = ["store", "product"]
    raw_id_fields = ["store", "product"]


@admin.register(MemberSuggestion)
class MemberSuggestionAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    """The nightly ranker's stored suggestions (replaced whole by each run over the network)."""

    list_display = ["member_id", "rank", "product", "score", "day"]
    list_filter = ["day"]
    search_fields = ["=member_id", "=product__sku", "product__name"]
    list_select_related = ["product"]
    raw_id_fields = ["product"]


@admin.register(ProductRepurchaseInterval)
class ProductRepurchaseIntervalAdmin(ReadOnlyAdmin):
    """The nightly run's product repurchase intervals, which the member pages read."""

    list_display = ["product", "interval_days", "day"]
    list_filter = ["day"]
    search_fields = ["=product__sku", "product__name"]
    list_select_related = ["product"]
    ordering = ["product__sku"]


@admin.register(DailyListEntry)
class DailyListEntryAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    list_display = [
        "day",
        "store",
        "list_kind",
        "rank",
        "product",
        "suggested_qty",
        "reason_shown",
    ]
    list_filter = ["list_kind", "reason_kind", "day"]
    search_fields = ["store__code", "store__name", "product__sku", "product__name"]
    list_select_related = ["store", "product"]
    raw_id_fields = ["store", "product"]
    date_hierarchy = "day"

    @admin.display(description=_("reason"))
    def reason_shown(self, entry: DailyListEntry) -> str:
        return truncated_text(entry.reason)


class AcceptedFilter(admin.SimpleListFilter):
    """Which cards the stores (or HQ) took up: accepted ones have their campaign drafted."""

    title = pgettext_lazy("insight card filter", "accepted")
    parameter_name = "accepted"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, Promise]]:
        return [("yes", _("Accepted")), ("no", _("Not accepted"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[InsightCard]) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(accepted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(accepted_at__isnull=True)
        return queryset


@admin.register(InsightCard)
class InsightCardAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    list_display = [
        "day",
        "store",
        "rank",
        "product",
        "reason_shown",
        "broadcast_hour",
        "stock_qty",
        "accepted_at",
        "accepted_by",
    ]
    list_filter = [
        AcceptedFilter,
        "reason_kind",
        "day",
        "broadcast_hour_source",
        "store__region",
    ]
    search_fields = ["store__code", "store__name", "product__sku", "product__name"]
    list_select_related = ["store", "product", "accepted_by"]
    raw_id_fields = ["store", "product", "accepted_by"]
    date_hierarchy = "day"
    actions = ["accept_cards"]

    @admin.display(description=_("reason"))
    def reason_shown(self, card: InsightCard) -> str:
        return truncated_text(card.reason)

    def has_accept_permission(self, request: HttpRequest) -> bool:
        """Accepting drafts a campaign: the permission to make campaigns, as the portal's
        ACCEPT_INSIGHT asks HQ (reading the cards alone is not enough)."""
        return self.has_view_permission(request) and request.user.has_perm(
            ACCEPT_INSIGHT.hq_permission
        )

    @admin.action(description=_("Accept the selected insight cards"), permissions=["accept"])
    def accept_cards(self, request: HttpRequest, queryset: QuerySet[InsightCard]) -> None:
        """Each card as the owner's accept in the portal: accepted and its campaign drafted in
        one transaction, or refused (the overlap message naming the campaign), or already
        accepted with its campaign drafted earlier — one warning per card not drafted."""
        # Imported here, not at the top: the composition root pulls in the decision engine
        # (pandas, scikit-learn, scipy), which every process would otherwise load at
        # django.setup() through the admin's autodiscovery (tests/linli/test_startup.py).
        from apps.catalog.sources import InsightNotDrafted, insight_card_draft

        bulk_steps(
            self,
            request,
            queryset.select_related("store", "product").order_by("store__code", "day", "rank"),
            lambda card: insight_card_draft(card=card, by=request.user),
            lambda count: (
                ngettext(
                    "%(count)d insight card accepted and its campaign drafted.",
                    "%(count)d insight cards accepted and their campaigns drafted.",
                    count,
                )
                % {"count": count}
            ),
            refused=InsightNotDrafted,
            label=lambda card: bracketed(card.product.name, f"{card.store.code} {card.day}"),
        )


@dataclass(frozen=True)
class NightlyJob:
    """A nightly beat job HQ may start at once from the admin."""

    task: str
    label: Promise
    permission: str  # "app_label.codename" the user needs to start it
    # "app_label.model" whose admin list shows what the job writes (the decision runs show
    # their own progress; the other jobs' results appear in their list when they are done)
    results: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    # "Run now" offers a first and a last day (sent as `first_day` / `last_day`): the KPI
    # pack's backfill of an imported history (`kpi_history_backfill`).
    date_range: bool = False


# Every job `linli.schedules` runs at a fixed hour of the day (nightly or daily), with the
# permission that starting it needs; tests/catalog/test_nightly_admin.py checks none is missing.
NIGHTLY_JOBS: tuple[NightlyJob, ...] = (
    NightlyJob(
        "apps.customers.tasks.member_profiles_recompute_task",
        _("Member profiles, trust levels and automatic tags"),
        "customers.change_memberprofile",
        "customers.memberprofile",
    ),
    NightlyJob(
        "apps.catalog.tasks.decisions_nightly_task",
        _("Decisions: co-purchase rules, forecasts, hot and new lists, insight cards"),
        "catalog.add_decisionrun",
        "catalog.decisionrun",
        {"force": True},
    ),
    NightlyJob(
        "apps.procurement.tasks.purchase_orders_replenish_task",
        _("Replenishment drafts from the latest suggested order quantities"),
        "procurement.add_purchaseorder",
        "procurement.purchaseorder",
    ),
    NightlyJob(
        "apps.procurement.tasks.purchase_orders_consolidate_task",
        _("Daily consolidation of paid supply orders"),
        "procurement.add_purchaseorder",
        "procurement.purchaseorder",
    ),
    NightlyJob(
        "apps.procurement.tasks.delivery_plans_build_task",
        _("Tomorrow's regional delivery plans"),
        "procurement.change_deliveryplan",
        "procurement.deliveryplan",
    ),
    NightlyJob(
        "apps.stores.tasks.kpi_snapshots_task",
        _("KPI pack: monthly figures per store, region and network"),
        "stores.add_kpisnapshot",
        "stores.kpisnapshot",
        date_range=True,
    ),
)


def nightly_jobs() -> list[tuple[NightlyJob, str]]:
    """(job, "HH:MM" local time) for every fixed-hour schedule that has a NightlyJob."""
    by_task = {job.task: job for job in NIGHTLY_JOBS}
    fixed = [
        schedule
        for schedule in SCHEDULES
        if is_ascii_number(schedule.hour)
        and is_ascii_number(schedule.minute)
        and schedule.task in by_task
    ]
    # In the order a night runs them, from the evening (22:00) to the morning (06:00).
    fixed.sort(key=lambda item: ((int(item.hour) + 12) % 24, int(item.minute)))
    return [
        (by_task[schedule.task], f"{int(schedule.hour):02d}:{int(schedule.minute):02d}")
        for schedule in fixed
    ]


# When HQ last started the decisions from "run now" (a timestamp in the session), and for how
# long the decision-run list reloads itself waiting for the worker to make the run's row.
RUN_STARTED_SESSION_KEY = "catalog_decision_run_started_at"
RUN_STARTED_REFRESH_SECONDS = 120


def decision_run_just_started(request: HttpRequest) -> bool:
    started_at = request.session.get(RUN_STARTED_SESSION_KEY)
    if not isinstance(started_at, int | float):
        return False
    return 0 <= timezone.now().timestamp() - started_at < RUN_STARTED_REFRESH_SECONDS


def nightly_job_started_message(job: NightlyJob, request: HttpRequest) -> str:
    """What HQ is told after starting a job: where its progress or its results show. Only
    the decisions have a run with progress (the decision runs list); the other jobs' results
    appear in their own list (linked when the user may open it) once the worker is done."""
    if job.results == "catalog.decisionrun":
        return gettext(
            "%(job)s started: the worker runs it now. Decision runs show their progress below."
        ) % {"job": job.label}
    opts = django_apps.get_model(job.results)._meta
    place = conditional_escape(capfirst(opts.verbose_name_plural))
    if request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        place = format_html(
            '<a href="{}">{}</a>',
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            place,
        )
    text = gettext(
        "%(job)s started: the worker runs it now. Its results appear in %(place)s when it is "
        "done (usually within a few minutes)."
    ) % {"job": conditional_escape(job.label), "place": place}
    return mark_safe(text)  # noqa: S308 - the job's label is escaped, the link built escaped


def nightly_job_enqueue(job: NightlyJob, *, extra: dict[str, Any] | None = None) -> str:
    """Send the job's task to the broker (as the beat would, with `extra` arguments such as a
    backfill's days); returns the task id."""
    return celery_app.send_task(job.task, kwargs={**job.kwargs, **(extra or {})}).id


def nightly_job_range(
    job: NightlyJob, *, first: str, last: str
) -> tuple[dict[str, Any], dt.date, dt.date] | None:
    """The task arguments of a "run now" with a date range: None when the job takes none or
    both days are blank; ValueError (a sentence for HQ) when one is missing, malformed,
    reversed, in the future or more than BACKFILL_MAX_DAYS apart."""
    first, last = first.strip(), last.strip()
    if not job.date_range or not (first or last):
        return None
    if not (first and last):
        raise ValueError(gettext("Give both the first and the last day, or neither."))
    try:
        first_day, last_day = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    except ValueError as error:
        raise ValueError(gettext("Days must look like 2026-07-01.")) from error
    kpi_backfill_range_check(first_day=first_day, last_day=last_day, today=timezone.localdate())
    return (
        {"first_day": first_day.isoformat(), "last_day": last_day.isoformat()},
        first_day,
        last_day,
    )


@admin.register(DecisionRun)
class DecisionRunAdmin(ReadOnlyAdmin):
    """The nightly runs: progress while running, failed runs with their error, warnings (a
    forecast model trained on 0 rows), a running run whose worker stopped renewing its lease
    as stalled (the next attempt takes it over and resumes). HQ starts the nightly jobs now
    from "Run the nightly jobs now" (each job needs its permission)."""

    list_display = [
        "day",
        "state",
        "progress",
        # While the model trains (minutes on the network) no store is done yet: the phase
        # says the run is moving although its progress reads 0 / 200.
        "phase",
        "attempt",
        "heartbeat_at",
        "started_at",
        "finished_at",
        "warnings_summary",
        "error_summary",
    ]
    list_filter = ["status"]
    search_fields = ["day"]
    date_hierarchy = "started_at"
    fields = [
        "day",
        "state",
        "progress",
        "phase",
        "model_summary",
        "warnings_summary",
        "weather_summary",
        "attempt",
        "worker",
        "events_summary",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "error",
        "stats",
        "done_store_ids",
    ]
    readonly_fields = fields
    change_list_template = "admin/catalog/decisionrun/change_list.html"

    @admin.display(description=_("status"), ordering="status")
    def state(self, run: DecisionRun) -> str:
        if run.is_stalled:
            return gettext("Stalled: no heartbeat since %(time)s (worker %(worker)s)") % {
                "time": formats.localize(timezone.localtime(run.heartbeat_at)),
                "worker": run.worker or "?",
            }
        if run.status == DecisionRun.Status.DONE and (run.stats or {}).get("warnings"):
            return gettext("%(status)s, with warnings") % {"status": run.get_status_display()}
        return run.get_status_display()

    @admin.display(description=_("progress"))
    def progress(self, run: DecisionRun) -> str:
        total = run.stores_total or 0
        share = run.stores_done / total if total else (1.0 if run.status == "done" else 0.0)
        return format_html(
            '<progress value="{}" max="{}"></progress> {} / {} ({})',
            run.stores_done,
            max(total, 1),
            run.stores_done,
            total,
            f"{share:.0%}",
        )

    @admin.display(description=_("phase"))
    def phase(self, run: DecisionRun) -> str:
        if run.status != DecisionRun.Status.RUNNING:
            return "—"
        return {
            "model": gettext("training the forecast model"),
            "stores": gettext("forecasts and lists, store by store"),
        }.get((run.stats or {}).get("phase", ""), gettext("co-purchase rules"))

    @admin.display(description=_("forecast model"))
    def model_summary(self, run: DecisionRun) -> str:
        model = (run.stats or {}).get("model") or {}
        if not model:
            return "—"
        trained = gettext("trained on %(rows)s rows") % {"rows": model.get("training_rows", 0)}
        if not run.backtest_note:
            return trained
        return gettext("%(trained)s; backtest not run: %(reason)s") % {
            "trained": trained,
            "reason": run.backtest_note,
        }

    @admin.display(description=_("warnings"))
    def warnings_summary(self, run: DecisionRun) -> str:
        return "\n".join(run.warning_lines)

    @admin.display(description=_("stores without weather"))
    def weather_summary(self, run: DecisionRun) -> str:
        """The cities with no weather rows for the run's history or horizon and their stores
        (forecast without weather): one line per city."""
        lines = [
            weather_missing_text(city) for city in (run.stats or {}).get("weather_missing") or []
        ]
        return "\n".join(lines) or "—"

    @admin.display(description=pgettext_lazy("decision run", "attempts"))
    def events_summary(self, run: DecisionRun) -> str:
        """What happened to the run's attempts, one line each, in the reader's language."""
        return "\n".join(run.event_lines) or "—"

    @admin.display(description=_("error"))
    def error_summary(self, run: DecisionRun) -> str:
        """The latest event of its attempts (a failure with its exception, a takeover, a
        resumption), in the reader's language; for a run stored before the events, the last
        line of its error."""
        if run.events:
            return run.event_lines[-1][:300]
        lines = [line for line in run.error.strip().splitlines() if line.strip()]
        return lines[-1][:200] if lines else ""

    # -- "run now" -----------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        nightly = path(
            "nightly/",
            self.admin_site.admin_view(self.nightly_view),
            name="catalog_decisionrun_nightly",
        )
        return [nightly, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "may_run_nightly": any(
                request.user.has_perm(job.permission) for job, _time in nightly_jobs()
            ),
            "any_running": DecisionRun.objects.filter(status=DecisionRun.Status.RUNNING).exists()
            or decision_run_just_started(request),
        }
        return super().changelist_view(request, extra_context)

    def nightly_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the nightly jobs with their times and a "run now" button for each job the user
        may start. POST (task=…): enqueue that job's Celery task now; 403 without its
        permission."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        jobs = nightly_jobs()
        if request.method == "POST":
            job = next((job for job, _time in jobs if job.task == request.POST.get("task")), None)
            if job is None:
                raise PermissionDenied
            if not request.user.has_perm(job.permission):
                raise PermissionDenied
            try:
                ranged = nightly_job_range(
                    job,
                    first=request.POST.get("first_day", ""),
                    last=request.POST.get("last_day", ""),
                )
            except ValueError as error:
                self.message_user(
                    request,
                    gettext("%(job)s was not started: %(error)s")
                    % {"job": job.label, "error": error},
                    messages.ERROR,
                )
                return HttpResponseRedirect(reverse("admin:catalog_decisionrun_nightly"))
            try:
                nightly_job_enqueue(job, extra=ranged[0] if ranged else None)
            except Exception as error:  # the broker cannot be reached: say so, change nothing
                self.message_user(
                    request,
                    gettext("%(job)s could not be started: %(error)s")
                    % {"job": job.label, "error": f"{type(error).__name__}: {error}"},
                    messages.ERROR,
                )
            else:
                if job.results == "catalog.decisionrun":
                    # The worker makes the run's row a moment later: the list reloads itself
                    # until then (`changelist_view`), so the new run shows without a click.
                    request.session[RUN_STARTED_SESSION_KEY] = timezone.now().timestamp()
                message = nightly_job_started_message(job, request)
                if ranged is not None:
                    days = (ranged[2] - ranged[1]).days + 1
                    message = format_html(
                        "{} {}",
                        message,
                        ngettext(
                            "It computes the daily KPIs of %(first)s to %(last)s (%(days)d day) "
                            "and the monthly pack of every month they touch.",
                            "It computes the daily KPIs of %(first)s to %(last)s (%(days)d days) "
                            "and the monthly pack of every month they touch.",
                            days,
                        )
                        % {
                            "first": ranged[1].isoformat(),
                            "last": ranged[2].isoformat(),
                            "days": days,
                        },
                    )
                self.message_user(request, message, messages.SUCCESS)
            # The decisions' progress shows in the runs list; the other jobs have no run to
            # follow, so HQ stays on this page (to start the next one).
            if job.results == "catalog.decisionrun":
                return HttpResponseRedirect(reverse("admin:catalog_decisionrun_changelist"))
            return HttpResponseRedirect(reverse("admin:catalog_decisionrun_nightly"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Run the nightly jobs now"),
            "jobs": [
                {"job": job, "time": time, "allowed": request.user.has_perm(job.permission)}
                for job, time in jobs
            ],
            "backfill_max_days": BACKFILL_MAX_DAYS,
        }
        return TemplateResponse(request, "admin/catalog/decisionrun/nightly.html", context)
