"""An owner accepts an insight card while HQ launches the card's scenario template at the same
store for overlapping days, or accepts two cards of one template at once: one campaign, and
the other is refused naming it. Real threads on PostgreSQL (both writers lock the template's
row with SELECT … FOR UPDATE, which SQLite does not have; on SQLite the test skips with its
reason, and with CI=true the suite runs on PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.campaigns.models import Campaign, ScenarioTemplate, StoreCampaign
from apps.campaigns.services.campaigns import (
    CampaignOverlapError,
    InsightOverlapError,
    campaign_draft_from_insight,
    campaign_launch,
)
from apps.catalog.models import InsightCard
from apps.catalog.sources import InsightNotDrafted, insight_card_draft
from tests.campaigns.factories import ScenarioTemplateFactory
from tests.catalog.factories import InsightCardFactory
from tests.factories import CategoryFactory, ProductFactory, StoreFactory, UserFactory
from tests.procurement.test_consolidation_race import _in_thread

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; their results or exceptions."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = []
    lock = threading.Lock()

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcome: Any = call()
        except Exception as error:  # collected for the assertions
            outcome = error
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=run, args=(call,)) for call in calls]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


@pytest.fixture
def template() -> ScenarioTemplate:
    """The 夏季水果季 template (3 days) covers the fruit category."""
    template = ScenarioTemplateFactory(code="summer", name="夏季水果季", duration_days=3)
    template.categories.set([CategoryFactory(code="FRUIT", name="水果")])
    return template


# Rounds of the race, each at a store of its own: which side wins varies, and a lock taken in
# the wrong order (the card's select_related rows locked with it blocked the launch's inserts
# while it waited for the template: a deadlock) shows in some rounds only.
ROUNDS = 4


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_an_acceptance_racing_an_hq_launch_makes_one_campaign(
    template: ScenarioTemplate, round_number: int
) -> None:
    fruit = template.categories.get()
    store = StoreFactory()
    card = InsightCardFactory(store=store, product=ProductFactory(name="蓝莓", category=fruit))
    owner, hq = UserFactory(), UserFactory(is_staff=True)
    # Three days from today: the card's campaign (today or tomorrow) overlaps it either way.
    outcomes = _at_once(
        lambda: campaign_draft_from_insight(card=card, by=owner),
        lambda: campaign_launch(
            template=template,
            starts_on=timezone.localdate(),
            products=[ProductFactory(name="西瓜", category=fruit)],
            stores=[store],
            by=hq,
        ),
    )

    refused = [o for o in outcomes if isinstance(o, CampaignOverlapError)]
    made = [o for o in outcomes if not isinstance(o, Exception)]
    assert (len(made), len(refused)) == (1, 1), outcomes
    campaign = Campaign.objects.get()
    assert refused[0].campaigns == [campaign]
    assert StoreCampaign.objects.filter(store=store).count() == 1
    card.refresh_from_db()
    # The card is accepted exactly when its campaign is the one made.
    assert (card.accepted_at is not None) == (campaign.origin == Campaign.Origin.INSIGHT)


def test_two_cards_of_one_template_accepted_at_once_make_one_campaign(
    template: ScenarioTemplate,
) -> None:
    fruit = template.categories.get()
    store = StoreFactory()
    cards = [
        InsightCardFactory(store=store, product=ProductFactory(name=name, category=fruit))
        for name in ("蓝莓", "西瓜")
    ]
    owners = [UserFactory(), UserFactory()]
    outcomes = _at_once(
        *(
            (lambda card=card, owner=owner: campaign_draft_from_insight(card=card, by=owner))
            for card, owner in zip(cards, owners, strict=True)
        )
    )

    refused = [o for o in outcomes if isinstance(o, InsightOverlapError)]
    made = [o for o in outcomes if not isinstance(o, Exception)]
    assert (len(made), len(refused)) == (1, 1), outcomes
    campaign = Campaign.objects.get()
    assert campaign == made[0].store_campaign.campaign
    assert refused[0].campaigns == [campaign]
    assert refused[0].store_campaigns == [made[0].store_campaign]
    assert InsightCard.objects.filter(accepted_at__isnull=False).count() == 1


def _sessions_waiting_for_a_lock(count: int) -> bool:
    """Whether `count` other sessions of this test database are (or, within 20 s, come to be)
    waiting for a lock held by an open transaction."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # Called inside a transaction: its statistics snapshot is dropped each time.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT COUNT(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return True
        time.sleep(0.05)
    return False


def test_two_hq_acceptances_of_one_card_at_once_count_one_drafted_campaign(
    template: ScenarioTemplate,
) -> None:
    """The admin's "accept" looks for the card's campaign before drafting; two HQ users
    accepting the same card at once both found none, the second then waited for the card's
    lock and was handed the first's draft — and both were counted "drafted". The card's row
    is held here until both wait for it, so both have passed that look-up."""
    fruit = template.categories.get()
    card = InsightCardFactory(
        store=StoreFactory(), product=ProductFactory(name="蓝莓", category=fruit)
    )
    first_hq, second_hq = UserFactory(is_staff=True), UserFactory(is_staff=True)
    results: list[list[Any]] = []
    threads = []
    with transaction.atomic():
        InsightCard.objects.select_for_update().get(pk=card.pk)
        for user in (first_hq, second_hq):
            thread, result = _in_thread(lambda user=user: insight_card_draft(card=card, by=user))
            threads.append(thread)
            results.append(result)
        both_wait = _sessions_waiting_for_a_lock(2)
    for thread in threads:
        thread.join(timeout=30)

    assert both_wait
    outcomes = [result[0] for result in results]
    refused = [outcome for outcome in outcomes if isinstance(outcome, InsightNotDrafted)]
    assert outcomes.count(None) == 1, outcomes
    assert len(refused) == 1, outcomes
    campaign = Campaign.objects.get()
    assert refused[0].message == f"此前已采纳：其活动“{campaign.name}”已生成草稿。"
    card.refresh_from_db()
    assert card.accepted_by in (first_hq, second_hq)
