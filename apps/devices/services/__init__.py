"""Writes for devices, split by subdomain: tokens, ingestion, alerts, rollup/retention."""

from __future__ import annotations

from apps.devices.services.alerts import (
    EvaluationResult,
    SweepResult,
    alert_acknowledge,
    alert_open,
    alert_resolve,
    alert_text,
    device_alerts_evaluate,
    devices_pending_alerts_evaluate,
    devices_silent_sweep,
)
from apps.devices.services.ingest import (
    MAX_PROBLEMS_REPORTED,
    IngestResult,
    ReadingProblem,
    ReadingsRejected,
    device_readings_ingest,
    readings_parse,
)
from apps.devices.services.rollup import (
    RetentionResult,
    device_readings_retention_apply,
    device_readings_rollup,
)
from apps.devices.services.tokens import device_token_issue, device_token_revoke

__all__ = [
    "MAX_PROBLEMS_REPORTED",
    "EvaluationResult",
    "IngestResult",
    "ReadingProblem",
    "ReadingsRejected",
    "RetentionResult",
    "SweepResult",
    "alert_acknowledge",
    "alert_open",
    "alert_resolve",
    "alert_text",
    "device_alerts_evaluate",
    "device_readings_ingest",
    "device_readings_retention_apply",
    "device_readings_rollup",
    "device_token_issue",
    "device_token_revoke",
    "devices_pending_alerts_evaluate",
    "devices_silent_sweep",
    "readings_parse",
]
