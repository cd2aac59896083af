"""HQ admin for devices. Business rules stay in services: actions call them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from apps.devices import selectors, services
from apps.devices.models import (
    Device,
    DeviceAlert,
    DeviceKindThreshold,
    DeviceReading,
    DeviceReadingHourly,
)
from linli.admin_helpers import UndeletableAdminMixin
from linli.admin_utils import BigTableAdminMixin, truncated_text
from linli.wording import labelled


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by services only (readings, aggregates): HQ looks, nobody edits here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeviceKindThreshold)
class DeviceKindThresholdAdmin(admin.ModelAdmin):
    list_display = [
        "kind",
        "min_temperature_c",
        "max_temperature_c",
        "minutes_out_of_range",
        "energy_spike_factor",
        "energy_baseline_min_hours",
        "updated_at",
    ]
    list_filter = ["kind"]
    search_fields = ["kind"]
    readonly_fields = ["updated_at"]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "serial",
        "store",
        "kind",
        "token_prefix",
        "token_state",
        "last_seen_at",
        "is_active",
    ]
    list_filter = ["kind", "is_active", "store__region"]
    search_fields = ["name", "serial", "token_prefix", "store__code", "store__name"]
    list_select_related = ["store"]
    raw_id_fields = ["store"]
    readonly_fields = [
        "token_prefix",
        "token_issued_at",
        "revoked_at",
        "last_seen_at",
        "created_at",
        "temperature_chart",
    ]
    fieldsets = [
        (None, {"fields": ["store", "kind", "name", "serial", "is_active"]}),
        (
            _("Alert settings"),
            {
                "fields": [
                    "silent_after_minutes",
                    "min_temperature_c",
                    "max_temperature_c",
                    "minutes_out_of_range",
                ],
                "description": _(
                    "Leave the temperature fields empty to use the thresholds of the device kind."
                ),
            },
        ),
        (
            _("Token"),
            {
                "fields": ["token_prefix", "token_issued_at", "revoked_at", "last_seen_at"],
                "description": _(
                    "Use the action “Issue a new token” in the device list: the token is shown "
                    "once, only its hash is stored."
                ),
            },
        ),
        (_("Temperature"), {"fields": ["temperature_chart"]}),
    ]
    actions = ["issue_token", "revoke_token"]

    @admin.display(description=_("token"))
    def token_state(self, device: Device) -> str:
        if not device.token_hash:
            return gettext("none")
        if device.revoked_at is not None:
            return gettext("revoked")
        return gettext("active")

    @admin.display(description=_("temperature, last 24 h and 7 days"))
    def temperature_chart(self, device: Device) -> SafeString | str:
        if device.pk is None:
            return "—"
        day = selectors.device_chart(device=device, range_key="24h")
        week = selectors.device_chart(device=device, range_key="7d")
        return format_html('<div class="chart-pair">{}<br>{}</div>', day.svg, week.svg)

    @admin.action(
        description=_("Issue a new token (shown once; replaces the old one)"),
        permissions=["change"],
    )
    def issue_token(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        for device in queryset.select_related("store"):
            token = services.device_token_issue(device=device)
            self.message_user(
                request,
                gettext(
                    "New token for %(device)s: %(token)s — copy it into the device now; "
                    "it is not shown again."
                )
                % {"device": device, "token": token},
                level=messages.WARNING,
            )

    @admin.action(description=_("Revoke the token"), permissions=["change"])
    def revoke_token(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        revoked = sum(services.device_token_revoke(device=device) for device in queryset)
        self.message_user(
            request,
            ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", revoked)
            % {"count": revoked},
        )


@admin.register(DeviceReading)
class DeviceReadingAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    list_display = [
        "recorded_at",
        "device",
        "temperature_c",
        "energy_wh",
        "door_open",
        "received_at",
    ]
    list_filter = ["device__kind", "door_open"]
    search_fields = ["=device__serial"]
    list_select_related = ["device"]
    raw_id_fields = ["device"]
    ordering = ["-recorded_at"]
    date_hierarchy = "recorded_at"


@admin.register(DeviceReadingHourly)
class DeviceReadingHourlyAdmin(BigTableAdminMixin, ReadOnlyAdmin):
    list_display = [
        "hour",
        "device",
        "reading_count",
        "temperature_min",
        "temperature_avg",
        "temperature_max",
        "energy_wh_sum",
        "door_open_count",
    ]
    list_filter = ["device__kind", "device__store__region"]
    search_fields = ["=device__serial"]
    list_select_related = ["device"]
    raw_id_fields = ["device"]
    ordering = ["-hour"]
    date_hierarchy = "hour"


class ActiveAlertFilter(admin.SimpleListFilter):
    title = _("active")
    parameter_name = "active"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Open or acknowledged")), ("no", _("Resolved"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[DeviceAlert]
    ) -> QuerySet[DeviceAlert]:
        if self.value() == "yes":
            return queryset.filter(status__in=DeviceAlert.ACTIVE_STATUSES)
        if self.value() == "no":
            return queryset.filter(status=DeviceAlert.Status.RESOLVED)
        return queryset


# The names of the facts an alert records (`apps.devices.services.alerts`), for people.
ALERT_FACT_LABELS = {
    "value": pgettext_lazy("alert fact", "reading"),
    "min": pgettext_lazy("alert fact", "lowest allowed"),
    "max": pgettext_lazy("alert fact", "highest allowed"),
    "unit": pgettext_lazy("alert fact", "unit"),
    "since": pgettext_lazy("alert fact", "since"),
    "minutes": pgettext_lazy("alert fact", "minutes"),
    "last_seen": pgettext_lazy("alert fact", "last seen"),
    "recent_wh": pgettext_lazy("alert fact", "recent energy (Wh)"),
    "median_wh": pgettext_lazy("alert fact", "usual energy (Wh)"),
    "factor": pgettext_lazy("alert fact", "spike factor"),
}


# Facts recorded as ISO 8601 times with their offset: shown in local time, formatted as the
# admin shows its date-time fields.
ALERT_FACT_TIMES = frozenset({"since", "last_seen"})


def _fact_value(key: str, value: object) -> object:
    if key not in ALERT_FACT_TIMES or not isinstance(value, str):
        return value
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value  # shown as recorded rather than failing the page
    if timezone.is_naive(moment):
        return value
    return formats.localize(timezone.localtime(moment))


@admin.register(DeviceAlert)
class DeviceAlertAdmin(UndeletableAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    """HQ sees every store's alerts; filter "active" for the open ones. Alerts are opened by
    the rules and change state only through the acknowledge / resolve actions."""

    list_display = [
        "opened_at",
        "store",
        "device",
        "kind",
        "status",
        "value",
        "detail_list",
        "acknowledged_by",
        "acknowledged_at",
        "resolved_by",
        "resolved_at",
    ]
    list_filter = [ActiveAlertFilter, "status", "kind", "store__region"]
    search_fields = ["=device__serial", "device__name", "=store__code", "store__name"]
    list_select_related = ["store", "device", "acknowledged_by", "resolved_by"]
    raw_id_fields = ["device", "store", "acknowledged_by", "resolved_by"]
    readonly_fields = [
        "device",
        "store",
        "kind",
        "status",
        "opened_at",
        "value",
        "detail_shown",
        # The readings and thresholds the alert recorded, which its detail and resolution
        # note state: shown as recorded, never edited by hand, each named in the viewer's
        # language (the stored keys are English codes).
        "facts_shown",
        "acknowledged_by",
        "acknowledged_at",
        "resolved_by",
        "resolved_at",
        "resolution_shown",
    ]
    # Shown worded in the viewer's language (`resolution_shown`, `facts_shown`), not as stored.
    exclude = ["resolution_note", "facts"]
    date_hierarchy = "opened_at"
    actions = ["acknowledge", "resolve"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # The sentence is written from the alert's facts in the viewer's language, so there is no
    # column to order by or search.
    @admin.display(description=_("detail"))
    def detail_list(self, alert: DeviceAlert) -> str:
        return truncated_text(alert.detail_text)

    @admin.display(description=_("detail"))
    def detail_shown(self, alert: DeviceAlert) -> str:
        return alert.detail_text

    @admin.display(description=_("facts"))
    def facts_shown(self, alert: DeviceAlert) -> str:
        if not alert.facts:
            return "—"
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308  (a constant tag)
            "{}",
            (
                (labelled(ALERT_FACT_LABELS.get(key, key), _fact_value(key, value)),)
                for key, value in sorted(alert.facts.items())
            ),
        )

    # An automatic resolution's note is worded from its code in the viewer's language; a
    # person's note shows as typed.
    @admin.display(description=_("resolution"))
    def resolution_shown(self, alert: DeviceAlert) -> str:
        return alert.resolution_text

    def _apply(self, request: HttpRequest, queryset: QuerySet[DeviceAlert], action: Any) -> None:
        done, refused = 0, []
        for alert in queryset.select_related("device"):
            try:
                action(alert=alert, by=request.user)
                done += 1
            except ValidationError as error:
                # Named by its device and kind, not its id: "冷柜 1 (SN-000001) 温度超限: …".
                refused.append(
                    f"{alert.device} {alert.get_kind_display()}: {' '.join(error.messages)}"
                )
        if done:
            self.message_user(
                request,
                ngettext("%(count)d alert updated.", "%(count)d alerts updated.", done)
                % {"count": done},
            )
        if refused:
            self.message_user(request, "; ".join(refused), level=messages.WARNING)

    @admin.action(description=_("Acknowledge"), permissions=["change"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[DeviceAlert]) -> None:
        self._apply(request, queryset, services.alert_acknowledge)

    @admin.action(description=_("Resolve"), permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[DeviceAlert]) -> None:
        self._apply(request, queryset, services.alert_resolve)
