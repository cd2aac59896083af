from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcurementConfig(AppConfig):
    name = "apps.procurement"
    label = "procurement"
    verbose_name = _("Procurement")

    def ready(self) -> None:
        """Audit HQ's edits of this app's master data (who, when, before and after; see
        linli/audit.py). Models are imported here, once the app registry is ready."""
        from auditlog.registry import auditlog

        from apps.procurement.models import Supplier, SupplierProduct

        auditlog.register(Supplier, mask_fields=["phone"])
        auditlog.register(SupplierProduct)
