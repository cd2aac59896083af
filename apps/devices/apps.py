from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "apps.devices"
    label = "devices"
    verbose_name = _("Devices")

    def ready(self) -> None:
        """Audit HQ's edits of this app's master data (who, when, before and after; see
        linli/audit.py). Models are imported here, once the app registry is ready."""
        from auditlog.registry import auditlog

        from apps.devices.models import DeviceKindThreshold

        auditlog.register(DeviceKindThreshold, exclude_fields=["updated_at"])
