"""The owners' device-alert notification, worded from its payload in the reader's language.

Registered with the notifications' renderer registry in `DevicesConfig.ready()`
(`apps.campaigns.notifications.texts`); the alert services store the same words in the project
language when they write the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext

from apps.devices.models import DeviceAlert, alert_detail_text
from linli.wording import person_name

DEVICE_ALERT_KIND = "device_alert"


def alert_line(*, device: str, kind_label: str, detail: str) -> str:
    """One line for websockets and notification titles, in the active language: device, what,
    detail."""
    return gettext("%(device)s: %(kind)s — %(detail)s") % {
        "device": device,
        "kind": kind_label,
        "detail": detail,
    }


def alert_opened_line(alert: DeviceAlert) -> str:
    """The store's live line of an alert that opened, in the active language."""
    return alert_line(
        device=alert.device.name, kind_label=alert.get_kind_display(), detail=alert.detail_text
    )


def alert_acknowledged_line(alert: DeviceAlert) -> str:
    """The store's live line of an alert someone acknowledged, in the active language."""
    return gettext("%(device)s: alert acknowledged by %(user)s") % {
        "device": alert.device.name,
        "user": person_name(alert.acknowledged_by) if alert.acknowledged_by else "—",
    }


def alert_resolved_line(alert: DeviceAlert) -> str:
    """The store's live line of a resolved alert, in the active language: who resolved it, or,
    resolved by the system (`resolved_by` empty), why its condition cleared."""
    if alert.resolved_by is not None:
        return gettext("%(device)s: alert resolved by %(user)s") % {
            "device": alert.device.name,
            "user": person_name(alert.resolved_by),
        }
    return gettext("%(device)s: %(kind)s cleared — %(note)s") % {
        "device": alert.device.name,
        "kind": alert.get_kind_display(),
        "note": alert.resolution_text,
    }


def device_alert_payload(alert: DeviceAlert) -> dict[str, object]:
    """The notification's payload: the alert, and what its words are made of (the device's
    name, the alert's kind and facts)."""
    return {
        "alert_id": alert.pk,
        "device_id": alert.device_id,
        "device": alert.device.name,
        "kind": alert.kind,
        "facts": alert.facts,
    }


def device_alert_texts(payload: Mapping[str, Any]) -> tuple[str, str]:
    """(title, body) of a device-alert notification in the active language. KeyError /
    ValueError when the payload cannot be worded (written before it carried the device's name,
    or facts that do not parse): the reader is shown the stored text."""
    kind = DeviceAlert.Kind(payload["kind"])
    detail = alert_detail_text(kind=kind, facts=payload["facts"])
    if not detail:
        raise ValueError("the alert's facts cannot be worded")
    title = alert_line(device=str(payload["device"]), kind_label=str(kind.label), detail=detail)
    return title, detail
