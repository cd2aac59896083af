"""Store devices (fridges, freezers, display chillers, POS terminals), their readings, hourly
aggregates, thresholds and alerts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from linli.wording import bracketed

# Physical limits of a reading: anything outside is a broken sensor, refused at ingestion.
TEMPERATURE_MIN_C = -60
TEMPERATURE_MAX_C = 80


class DeviceKind(models.TextChoices):
    FRIDGE = "fridge", _("Fridge")
    FREEZER = "freezer", _("Freezer")
    DISPLAY_CHILLER = "display_chiller", _("Display chiller")
    POS_TERMINAL = "pos_terminal", _("POS terminal")


class DeviceKindThreshold(models.Model):
    """Alert thresholds for every device of a kind, edited by HQ. A device may override the
    temperature range and the minutes individually."""

    kind = models.CharField(_("kind"), max_length=20, choices=DeviceKind.choices, unique=True)
    min_temperature_c = models.DecimalField(
        _("minimum °C"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    max_temperature_c = models.DecimalField(
        _("maximum °C"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    minutes_out_of_range = models.PositiveIntegerField(
        _("minutes out of range before alerting"),
        default=15,
        validators=[MinValueValidator(1)],
    )
    energy_spike_factor = models.DecimalField(
        _("energy spike factor"),
        max_digits=4,
        decimal_places=1,
        default=Decimal("3.0"),
        help_text=_("Alert when the last hour's energy exceeds this many times the median hour."),
    )
    energy_baseline_min_hours = models.PositiveIntegerField(
        _("hours of history needed for an energy baseline"), default=24
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("device kind threshold")
        verbose_name_plural = _("device kind thresholds")
        ordering = ["kind"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_temperature_c__isnull=True)
                | Q(max_temperature_c__isnull=True)
                | Q(min_temperature_c__lt=models.F("max_temperature_c")),
                name="device_threshold_min_below_max",
                violation_error_message=_("The lowest temperature must be below the highest."),
            ),
            models.CheckConstraint(
                condition=Q(minutes_out_of_range__gte=1),
                name="device_threshold_minutes_positive",
                violation_error_message=_("The minutes out of range must be at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(energy_spike_factor__gt=1),
                name="device_threshold_factor_above_one",
                violation_error_message=_("The energy spike factor must be more than 1."),
            ),
        ]

    def __str__(self) -> str:
        return str(self.get_kind_display())


@dataclass(frozen=True)
class EffectiveThresholds:
    """The thresholds that apply to one device: its own overrides, else its kind's."""

    min_temperature_c: float | None
    max_temperature_c: float | None
    minutes_out_of_range: int
    energy_spike_factor: float
    energy_baseline_min_hours: int

    @property
    def has_temperature_range(self) -> bool:
        return self.min_temperature_c is not None or self.max_temperature_c is not None

    def temperature_in_range(self, value: float) -> bool:
        if self.min_temperature_c is not None and value < self.min_temperature_c:
            return False
        return not (self.max_temperature_c is not None and value > self.max_temperature_c)


class Device(models.Model):
    """A machine in a store that posts readings with its own token.

    The token is shown once when issued; only its SHA-256 hash is stored. Revoking sets
    `revoked_at` (the hash is kept so the API can say "revoked" rather than "unknown");
    issuing a new token replaces the hash, so the previous token stops working.
    """

    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="devices"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=DeviceKind.choices)
    name = models.CharField(_("name"), max_length=60)
    serial = models.CharField(_("serial number"), max_length=64, unique=True)
    token_hash = models.CharField(
        _("token hash"), max_length=64, unique=True, null=True, blank=True, editable=False
    )
    token_prefix = models.CharField(
        _("token prefix"), max_length=8, blank=True, default="", editable=False
    )
    token_issued_at = models.DateTimeField(_("token issued"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("token revoked"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    # When alert evaluation last started; older than last_seen_at = a batch not yet evaluated
    # (its enqueue was lost), which the pending-evaluations sweep picks up.
    alerts_evaluated_at = models.DateTimeField(
        _("alerts evaluated"), null=True, blank=True, editable=False
    )
    silent_after_minutes = models.PositiveIntegerField(
        _("silent after (minutes)"),
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_("Alert when the device has not posted for this many minutes."),
    )
    min_temperature_c = models.DecimalField(
        _("minimum °C (override)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    max_temperature_c = models.DecimalField(
        _("maximum °C (override)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    minutes_out_of_range = models.PositiveIntegerField(
        _("minutes out of range (override)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["store", "name"]
        indexes = [models.Index(fields=["is_active", "last_seen_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(silent_after_minutes__gte=1),
                name="device_silent_minutes_positive",
                violation_error_message=_(
                    "The minutes before a device counts as silent must be at least 1."
                ),
            ),
            models.CheckConstraint(
                condition=Q(minutes_out_of_range__isnull=True) | Q(minutes_out_of_range__gte=1),
                name="device_override_minutes_positive",
                violation_error_message=_("The minutes out of range must be at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(min_temperature_c__isnull=True)
                | Q(max_temperature_c__isnull=True)
                | Q(min_temperature_c__lt=models.F("max_temperature_c")),
                name="device_override_min_below_max",
                violation_error_message=_("The lowest temperature must be below the highest."),
            ),
        ]

    def __str__(self) -> str:
        return bracketed(self.name, self.serial)

    @property
    def has_token(self) -> bool:
        return bool(self.token_hash) and self.revoked_at is None

    def thresholds(self, kind_threshold: DeviceKindThreshold | None) -> EffectiveThresholds:
        """Overrides on the device win; otherwise the kind's; otherwise no temperature rule."""

        def as_float(value: Decimal | None) -> float | None:
            return None if value is None else float(value)

        low = self.min_temperature_c
        high = self.max_temperature_c
        if low is None and high is None and kind_threshold is not None:
            low, high = kind_threshold.min_temperature_c, kind_threshold.max_temperature_c
        minutes = self.minutes_out_of_range or (
            kind_threshold.minutes_out_of_range if kind_threshold else 15
        )
        return EffectiveThresholds(
            min_temperature_c=as_float(low),
            max_temperature_c=as_float(high),
            minutes_out_of_range=minutes,
            energy_spike_factor=float(kind_threshold.energy_spike_factor)
            if kind_threshold
            else 3.0,
            energy_baseline_min_hours=kind_threshold.energy_baseline_min_hours
            if kind_threshold
            else 24,
        )


class DeviceReading(models.Model):
    """One raw reading. Kept for `DEVICE_READING_RETENTION_DAYS`, then only its hour's
    aggregate remains. A reading repeated by a retry is the same (device, recorded_at)."""

    device = models.ForeignKey(
        Device, verbose_name=_("device"), on_delete=models.CASCADE, related_name="readings"
    )
    recorded_at = models.DateTimeField(_("recorded"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    temperature_c = models.FloatField(_("temperature °C"), null=True, blank=True)
    energy_wh = models.FloatField(_("energy (Wh)"), null=True, blank=True)
    door_open = models.BooleanField(_("door open"), null=True, blank=True)

    class Meta:
        verbose_name = _("device reading")
        verbose_name_plural = _("device readings")
        indexes = [
            # Retention deletes by age; the rollup finds recently received rows.
            models.Index(fields=["recorded_at"], name="device_reading_recorded"),
            models.Index(fields=["received_at"], name="device_reading_received"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "recorded_at"], name="device_reading_unique_time"
            ),
            models.CheckConstraint(
                condition=Q(temperature_c__isnull=True)
                | Q(temperature_c__gte=TEMPERATURE_MIN_C, temperature_c__lte=TEMPERATURE_MAX_C),
                name="device_reading_temperature_plausible",
            ),
            models.CheckConstraint(
                condition=Q(energy_wh__isnull=True) | Q(energy_wh__gte=0),
                name="device_reading_energy_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {timezone.localtime(self.recorded_at):%Y-%m-%d %H:%M}"


class DeviceReadingHourly(models.Model):
    """One device's readings in one hour (UTC-aligned), kept for ever."""

    device = models.ForeignKey(
        Device, verbose_name=_("device"), on_delete=models.CASCADE, related_name="hourly"
    )
    hour = models.DateTimeField(_("hour"))
    reading_count = models.PositiveIntegerField(_("readings"))
    temperature_min = models.FloatField(_("min °C"), null=True, blank=True)
    temperature_max = models.FloatField(_("max °C"), null=True, blank=True)
    temperature_avg = models.FloatField(_("average °C"), null=True, blank=True)
    energy_wh_sum = models.FloatField(_("energy (Wh)"), null=True, blank=True)
    door_open_count = models.PositiveIntegerField(_("door-open readings"), default=0)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        verbose_name = _("hourly device aggregate")
        verbose_name_plural = _("hourly device aggregates")
        ordering = ["-hour"]
        constraints = [
            models.UniqueConstraint(fields=["device", "hour"], name="device_hourly_unique"),
            models.CheckConstraint(
                condition=Q(reading_count__gt=0), name="device_hourly_count_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {timezone.localtime(self.hour):%Y-%m-%d %H}:00"


class DeviceAlert(models.Model):
    """An alert on a device: open → acknowledged → resolved, with who and when.

    At most one alert per (device, kind) is open or acknowledged at a time (partial unique
    constraint), so repeated evaluation never duplicates it.
    """

    class Kind(models.TextChoices):
        TEMPERATURE_OUT_OF_RANGE = "temperature_out_of_range", _("Temperature out of range")
        DEVICE_SILENT = "device_silent", _("Device silent")
        ENERGY_SPIKE = "energy_spike", _("Energy spike")

    class Cleared(models.TextChoices):
        """Why the system resolved an alert (`resolution_code`), with its facts:
        back_in_range: value (°C); energy_normal: recent_wh; posting_again: none."""

        BACK_IN_RANGE = "back_in_range", _("Temperature back in range")
        ENERGY_NORMAL = "energy_normal", _("Energy back to normal")
        POSTING_AGAIN = "posting_again", _("Device posting again")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("alert status", "Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")

    ACTIVE_STATUSES = (Status.OPEN, Status.ACKNOWLEDGED)

    device = models.ForeignKey(
        Device, verbose_name=_("device"), on_delete=models.CASCADE, related_name="alerts"
    )
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        related_name="device_alerts",
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    opened_at = models.DateTimeField(_("raised at"), default=timezone.now)
    value = models.FloatField(_("value"), null=True, blank=True)
    # The facts the detail sentence states (measured value, thresholds, unit, minutes, times),
    # rendered in the reader's language by `alert_detail_text`; see ALERT_FACTS.
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    # Alerts raised before `facts` existed carry their sentence here, written once in the
    # language of the process that raised them; shown only when their facts could not be
    # recovered from it (migration 0005).
    detail = models.CharField(
        _("detail as first written"), max_length=300, blank=True, default="", editable=False
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the system resolved the alert because the condition cleared."),
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # A person's note as they typed it; an automatic resolution's note as first written, in
    # the project language (the record, and what alerts resolved before the codes show).
    resolution_note = models.CharField(_("resolution"), max_length=300, blank=True, default="")
    # Why the system resolved the alert (`Cleared`) and the facts its note states, worded in
    # the reader's language by `resolution_note_text`; empty for a person's resolution.
    resolution_code = models.CharField(
        _("resolved because"),
        max_length=20,
        choices=Cleared.choices,
        blank=True,
        default="",
        editable=False,
    )
    resolution_facts = models.JSONField(
        _("resolution facts"), default=dict, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("device alert")
        verbose_name_plural = _("device alerts")
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["status", "opened_at"]),
            models.Index(fields=["store", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "kind"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="device_alert_one_active_per_kind",
            ),
            models.CheckConstraint(
                condition=~Q(status="acknowledged") | Q(acknowledged_at__isnull=False),
                name="device_alert_acknowledged_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | Q(resolved_at__isnull=False),
                name="device_alert_resolved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.device_id} · {self.get_status_display()}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def detail_text(self) -> str:
        """The detail sentence in the active language (see `alert_detail_text`)."""
        return alert_detail_text(kind=self.kind, facts=self.facts, fallback=self.detail)

    @property
    def resolution_text(self) -> str:
        """The resolution note in the active language: an automatic resolution's worded from
        its code and facts (`resolution_note_text`), a person's note as typed."""
        return resolution_note_text(
            code=self.resolution_code, facts=self.resolution_facts, fallback=self.resolution_note
        )


# --- the detail sentence ---------------------------------------------------------------------
#
# An alert stores facts, not a sentence: HQ reads the admin in English, owners the portal in
# Chinese, and the same alert must read right for both. The facts by kind (times are ISO 8601
# with their offset, temperatures in °C, energy in Wh):
#   temperature_out_of_range: value, unit, min, max (either may be None), minutes, since
#   device_silent:            minutes, last_seen
#   energy_spike:             recent_wh, median_wh, factor (the kind's spike factor), unit
ALERT_FACTS = {
    "temperature_out_of_range": ("value", "minutes", "since"),
    "device_silent": ("minutes", "last_seen"),
    "energy_spike": ("recent_wh", "median_wh"),
}


def _local_minute(value: str) -> str:
    return timezone.localtime(dt.datetime.fromisoformat(value)).strftime("%m-%d %H:%M")


def temperature_range_text(low: float | None, high: float | None) -> str:
    """The allowed range in the active language ("0 to 8 °C", "at least -25 °C")."""
    if low is not None and high is not None:
        return gettext("%(low)s to %(high)s °C") % {"low": f"{low:g}", "high": f"{high:g}"}
    if low is not None:
        return gettext("at least %(low)s °C") % {"low": f"{low:g}"}
    return gettext("at most %(high)s °C") % {"high": f"{high:g}"}


def alert_detail_text(*, kind: str, facts: dict[str, Any] | None, fallback: str = "") -> str:
    """An alert's detail sentence in the active language, from its stored facts. The one
    renderer for the admin, the portal pages, the websocket payload and the notifications.
    Facts missing or malformed (an alert raised before facts were stored whose text could not
    be parsed): the text it was stored with, `fallback`, rather than failing a page."""
    facts = facts or {}
    if not all(facts.get(key) is not None for key in ALERT_FACTS.get(kind, ("?",))):
        return fallback
    try:
        if kind == "temperature_out_of_range":
            return gettext(
                "%(value).1f °C, outside %(range)s for %(minutes)d minutes (since %(since)s)"
            ) % {
                "value": float(facts["value"]),
                "range": temperature_range_text(facts.get("min"), facts.get("max")),
                "minutes": int(facts["minutes"]),
                "since": _local_minute(facts["since"]),
            }
        if kind == "device_silent":
            return gettext("no reading for %(minutes)d minutes (last seen %(time)s)") % {
                "minutes": int(facts["minutes"]),
                "time": _local_minute(facts["last_seen"]),
            }
        recent, median = float(facts["recent_wh"]), float(facts["median_wh"])
        return gettext(
            "%(recent).0f Wh in the last hour, %(ratio).1f× the usual %(median).0f Wh per hour"
        ) % {"recent": recent, "ratio": recent / median, "median": median}
    except (TypeError, ValueError, ZeroDivisionError):
        return fallback


def resolution_note_text(*, code: str, facts: dict[str, Any] | None, fallback: str = "") -> str:
    """Why the system resolved an alert, in the active language, from its code and facts
    (`DeviceAlert.Cleared`): the note on the alert's pages and in its websocket line. No code
    (a person's note, an alert resolved before the codes) or facts that do not fit: the note
    as stored, `fallback`."""
    facts = facts or {}
    try:
        if code == DeviceAlert.Cleared.BACK_IN_RANGE:
            return gettext("back in range at %(value).1f °C") % {"value": float(facts["value"])}
        if code == DeviceAlert.Cleared.ENERGY_NORMAL:
            return gettext("%(recent).0f Wh in the last hour") % {
                "recent": float(facts["recent_wh"])
            }
        if code == DeviceAlert.Cleared.POSTING_AGAIN:
            return gettext("posting again")
    except (KeyError, TypeError, ValueError):
        pass
    return fallback
