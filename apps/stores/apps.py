from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StoresConfig(AppConfig):
    name = "apps.stores"
    label = "stores"
    verbose_name = _("Stores")

    def ready(self) -> None:
        """Audit HQ's edits of this app's master data (who, when, before and after; see
        linli/audit.py). Models are imported here, once the app registry is ready. Tell the
        broadcast helper which store actions a broadcast may require (`linli.realtime`)."""
        from auditlog.registry import auditlog

        from apps.stores.access import STORE_ACTIONS
        from apps.stores.models import Store
        from linli.realtime import requirements_register

        auditlog.register(Store)
        requirements_register(action.name for action in STORE_ACTIONS)

    def kpi_label(self, code: str) -> str:
        """The KPI's translated label (its code when unknown), for the models, which may not
        import the KPI definitions (they sit above the models; pyproject's import contracts)."""
        from apps.stores.kpis.definitions import kpi_label

        return kpi_label(code)
