"""Device alerts: the rules that open them, their lifecycle, and who hears about them.

No duplicate active alert: a partial unique constraint allows one open-or-acknowledged alert
per (device, kind); opening tolerates the race (IntegrityError → the existing alert), so any
evaluation may be repeated or run concurrently. Opening an alert broadcasts it to the store's
websocket group and puts one notification per store owner in the outbox, on commit.

An alert stores facts (`DeviceAlert.facts`), not a sentence; `alert_detail_text` words them in
the reader's language. The notification's stored title and body (the record of what was sent)
are written in the project's language (`LANGUAGE_CODE`), whatever language the process raising
the alert happens to run in; readers see it in their own (`apps.devices.notification_texts`), and
the websocket line is worded in every language, each socket getting its reader's. An alert the
system resolves (its condition cleared) keeps why as a code and facts
(`DeviceAlert.resolution_code`, `resolution_facts`), worded for each reader the same way; its
stored `resolution_note` is the project language's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.campaigns.notifications.models import Notification
from apps.campaigns.notifications.services import NotificationDraft, notifications_enqueue
from apps.devices.analytics.energy import energy_verdict
from apps.devices.models import (
    Device,
    DeviceAlert,
    DeviceReading,
    DeviceReadingHourly,
    EffectiveThresholds,
    resolution_note_text,
)
from apps.devices.notification_texts import (
    DEVICE_ALERT_KIND,
    alert_acknowledged_line,
    alert_opened_line,
    alert_resolved_line,
    device_alert_payload,
)
from apps.devices.selectors import device_thresholds
from apps.stores.access import VIEW_DEVICES
from apps.stores.models import Store, StoreStaff
from linli.realtime import broadcast_in_languages, store_notifications_group
from linli.wording import status_in_sentence

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Kind = DeviceAlert.Kind
Cleared = DeviceAlert.Cleared
Status = DeviceAlert.Status
ACTIVE = DeviceAlert.ACTIVE_STATUSES
ENERGY_WINDOW = dt.timedelta(hours=1)
ENERGY_BASELINE = dt.timedelta(days=7)


@dataclass
class EvaluationResult:
    opened: list[DeviceAlert] = field(default_factory=list)
    resolved: list[DeviceAlert] = field(default_factory=list)


# --- text ------------------------------------------------------------------------------------


def temperature_facts(
    *, value: float, thresholds: EffectiveThresholds, minutes: int, since: dt.datetime
) -> dict[str, object]:
    """The "out of range" alert's facts: the value, the allowed range, for how long, since
    when (`DeviceAlert.ALERT_FACTS`)."""
    return {
        "value": value,
        "unit": "°C",
        "min": thresholds.min_temperature_c,
        "max": thresholds.max_temperature_c,
        "minutes": minutes,
        "since": since.isoformat(),
    }


def silent_facts(*, minutes: int, last_seen: dt.datetime) -> dict[str, object]:
    return {"minutes": minutes, "last_seen": last_seen.isoformat()}


def energy_facts(*, recent_wh: float, median_wh: float, factor: float) -> dict[str, object]:
    return {"recent_wh": recent_wh, "median_wh": median_wh, "factor": factor, "unit": "Wh"}


def alert_text(alert: DeviceAlert) -> str:
    """One line for websockets and notification titles, in the active language: device, what,
    detail."""
    return alert_opened_line(alert)


# --- announcing ------------------------------------------------------------------------------


def _alert_payload(alert: DeviceAlert, *, text: str) -> dict[str, object]:
    return {
        "text": text,
        "alert_id": alert.pk,
        "device_id": alert.device_id,
        "device": alert.device.name,
        "store_id": alert.store_id,
        "kind": alert.kind,
        "status": alert.status,
        "value": alert.value,
        "facts": alert.facts,
        "opened_at": alert.opened_at,
    }


def _alerts_announce(alerts: Iterable[DeviceAlert]) -> int:
    """Broadcast newly opened alerts to their stores' pages and enqueue one portal notification
    per store owner (dedupe key per alert and owner, so announcing twice adds nothing).
    Broadcasts go out on commit. Returns the number of new notifications."""
    alerts = list(alerts)
    if not alerts:
        return 0
    store_ids = {alert.store_id for alert in alerts}
    owners: dict[int, list[int]] = {}
    for store_id, user_id in StoreStaff.objects.filter(
        store_id__in=store_ids, role=StoreStaff.Role.OWNER
    ).values_list("store_id", "user_id"):
        owners.setdefault(store_id, []).append(user_id)
    drafts = []
    for alert in alerts:
        # Stored text: the project's language, not the raising process's. Readers see the
        # notification in their own language (DEVICE_ALERT_KIND's renderer), and each socket
        # gets the line in its reader's language.
        with translation.override(settings.LANGUAGE_CODE):
            text = alert_text(alert)
            body = alert.detail_text
        _alert_broadcast(alert, event="device.alert", text=alert_text)
        for user_id in owners.get(alert.store_id, []):
            drafts.append(
                NotificationDraft(
                    dedupe_key=f"device-alert:{alert.pk}:user:{user_id}",
                    kind=DEVICE_ALERT_KIND,
                    title=text,
                    body=body,
                    channel=Notification.Channel.PORTAL,
                    recipient_id=user_id,
                    store_id=alert.store_id,
                    payload=device_alert_payload(alert),
                )
            )
    return notifications_enqueue(drafts=drafts)


def _alert_broadcast(alert: DeviceAlert, *, event: str, text: Callable[[DeviceAlert], str]) -> None:
    """Broadcast the alert to its store's sockets, its line worded by `text` in each language
    (every socket gets its reader's). Only to readers who may VIEW_DEVICES there: the store
    page's socket is VIEW_STORE's, and an HQ user without `devices.view_device` is not told
    about alerts."""
    broadcast_in_languages(
        store_notifications_group(alert.store_id),
        event=event,
        payload=lambda: _alert_payload(alert, text=text(alert)),
        requires=VIEW_DEVICES.name,
    )


# --- lifecycle -------------------------------------------------------------------------------


def alert_open(
    *,
    device: Device,
    kind: str,
    facts: dict[str, object] | None = None,
    value: float | None = None,
    now: dt.datetime | None = None,
) -> tuple[DeviceAlert, bool]:
    """Open an alert of `kind` on `device`, or return the active one. Returns (alert, created).
    `facts` are what its detail sentence states (`DeviceAlert.ALERT_FACTS`).

    Race-safe: two evaluations opening the same alert concurrently produce one row; the loser
    gets IntegrityError from the partial unique constraint and returns the winner's alert.
    Only a newly created alert is announced.
    """
    active = DeviceAlert.objects.filter(device=device, kind=kind, status__in=ACTIVE).first()
    if active is not None:
        return active, False
    with transaction.atomic():
        try:
            with transaction.atomic():
                alert = DeviceAlert.objects.create(
                    device=device,
                    store_id=device.store_id,
                    kind=kind,
                    facts=facts or {},
                    value=value,
                    opened_at=now or timezone.now(),
                )
        except IntegrityError:
            active = DeviceAlert.objects.filter(device=device, kind=kind, status__in=ACTIVE).first()
            if active is None:
                raise
            return active, False
        alert.device = device
        _alerts_announce([alert])
    return alert, True


def alert_acknowledge(
    *, alert: DeviceAlert, by: AbstractBaseUser, now: dt.datetime | None = None
) -> DeviceAlert:
    """open → acknowledged, recording who and when. Conditional update: acknowledging an alert
    that is no longer open raises ValidationError and changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = DeviceAlert.objects.filter(pk=alert.pk, status=Status.OPEN).update(
            status=Status.ACKNOWLEDGED, acknowledged_by=by, acknowledged_at=now
        )
        if changed != 1:
            alert.refresh_from_db(fields=["status"])
            raise ValidationError(
                _("Only an open alert can be acknowledged; this one is %(status)s.")
                % {"status": status_in_sentence(alert.get_status_display())}
            )
        alert.refresh_from_db()
        _alert_broadcast(alert, event="device.alert_acknowledged", text=alert_acknowledged_line)
    return alert


def alert_resolve(
    *, alert: DeviceAlert, by: AbstractBaseUser, note: str = "", now: dt.datetime | None = None
) -> DeviceAlert:
    """open or acknowledged → resolved, recording who and when. An alert resolved without
    being acknowledged is acknowledged by the same person at the same time. Resolving an
    alert that is already resolved raises ValidationError and changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        DeviceAlert.objects.filter(pk=alert.pk, status=Status.OPEN).update(
            acknowledged_by=by, acknowledged_at=now
        )
        changed = DeviceAlert.objects.filter(pk=alert.pk, status__in=ACTIVE).update(
            status=Status.RESOLVED, resolved_by=by, resolved_at=now, resolution_note=note[:300]
        )
        if changed != 1:
            alert.refresh_from_db(fields=["status"])
            raise ValidationError(
                _("This alert is already %(status)s.")
                % {"status": status_in_sentence(alert.get_status_display())}
            )
        alert.refresh_from_db()
        _alert_broadcast(alert, event="device.alert_resolved", text=alert_resolved_line)
    return alert


def _cleared_note(code: str, facts: dict[str, object]) -> str:
    """The stored note of an automatic resolution: the project's language, whatever the
    process's (the record; readers see `DeviceAlert.resolution_text`, in theirs)."""
    with translation.override(settings.LANGUAGE_CODE):
        return resolution_note_text(code=code, facts=facts)[:300]


def _alert_resolve_cleared(
    *, device: Device, kind: str, code: str, facts: dict[str, object], now: dt.datetime
) -> DeviceAlert | None:
    """The system resolves the active alert of `kind` because its condition cleared
    (resolved_by stays empty), recording why as `code` and `facts` (`DeviceAlert.Cleared`).
    No active alert: nothing happens."""
    active = DeviceAlert.objects.filter(device=device, kind=kind, status__in=ACTIVE).first()
    if active is None:
        return None
    changed = DeviceAlert.objects.filter(pk=active.pk, status__in=ACTIVE).update(
        status=Status.RESOLVED,
        resolved_at=now,
        resolution_code=code,
        resolution_facts=facts,
        resolution_note=_cleared_note(code, facts),
    )
    if changed != 1:
        return None
    active.refresh_from_db()
    active.device = device
    _alert_broadcast(active, event="device.alert_resolved", text=alert_resolved_line)
    return active


# --- rules -----------------------------------------------------------------------------------


def _temperature_rule(
    *, device: Device, thresholds: EffectiveThresholds, now: dt.datetime, result: EvaluationResult
) -> None:
    """Out of range continuously for N minutes: the latest reading is out of range, and so is
    every reading since the first one after the last in-range reading, N or more minutes
    earlier. Back in range: the active alert resolves."""
    if not thresholds.has_temperature_range:
        return
    readings = DeviceReading.objects.filter(device=device, temperature_c__isnull=False)
    latest = readings.order_by("-recorded_at").values_list("recorded_at", "temperature_c").first()
    if latest is None:
        return
    latest_at, latest_value = latest
    if thresholds.temperature_in_range(latest_value):
        resolved = _alert_resolve_cleared(
            device=device,
            kind=Kind.TEMPERATURE_OUT_OF_RANGE,
            code=Cleared.BACK_IN_RANGE,
            facts={"value": latest_value},
            now=now,
        )
        if resolved is not None:
            result.resolved.append(resolved)
        return
    in_range = Q()
    if thresholds.min_temperature_c is not None:
        in_range &= Q(temperature_c__gte=thresholds.min_temperature_c)
    if thresholds.max_temperature_c is not None:
        in_range &= Q(temperature_c__lte=thresholds.max_temperature_c)
    last_in_range_at = (
        readings.filter(in_range, recorded_at__lt=latest_at)
        .order_by("-recorded_at")
        .values_list("recorded_at", flat=True)
        .first()
    )
    streak = readings.filter(recorded_at__lte=latest_at)
    if last_in_range_at is not None:
        streak = streak.filter(recorded_at__gt=last_in_range_at)
    streak_start = streak.order_by("recorded_at").values_list("recorded_at", flat=True).first()
    minutes = (latest_at - streak_start).total_seconds() / 60
    if minutes < thresholds.minutes_out_of_range:
        return
    facts = temperature_facts(
        value=latest_value, thresholds=thresholds, minutes=int(minutes), since=streak_start
    )
    alert, created = alert_open(
        device=device,
        kind=Kind.TEMPERATURE_OUT_OF_RANGE,
        facts=facts,
        value=latest_value,
        now=now,
    )
    if created:
        result.opened.append(alert)


def _energy_rule(
    *, device: Device, thresholds: EffectiveThresholds, now: dt.datetime, result: EvaluationResult
) -> None:
    """The last hour's energy (up to the latest energy reading) above `factor` × the median
    hourly energy of the 7 days before it, once there are enough baseline hours."""
    readings = DeviceReading.objects.filter(device=device, energy_wh__isnull=False)
    latest_at = readings.order_by("-recorded_at").values_list("recorded_at", flat=True).first()
    if latest_at is None:
        return
    window_start = latest_at - ENERGY_WINDOW
    recent = (
        readings.filter(recorded_at__gt=window_start, recorded_at__lte=latest_at).aggregate(
            total=Sum("energy_wh")
        )["total"]
        or 0.0
    )
    baseline = list(
        DeviceReadingHourly.objects.filter(
            device=device,
            energy_wh_sum__isnull=False,
            hour__lte=window_start - dt.timedelta(hours=1),
            hour__gt=window_start - ENERGY_BASELINE - dt.timedelta(hours=1),
        ).values_list("energy_wh_sum", flat=True)
    )
    verdict = energy_verdict(
        recent_wh=recent,
        baseline_hourly_wh=baseline,
        factor=thresholds.energy_spike_factor,
        min_hours=thresholds.energy_baseline_min_hours,
    )
    if not verdict.has_baseline:
        return
    if verdict.is_spike:
        facts = energy_facts(
            recent_wh=verdict.recent_wh,
            median_wh=verdict.baseline_median_wh,
            factor=thresholds.energy_spike_factor,
        )
        alert, created = alert_open(
            device=device, kind=Kind.ENERGY_SPIKE, facts=facts, value=recent, now=now
        )
        if created:
            result.opened.append(alert)
        return
    resolved = _alert_resolve_cleared(
        device=device,
        kind=Kind.ENERGY_SPIKE,
        code=Cleared.ENERGY_NORMAL,
        facts={"recent_wh": verdict.recent_wh},
        now=now,
    )
    if resolved is not None:
        result.resolved.append(resolved)


def device_alerts_evaluate(*, device: Device, now: dt.datetime | None = None) -> EvaluationResult:
    """Evaluate the per-device rules after new readings: temperature out of range for N
    minutes, energy spike, and "silent" cleared because the device posted again.

    Idempotent: evaluating again with the same data opens and resolves nothing more. Records
    the (wall-clock) start in `alerts_evaluated_at`, so the pending-evaluations sweep knows every
    reading committed before it has been seen.
    """
    now = now or timezone.now()
    result = EvaluationResult()
    if not device.is_active:
        return result
    Device.objects.filter(pk=device.pk).update(alerts_evaluated_at=timezone.now())
    thresholds = device_thresholds(device=device)
    _temperature_rule(device=device, thresholds=thresholds, now=now, result=result)
    _energy_rule(device=device, thresholds=thresholds, now=now, result=result)
    if device.last_seen_at is not None and now - device.last_seen_at < dt.timedelta(
        minutes=device.silent_after_minutes
    ):
        resolved = _alert_resolve_cleared(
            device=device,
            kind=Kind.DEVICE_SILENT,
            code=Cleared.POSTING_AGAIN,
            facts={},
            now=now,
        )
        if resolved is not None:
            result.resolved.append(resolved)
    return result


# A batch's own evaluation task normally runs within seconds; the sweep leaves younger batches
# to it so that it does not evaluate every busy device twice.
PENDING_EVALUATION_GRACE = dt.timedelta(minutes=2)
PENDING_EVALUATION_BATCH = 500


def devices_pending_alerts_evaluate(*, now: dt.datetime | None = None) -> int:
    """Evaluate every active device whose latest batch was never evaluated — its enqueue after
    commit was lost (broker down) — and that posted more than PENDING_EVALUATION_GRACE ago.
    Oldest first, at most PENDING_EVALUATION_BATCH per run. Returns the number evaluated.

    Idempotent: an evaluated device is marked (`alerts_evaluated_at`), so a second run finds
    nothing; a device evaluated twice (concurrent sweep, late task) opens nothing twice.
    """
    now = now or timezone.now()
    pending = list(
        Device.objects.filter(is_active=True, last_seen_at__lt=now - PENDING_EVALUATION_GRACE)
        .filter(Q(alerts_evaluated_at__isnull=True) | Q(alerts_evaluated_at__lt=F("last_seen_at")))
        .order_by("last_seen_at")[:PENDING_EVALUATION_BATCH]
    )
    for device in pending:
        device_alerts_evaluate(device=device)
    return len(pending)


@dataclass(frozen=True)
class SweepResult:
    opened: int
    resolved: int


def _sweepable_devices() -> QuerySet[Device]:
    return Device.objects.filter(
        is_active=True,
        last_seen_at__isnull=False,
        token_hash__isnull=False,
        revoked_at__isnull=True,
    ).exclude(store__status=Store.Status.CLOSED)


def devices_silent_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Open a "device silent" alert for every device that has not posted for its
    `silent_after_minutes`, and resolve those whose device posted again. Set-wise: one query
    per distinct silence setting, one INSERT for all new alerts.

    Idempotent: a second sweep (or a concurrent one) opens nothing new — the partial unique
    constraint drops duplicates and only rows inserted by this sweep (`opened_at = now`) are
    announced. Devices never seen, without a live token or in closed stores are not swept.
    """
    now = now or timezone.now()
    devices = _sweepable_devices()
    settings_in_use = sorted(set(devices.values_list("silent_after_minutes", flat=True)))
    has_active_silent = Exists(
        DeviceAlert.objects.filter(
            device=OuterRef("pk"), kind=Kind.DEVICE_SILENT, status__in=ACTIVE
        )
    )
    silent: list[tuple[int, int, dt.datetime]] = []
    for minutes in settings_in_use:
        silent += list(
            devices.filter(
                silent_after_minutes=minutes,
                last_seen_at__lt=now - dt.timedelta(minutes=minutes),
            )
            .exclude(has_active_silent)
            .values_list("pk", "store_id", "last_seen_at")
        )
    opened = 0
    if silent:
        rows = []
        for device_id, store_id, last_seen_at in silent:
            quiet_minutes = int((now - last_seen_at).total_seconds() // 60)
            rows.append(
                DeviceAlert(
                    device_id=device_id,
                    store_id=store_id,
                    kind=Kind.DEVICE_SILENT,
                    opened_at=now,
                    value=quiet_minutes,
                    facts=silent_facts(minutes=quiet_minutes, last_seen=last_seen_at),
                )
            )
        with transaction.atomic():
            DeviceAlert.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
            mine = list(
                DeviceAlert.objects.filter(
                    kind=Kind.DEVICE_SILENT,
                    status=Status.OPEN,
                    opened_at=now,
                    device_id__in=[row.device_id for row in rows],
                ).select_related("device")
            )
            _alerts_announce(mine)
        opened = len(mine)
    resolved = 0
    for minutes in settings_in_use:
        cleared = list(
            DeviceAlert.objects.filter(
                kind=Kind.DEVICE_SILENT,
                status__in=ACTIVE,
                device__silent_after_minutes=minutes,
                device__last_seen_at__gte=now - dt.timedelta(minutes=minutes),
            ).select_related("device")
        )
        if not cleared:
            continue
        with transaction.atomic():
            resolved += DeviceAlert.objects.filter(
                pk__in=[alert.pk for alert in cleared], status__in=ACTIVE
            ).update(
                status=Status.RESOLVED,
                resolved_at=now,
                resolution_code=Cleared.POSTING_AGAIN,
                resolution_facts={},
                resolution_note=_cleared_note(Cleared.POSTING_AGAIN, {}),
            )
            for alert in cleared:
                alert.status = Status.RESOLVED
                alert.resolution_code = Cleared.POSTING_AGAIN
                _alert_broadcast(alert, event="device.alert_resolved", text=alert_resolved_line)
    return SweepResult(opened=opened, resolved=resolved)
