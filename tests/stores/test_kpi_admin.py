"""The KPI snapshots in the admin read as the KPI pages do: the KPI's translated label, not its
code, and the value and peer median in the KPI's format; the KPI filter lists the labels."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from tests.stores.factories import KpiSnapshotFactory

pytestmark = pytest.mark.django_db

URL = "admin:stores_kpisnapshot_changelist"


@pytest.fixture
def client_hq() -> Client:
    KpiSnapshotFactory(
        code="gmv", value=Decimal("17176917.0000"), peer_median=Decimal("250000.0000")
    )
    KpiSnapshotFactory(code="loss_rate", value=Decimal("12.3400"), peer_median=None)
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    ("language", "gmv", "loss_rate"),
    [("en", "GMV", "Loss rate"), ("zh-hans", "GMV（成交额）", "损耗率")],
)
def test_the_list_shows_kpi_labels_and_formatted_values(
    client_hq: Client, language: str, gmv: str, loss_rate: str
) -> None:
    page = client_hq.get(reverse(URL), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<td class="field-kpi">{gmv}</td>' in page
    assert f'<td class="field-kpi">{loss_rate}</td>' in page
    assert '<td class="field-value_shown">¥17,176,917</td>' in page
    assert '<td class="field-peer_median_shown">¥250,000</td>' in page
    assert '<td class="field-value_shown">12.3%</td>' in page
    assert '<td class="field-peer_median_shown">—</td>' in page
    assert "17176917.0000" not in page


def test_the_kpi_filter_lists_labels_and_filters_by_code(client_hq: Client) -> None:
    page = client_hq.get(
        reverse(URL), {"code": "loss_rate"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert ">Loss rate</a>" in page
    assert ">Gross margin</a>" in page
    assert '<td class="field-value_shown">12.3%</td>' in page
    assert "¥17,176,917" not in page


def test_a_snapshot_is_titled_by_its_store_month_and_kpi_label_in_each_language() -> None:
    from django.utils import translation

    from apps.stores.models import KpiSnapshot
    from tests.factories import RegionFactory, StoreFactory

    store = StoreFactory(code="S010", name="望京店")
    snapshot = KpiSnapshotFactory(store=store, code="inspection_score")
    region = RegionFactory(city="北京", name="朝阳")
    regional = KpiSnapshotFactory(
        scope=KpiSnapshot.Scope.REGION, store=None, region=region, code="loss_rate"
    )
    network = KpiSnapshotFactory(scope=KpiSnapshot.Scope.NETWORK, store=None, code="gmv")
    with translation.override("zh-hans"):
        assert str(snapshot) == "S010 望京店 · 2026-07 · 巡检得分"
        assert str(regional) == "北京 朝阳 · 2026-07 · 损耗率"
        assert str(network) == "全网 · 2026-07 · GMV（成交额）"
    with translation.override("en"):
        assert str(snapshot) == "S010 望京店 · 2026-07 · Inspection score"
