"""Two HQ users launch the same template to the same stores for the same days at once: one
campaign, and the other is refused naming it. Real threads on PostgreSQL (the launch locks the
template's row with SELECT … FOR UPDATE, which SQLite does not have; on SQLite the test skips
with its reason, and with CI=true the suite runs on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from apps.campaigns.models import Campaign, StoreCampaign
from apps.campaigns.services.campaigns import CampaignOverlapError, campaign_launch
from tests.campaigns.factories import ScenarioTemplateFactory
from tests.factories import ProductFactory, RegionFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_launches_at_once_make_one_campaign_and_refuse_the_other() -> None:
    region = RegionFactory()
    stores = [StoreFactory(region=region), StoreFactory(region=region)]
    template = ScenarioTemplateFactory(code="summer", name="夏季水果季", duration_days=4)
    template.products.set([ProductFactory(name="蓝莓", price=Decimal("20.00"))])
    users = [UserFactory(is_staff=True), UserFactory(is_staff=True)]
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def launch(user: object) -> None:
        try:
            barrier.wait()
            outcome: Any = campaign_launch(
                template=template, starts_on=dt.date(2026, 7, 1), regions=[region], by=user
            )
        except Exception as error:  # collected for the assertions
            outcome = error
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=launch, args=(user,)) for user in users]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    launched = [outcome for outcome in outcomes if isinstance(outcome, Campaign)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, CampaignOverlapError)]
    assert (len(launched), len(refused)) == (1, 1), outcomes
    assert refused[0].campaigns == launched
    assert Campaign.objects.count() == 1
    assert StoreCampaign.objects.filter(campaign=launched[0]).count() == len(stores)
