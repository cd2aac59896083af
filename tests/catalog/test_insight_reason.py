"""Insight card sentences: the full evidence when stored; a card stored before the evidence
figures still states the figures it holds, never a bare "Sales rising"."""

from __future__ import annotations

import pytest
from django.utils.translation import override

from apps.catalog.models import ReasonKind
from apps.catalog.models.decisions import reason_text
from tests.catalog.factories import DailyListEntryFactory, InsightCardFactory

pytestmark = pytest.mark.django_db


def test_a_card_with_its_evidence_states_the_usual_week_and_the_z_score() -> None:
    card = InsightCardFactory.build(reason_data={"last7": 28, "prev7": 14, "usual": 12.5, "z": 3.1})
    with override("en"):
        assert card.reason == (
            "Demand is rising: 28 sold in the last 7 days against a usual 12.5 a week "
            "(3.1 standard deviations above its own weekly variation)"
        )


def test_a_rise_from_no_sales_says_so_instead_of_counting_standard_deviations() -> None:
    card = InsightCardFactory.build(reason_data={"last7": 5, "prev7": 0, "usual": 0.0, "z": 4.3})
    with override("en"):
        assert card.reason == (
            "Demand is rising: 5 sold in the last 7 days, none in the weeks before"
        )
    with override("zh-hans"):
        assert card.reason == "需求上升：近 7 天售出 5 件，此前几周一件未售"


def test_an_old_card_without_the_evidence_states_its_two_weeks_of_units() -> None:
    old = InsightCardFactory.build(reason_data={"last7": 28, "prev7": 14})
    with override("en"):
        assert old.reason == "Sales rising: 28 sold in the last 7 days, 14 in the 7 days before"
    with override("zh-hans"):
        assert "28" in old.reason
        assert "14" in old.reason


def test_a_card_stored_with_no_figures_takes_them_from_its_own_columns() -> None:
    bare = InsightCardFactory.build(reason_data={}, units_last_7d=9, units_prev_7d=3)
    talk = InsightCardFactory.build(
        reason_kind=ReasonKind.RISING_MENTIONS, reason_data={}, mentions_7d=7
    )
    with override("en"):
        assert bare.reason == "Sales rising: 9 sold in the last 7 days, 3 in the 7 days before"
        assert talk.reason == "Customers mentioned it 7 times in your chat groups this week"


def test_stored_figures_win_over_the_card_columns() -> None:
    card = InsightCardFactory.build(
        reason_data={"last7": 40, "prev7": 20}, units_last_7d=1, units_prev_7d=1
    )
    with override("en"):
        assert card.reason.startswith("Sales rising: 40 sold")


def test_other_reasons_degrade_to_what_their_figures_support_then_to_the_label() -> None:
    with override("en"):
        assert reason_text(ReasonKind.HOT_RISING, {"velocity": 4.0}) == (
            "Sells 4.0 a day over the last 7 days"
        )
        assert reason_text(ReasonKind.NEW_REGION, {}) == "Doing well in similar stores"
        entry = DailyListEntryFactory.build(reason_data={"velocity": 4.0, "trend": 100})
        assert entry.reason == "Sells 4.0 a day, up 100% on the week before"
