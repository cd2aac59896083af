"""Recommendation rules: weak metrics against the peer figures, repeated inspection failures,
and the sentence that names the metric and the peer figure."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from apps.training import selectors
from apps.training.analytics import advice
from apps.training.analytics.advice import KpiFigure, SectionFailures
from tests.factories import StoreFactory
from tests.stores.test_inspections_support import active_checklist, submitted_inspection
from tests.training.factories import CourseFactory, TrainingPathFactory, kpi_month

D = Decimal


def _figures(**values: tuple[str, str]) -> dict[str, KpiFigure]:
    return {
        code: KpiFigure(code, D(value), peer_p25=D(p25)) for code, (value, p25) in values.items()
    }


def test_live_conversion_below_the_peer_25th_percentile_recommends_live_selling() -> None:
    [rec] = advice.recommendations(_figures(live_conversion=("0.012", "0.025")))
    assert (rec.skill, rec.metric_code, rec.value, rec.peer_value) == (
        "live_selling",
        "live_conversion",
        D("0.012"),
        D("0.025"),
    )


def test_at_or_above_the_peer_25th_percentile_recommends_nothing() -> None:
    assert advice.recommendations(_figures(live_conversion=("0.025", "0.025"))) == []
    assert advice.recommendations(_figures(live_conversion=("0.030", "0.025"))) == []


def test_loss_rate_worse_than_the_peers_recommends_fresh_goods_handling() -> None:
    # lower is better: the direction-aware p25 is the raw 75th percentile (0.039)
    [rec] = advice.recommendations(_figures(loss_rate=("0.061", "0.039")))
    assert (rec.skill, rec.value, rec.peer_value, rec.higher_is_better) == (
        "fresh_goods",
        D("0.061"),
        D("0.039"),
        False,
    )
    assert advice.recommendations(_figures(loss_rate=("0.020", "0.039"))) == []


def test_missing_figures_recommend_nothing() -> None:
    assert advice.recommendations({}) == []
    assert advice.recommendations({"live_conversion": KpiFigure("live_conversion", None)}) == []
    no_peers = {"live_conversion": KpiFigure("live_conversion", D("0.01"), peer_p25=None)}
    assert advice.recommendations(no_peers) == []


def test_a_section_failed_in_two_of_the_last_three_inspections_is_repeated() -> None:
    newest_first = [
        [("cold_chain", 3), ("hygiene", 9)],
        [("cold_chain", 8), ("hygiene", 4)],
        [("cold_chain", 2), ("hygiene", 9)],
        [("hygiene", 1)],  # fourth-newest: outside the window
    ]
    assert advice.repeated_section_failures(newest_first) == [
        SectionFailures("cold_chain", failures=2, inspections=3, lowest=2)
    ]


def test_a_score_at_the_fail_line_is_not_a_failure_and_unscored_items_are_ignored() -> None:
    assert advice.repeated_section_failures([[("hygiene", 5)], [("hygiene", None)]]) == []


def test_the_reason_names_the_metric_and_the_peer_figure() -> None:
    [live] = advice.recommendations(_figures(live_conversion=("0.012", "0.025")))
    [loss] = advice.recommendations(_figures(loss_rate=("0.061", "0.039")))
    with translation.override("en"):
        assert selectors.recommendation_reason(live) == (
            "Live conversion 1.2%, below the peer 25th percentile 2.5%"
        )
        assert selectors.recommendation_reason(loss) == (
            "Loss rate 6.1%, above the peer 75th percentile 3.9%"
        )


@pytest.mark.django_db
def test_store_recommendations_map_rules_to_paths_and_the_section_course() -> None:
    store = StoreFactory()
    active_checklist((3, 2, 2))  # sections: shelf display, freshness, hygiene
    submitted_inspection(store=store, scores=[2, 10, 10])
    submitted_inspection(store=store, scores=[9, 10, 10])
    submitted_inspection(store=store, scores=[4, 10, 10])
    live_path = TrainingPathFactory(skill="live_selling")
    inspection_path = TrainingPathFactory(skill="inspection")
    shelf_course = CourseFactory(skill="inspection", inspection_section="shelf_display")
    kpi_month(store, live_conversion=(D("1.2"), D("2.5")))  # the pack's rates, in percent
    with translation.override("en"):
        found = selectors.store_recommendations(store=store)
    assert [(item.path, item.course) for item in found] == [
        (live_path, None),
        (inspection_path, shelf_course),
    ]
    assert found[0].reason == "Live conversion 1.2%, below the peer 25th percentile 2.5%"
    assert found[1].recommendation.failures == 2
    assert found[1].recommendation.lowest == 2
    assert "2 of the last 3" in found[1].reason


@pytest.mark.django_db
def test_a_store_with_clean_inspections_and_no_figures_gets_no_recommendation() -> None:
    store = StoreFactory()
    active_checklist((1, 1))
    submitted_inspection(store=store, scores=[10, 10])
    submitted_inspection(store=store, scores=[9, 8])
    assert selectors.store_recommendations(store=store) == []
