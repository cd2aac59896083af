"""Enrolments record their KPI in the KPI's own unit (a rate in percent: 1.2 for 1.2 %), as the
KPI pack keeps it. From integration stop 19 until this migration, rates were recorded as
fractions (0.012); before stop 19 no figure was recorded at all (None). So every recorded rate
is a fraction here, and becomes percent. Not reversible in data: reversing leaves rows as
they are."""

from __future__ import annotations

from decimal import Decimal

from django.db import migrations
from django.db.models import F

# The KPI codes whose definition's unit is "%" when this migration was written
# (apps/stores/kpis/definitions.py); frozen here, as a migration must not follow later edits.
PERCENT_CODES = (
    "gross_margin",
    "loss_rate",
    "repurchase_rate",
    "repeat_buyer_share",
    "group_buy_success_rate",
    "live_conversion",
)


def rates_to_percent(apps, schema_editor) -> None:
    Enrolment = apps.get_model("training", "Enrolment")  # noqa: N806 - a model class
    Enrolment.objects.filter(
        metric_code__in=PERCENT_CODES, metric_at_enrolment__isnull=False
    ).update(metric_at_enrolment=F("metric_at_enrolment") * Decimal(100))


class Migration(migrations.Migration):
    dependencies = [("training", "0001_knowledge_base_and_training")]

    operations = [migrations.RunPython(rates_to_percent, migrations.RunPython.noop)]
