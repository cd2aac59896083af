from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    verbose_name = _("Catalog and decisions")

    def ready(self) -> None:
        """Audit HQ's edits of this app's master data (who, when, before and after; see
        linli/audit.py). Models are imported here, once the app registry is ready."""
        from auditlog.registry import auditlog

        from apps.catalog.models import Category, DecisionSettings, Product

        auditlog.register(Category)
        auditlog.register(Product)
        auditlog.register(DecisionSettings, exclude_fields=["updated_at"])
