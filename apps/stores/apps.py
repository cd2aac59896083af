from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StoresConfig(AppConfig):
    name = "apps.stores"
    label = "stores"
    verbose_name = _("Stores")

    def ready(self) -> None:
        """Audit HQ's edits of this app's master data (who, when, before and after; see
        linli/audit.py). Models are imported here, once the app registry is ready."""
        from auditlog.registry import auditlog

        from apps.stores.models import Store

        auditlog.register(Store)
