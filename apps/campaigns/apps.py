from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "apps.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        """Audit HQ's edits of this app's master data (who, when, before and after; see
        linli/audit.py), and register its kinds of notification with their labels
        (apps/campaigns/notifications/texts.py). Models are imported here, once the app
        registry is ready."""
        from auditlog.registry import auditlog

        from apps.campaigns.models import Campaign, Promotion, ScenarioTemplate
        from apps.campaigns.notification_texts import KINDS
        from apps.campaigns.notifications.texts import notification_kind_register

        for kind, label in KINDS.items():
            notification_kind_register(kind=kind, label=label)

        auditlog.register(Promotion)
        auditlog.register(ScenarioTemplate)
        auditlog.register(Campaign)
