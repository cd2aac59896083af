from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "apps.devices"
    label = "devices"
    verbose_name = _("Devices")

    def ready(self) -> None:
        """Audit HQ's edits of this app's master data (who, when, before and after; see
        linli/audit.py), and register the owners' device-alert notification with its label,
        worded in the reader's language (apps/campaigns/notifications/texts.py). Models are
        imported here, once the app registry is ready."""
        from auditlog.registry import auditlog

        from apps.campaigns.notifications.texts import notification_kind_register
        from apps.devices.models import DeviceKindThreshold
        from apps.devices.notification_texts import DEVICE_ALERT_KIND, device_alert_texts

        auditlog.register(DeviceKindThreshold, exclude_fields=["updated_at"])
        notification_kind_register(
            kind=DEVICE_ALERT_KIND, label=_("Device alert"), renderer=device_alert_texts
        )
