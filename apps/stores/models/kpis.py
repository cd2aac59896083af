"""Monthly KPI snapshots per store, per region and for the network (docs/kpis.md).

What each KPI means (unit, direction, source) is declared once in
`apps/stores/kpis/definitions.py`; this model only stores the computed figures, written by
`apps.stores.kpis.services.kpi_snapshots_compute` (delete-and-insert of a whole month, so a
rerun leaves exactly one row per scope, month and KPI).
"""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class KpiSnapshot(models.Model):
    class Scope(models.TextChoices):
        STORE = "store", _("Store")
        REGION = "region", _("Region")
        NETWORK = "network", _("Network")

    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices)
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="kpi_figures",
    )
    region = models.ForeignKey(
        "stores.Region",
        verbose_name=_("region"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="kpi_figures",
    )
    # The calendar month (local time) the figures cover, as its first day.
    period = models.DateField(_("month"))
    code = models.CharField(_("KPI"), max_length=32)
    # None: no source data for this scope and month (never a stand-in zero).
    value = models.DecimalField(_("value"), max_digits=18, decimal_places=4, null=True)
    numerator = models.DecimalField(_("numerator"), max_digits=18, decimal_places=4, null=True)
    denominator = models.DecimalField(_("denominator"), max_digits=18, decimal_places=4, null=True)
    # Store rows: where the store stands among the network's stores with a value, 0–100,
    # higher is better whatever the KPI's direction.
    percentile = models.DecimalField(_("percentile"), max_digits=5, decimal_places=1, null=True)
    # Region and network rows: the spread of their stores' values (direction-aware: p25 is
    # the value of a store at the 25th percentile of performance).
    peer_count = models.PositiveIntegerField(_("stores with a value"), default=0)
    peer_p25 = models.DecimalField(
        _("peer 25th percentile"), max_digits=18, decimal_places=4, null=True
    )
    peer_median = models.DecimalField(_("peer median"), max_digits=18, decimal_places=4, null=True)
    peer_p75 = models.DecimalField(
        _("peer 75th percentile"), max_digits=18, decimal_places=4, null=True
    )
    # False while the month is still running (month to date).
    is_complete = models.BooleanField(_("month complete"), default=False)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        ordering = ["-period", "scope", "code"]
        indexes = [
            models.Index(fields=["scope", "period", "code"]),
            models.Index(fields=["store", "period"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope="store", store__isnull=False, region__isnull=True)
                    | Q(scope="region", store__isnull=True, region__isnull=False)
                    | Q(scope="network", store__isnull=True, region__isnull=True)
                ),
                name="kpi_snapshot_scope_matches_keys",
            ),
            models.UniqueConstraint(
                fields=["store", "period", "code"],
                condition=Q(scope="store"),
                name="kpi_snapshot_store_unique",
            ),
            models.UniqueConstraint(
                fields=["region", "period", "code"],
                condition=Q(scope="region"),
                name="kpi_snapshot_region_unique",
            ),
            models.UniqueConstraint(
                fields=["period", "code"],
                condition=Q(scope="network"),
                name="kpi_snapshot_network_unique",
            ),
            models.CheckConstraint(
                condition=Q(percentile__isnull=True) | Q(percentile__gte=0, percentile__lte=100),
                name="kpi_snapshot_percentile_range",
            ),
        ]

    def __str__(self) -> str:
        if self.scope == self.Scope.STORE:
            target = str(self.store)
        elif self.scope == self.Scope.REGION:
            target = str(self.region)
        else:
            target = str(self.Scope.NETWORK.label)
        # The KPI definitions sit above the models (import-linter: ledger-below-derived), so
        # the label comes through the app config, which may import them.
        label = apps.get_app_config("stores").kpi_label(self.code)
        return f"{target} · {self.period:%Y-%m} · {label}"
