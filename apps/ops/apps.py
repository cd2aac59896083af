from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Project-wide tooling that may depend on every app: the demo generator and the
    cross-app management commands (seed_demo, setup_roles, setup_periodic_tasks, import_csv).
    It has no models; nothing imports it."""

    name = "apps.ops"
    label = "ops"
    verbose_name = _("Operations tooling")
