from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcurementConfig(AppConfig):
    name = "apps.procurement"
    label = "procurement"
    verbose_name = _("Procurement")

    def ready(self) -> None:
        """Audit HQ's edits of this app's master data (who, when, before and after; see
        linli/audit.py), and register its kinds of notification with their labels, the
        suppliers' portal ones worded in the reader's language
        (apps/campaigns/notifications/texts.py). Models are imported here, once the app
        registry is ready."""
        from auditlog.registry import auditlog

        from apps.campaigns.notifications.texts import notification_kind_register
        from apps.procurement.models import Supplier, SupplierProduct
        from apps.procurement.notification_texts import KINDS

        auditlog.register(Supplier, mask_fields=["phone"])
        auditlog.register(SupplierProduct)
        for kind, label, renderer in KINDS:
            notification_kind_register(kind=kind, label=label, renderer=renderer)
