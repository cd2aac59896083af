"""HQ's decision settings (one row)."""

from __future__ import annotations

from apps.catalog.models import DecisionSettings


def decision_settings_get() -> DecisionSettings:
    """The settings row, created with the defaults on first use."""
    settings, _created = DecisionSettings.objects.get_or_create(pk=1)
    return settings
