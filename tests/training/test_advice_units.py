"""The advice reads each KPI figure's unit (the KPI definition's) instead of converting rates:
the pack's percent figures go to the rules, the enrolment and the sentence as they are."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps as registry
from django.utils import translation

from apps.stores.models import KpiSnapshot
from apps.training import selectors, services
from apps.training.analytics import advice
from tests.factories import StoreFactory, UserFactory
from tests.training.factories import EnrolmentFactory, TrainingPathFactory

D = Decimal
JULY = dt.date(2026, 7, 1)


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (D("1.2"), advice.PERCENT, "1.2%"),
        (D("0.012"), advice.FRACTION, "1.2%"),
        (D("67.14"), "", "67.1"),
        (None, advice.PERCENT, "—"),
    ],
)
def test_metric_display_reads_the_unit(value: Decimal | None, unit: str, shown: str) -> None:
    assert advice.metric_display(value, unit=unit) == shown


def test_the_rules_fire_the_same_whatever_the_unit() -> None:
    as_percent = {"loss_rate": advice.KpiFigure("loss_rate", D("6.1"), peer_p25=D("3.9"), unit="%")}
    as_fraction = {"loss_rate": advice.KpiFigure("loss_rate", D("0.061"), peer_p25=D("0.039"))}
    [percent] = advice.recommendations(as_percent)
    [fraction] = advice.recommendations(as_fraction)
    assert (percent.skill, percent.unit) == ("fresh_goods", "%")
    assert (fraction.skill, fraction.unit) == ("fresh_goods", advice.FRACTION)
    with translation.override("en"):
        assert selectors.recommendation_reason(percent) == selectors.recommendation_reason(fraction)


@pytest.mark.django_db
def test_the_pack_figures_reach_the_advice_and_the_enrolment_unconverted() -> None:
    store = StoreFactory()
    KpiSnapshot.objects.bulk_create(
        [
            KpiSnapshot(
                scope="store",
                store=store,
                period=JULY,
                code="live_conversion",
                value=D("1.2000"),
                percentile=D("10.0"),
            ),
            KpiSnapshot(
                scope="network",
                period=JULY,
                code="live_conversion",
                value=D("3.0000"),
                peer_p25=D("2.5000"),
                peer_count=10,
                is_complete=True,
            ),
        ]
    )
    figure = selectors.store_kpi_figures(store=store)["live_conversion"]
    assert (figure.value, figure.peer_p25, figure.unit) == (D("1.2000"), D("2.5000"), "%")
    path = TrainingPathFactory(skill="live_selling", metric_code="live_conversion")
    with translation.override("en"):
        [found] = selectors.store_recommendations(store=store)
    assert found.path == path
    assert found.reason == "Live conversion 1.2%, below the peer 25th percentile 2.5%"
    enrolment = services.enrolment_create(user=UserFactory(), store=store, path=path)
    assert enrolment.metric_at_enrolment == D("1.2000")


@pytest.mark.django_db
def test_the_migration_turns_recorded_rates_into_percent_and_leaves_the_rest() -> None:
    migration = importlib.import_module(
        "apps.training.migrations.0002_metric_at_enrolment_in_kpi_units"
    )
    store = StoreFactory()
    rate = EnrolmentFactory(
        store=store, metric_code="live_conversion", metric_at_enrolment=D("0.012")
    )
    score = EnrolmentFactory(
        store=store, metric_code="inspection_score", metric_at_enrolment=D("67.1")
    )
    unknown = EnrolmentFactory(store=store, metric_code="loss_rate", metric_at_enrolment=None)
    migration.rates_to_percent(registry, None)
    for enrolment in (rate, score, unknown):
        enrolment.refresh_from_db()
    assert rate.metric_at_enrolment == D("1.2")
    assert score.metric_at_enrolment == D("67.1")
    assert unknown.metric_at_enrolment is None
