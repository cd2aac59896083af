"""Device background work. Thin: each task calls one service; all are idempotent."""

from __future__ import annotations

from celery import shared_task

from apps.devices.models import Device
from apps.devices.services import (
    device_alerts_evaluate,
    device_readings_retention_apply,
    device_readings_rollup,
    devices_pending_alerts_evaluate,
    devices_silent_sweep,
)


@shared_task(time_limit=120, soft_time_limit=100)
def device_alerts_evaluate_task(device_id: int) -> dict[str, int]:
    """Evaluate one device's alert rules after it posted readings (enqueued on commit by the
    readings API). A redelivered or duplicate message opens nothing twice."""
    device = Device.objects.filter(pk=device_id).first()
    if device is None:
        return {"opened": 0, "resolved": 0}
    result = device_alerts_evaluate(device=device)
    return {"opened": len(result.opened), "resolved": len(result.resolved)}


@shared_task(time_limit=300, soft_time_limit=270)
def devices_pending_alerts_evaluate_task() -> int:
    """Every few minutes: evaluate the devices whose evaluation enqueue was lost (broker down
    when their readings committed). Idempotent; returns how many were evaluated."""
    return devices_pending_alerts_evaluate()


@shared_task(time_limit=300, soft_time_limit=270)
def devices_silent_sweep_task() -> dict[str, int]:
    """Every few minutes: open "device silent" alerts, resolve those that posted again."""
    result = devices_silent_sweep()
    return {"opened": result.opened, "resolved": result.resolved}


@shared_task(time_limit=1800, soft_time_limit=1700)
def device_readings_rollup_task() -> int:
    """Hourly: recompute the closed hours that received readings recently (upsert)."""
    return device_readings_rollup()


@shared_task(time_limit=3600, soft_time_limit=3500)
def device_readings_retention_task() -> dict[str, int]:
    """Hourly: delete raw readings older than the retention window, once rolled up."""
    result = device_readings_retention_apply()
    return {"hours_rolled_up": result.hours_rolled_up, "readings_deleted": result.readings_deleted}
