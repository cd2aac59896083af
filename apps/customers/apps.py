from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "apps.customers"
    label = "customers"
    verbose_name = _("Members")

    def ready(self) -> None:
        """Audit HQ's edits of this app's master data (who, when, before and after; see
        linli/audit.py). Models are imported here, once the app registry is ready."""
        from auditlog.registry import auditlog

        from apps.customers.models import Member

        # Masked by AUDITLOG_MASK_CALLABLE (138****8000): the whole number never reaches the log.
        auditlog.register(Member, mask_fields=["phone"], exclude_fields=["updated_at"])
