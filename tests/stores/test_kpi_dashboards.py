"""The KPI dashboards: the HQ dashboard on the admin index (staff only, from snapshots, a
query count that does not grow with stores) and the owner's figures in the portal (their
store only)."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.devices.services import alert_open
from apps.stores.kpis.definitions import KPI_BY_CODE
from apps.stores.kpis.services import kpi_snapshots_compute
from apps.stores.models import KpiSnapshot
from tests.devices.factories import DeviceFactory
from tests.factories import StoreFactory, UserFactory, owner_of
from tests.stores.kpi_support import AFTER_JULY, JULY, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    built = build_world()
    kpi_snapshots_compute(month=JULY.replace(month=6), now=AFTER_JULY)
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    return built


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _staff(roles) -> object:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="HQ operations"))
    return user


def test_admin_index_shows_the_network_figures_rankings_and_the_app_list(world, roles):
    response = _signed_in(_staff(roles)).get(reverse("admin:index"), {"period": "2026-07-01"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="hq-dashboard"' in html
    # All eleven KPI cards, each value linked to the admin list behind it.
    assert len(re.findall(r'class="kpi-card[^"]*" data-kpi="', html)) == 11
    assert reverse("admin:stores_order_changelist") in html
    assert "¥260" in html  # network GMV of July
    # Charts: a sparkline per card, the trend, best and worst rankings as inline SVG.
    assert html.count('class="kpi-chart') >= 11 + 3
    assert reverse("admin:stores_store_change", args=[world["a"].pk]) in html
    # The app list is still there below the dashboard.
    assert reverse("admin:stores_store_changelist") in html
    assert 'id="content-main"' in html


def test_admin_index_ranks_by_the_chosen_kpi(world, roles):
    html = (
        _signed_in(_staff(roles))
        .get(reverse("admin:index"), {"period": "2026-07-01", "kpi": "repeat_buyer_share"})
        .content.decode()
    )
    assert 'class="kpi-card selected" data-kpi="repeat_buyer_share"' in html
    # Best first: A (33.3 %) leads; the bottom starts with B (0 %, code before C).
    best, worst = re.findall(r'<svg[^>]*class="kpi-chart kpi-bars"[^>]*>(.*?)</svg>', html)[:2]
    assert re.findall(r'font-size="12" fill="#374151">(\w)', best) == ["A", "B", "C"]
    assert re.findall(r'font-size="12" fill="#374151">(\w)', worst) == ["B", "C", "A"]


def test_admin_index_lists_stores_with_open_alerts(world, roles):
    device = DeviceFactory(store=world["c"])
    alert_open(device=device, kind="device_silent")
    html = _signed_in(_staff(roles)).get(reverse("admin:index")).content.decode()
    attention = html.split('id="kpi-attention"', 1)[1]
    assert f">{world['c'].code} {world['c'].name}</a>" in attention
    assert "active=yes" in attention


def test_admin_index_worst_movers_chart_holds_only_falls_largest_first(roles):
    june = JULY.replace(month=6)
    changes = {"UP": (40, 45), "DN1": (60, 55), "DN2": (90, 20)}
    stores = {code: StoreFactory(code=code) for code in changes}
    KpiSnapshot.objects.bulk_create(
        KpiSnapshot(
            scope="store", store=stores[code], period=period, code="gmv", value=1, percentile=p
        )
        for code, (before, now) in changes.items()
        for period, p in ((june, before), (JULY, now))
    )
    KpiSnapshot.objects.create(scope="network", period=JULY, code="gmv", value=3, is_complete=True)
    # The store that improved has an open alert, so it heads the attention table; the chart
    # of falls must still leave it out (it showed as a red bar of +5 first).
    alert_open(device=DeviceFactory(store=stores["UP"]), kind="device_silent")
    html = (
        _signed_in(_staff(roles))
        .get(reverse("admin:index"), {"period": "2026-07-01"})
        .content.decode()
    )
    attention = html.split('id="kpi-attention"', 1)[1]
    chart = re.search(r'<svg[^>]*class="kpi-chart kpi-bars"[^>]*>(.*?)</svg>', attention)[1]
    labels = re.findall(r'font-size="12" fill="#374151">(\w+) ', chart)
    values = re.findall(r'font-size="12" fill="#111827">([^<]+)<', chart)
    assert (labels, values) == (["DN2", "DN1"], ["-70", "-5"])
    assert f">{stores['UP'].code} {stores['UP'].name}</a>" in attention  # still in the table


def test_admin_index_before_any_snapshot_says_so_and_keeps_the_app_list(roles):
    html = _signed_in(_staff(roles)).get(reverse("admin:index")).content.decode()
    assert 'class="kpi-empty"' in html
    assert reverse("admin:stores_store_changelist") in html


def test_admin_index_refuses_non_staff(world, owner):
    response = _signed_in(owner).get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert Client().get(reverse("admin:index")).status_code == 302


def test_admin_index_queries_do_not_grow_with_stores(world, roles):
    client = _signed_in(_staff(roles))
    client.get(reverse("admin:index"))  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("admin:index"))
    for _ in range(20):
        StoreFactory(region=world["r1"])
    # Twenty more stores with figures: the same queries.
    stores = list(KpiSnapshot.objects.filter(scope="store", code="gmv", period=JULY))
    extra = []
    for store in StoreFactory._meta.model.objects.exclude(pk__in=[row.store_id for row in stores]):
        extra.append(
            KpiSnapshot(scope="store", store=store, period=JULY, code="gmv", value=1, percentile=0)
        )
    KpiSnapshot.objects.bulk_create(extra)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("admin:index"))
    assert len(many) == len(few)


def test_owner_sees_their_figures_percentiles_and_trends(world):
    owner = owner_of(world["a"])
    response = _signed_in(owner).get(reverse("portal:store_kpis", args=[world["a"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert len(re.findall(r'class="card owner-kpi[^"]*" data-kpi="', html)) == 11
    assert "¥110" in html  # A's July GMV
    assert html.count('class="kpi-chart kpi-percentile"') >= 4
    assert "kpi-chart" in html
    assert world["b"].name not in html


def test_owner_figures_are_placed_among_the_other_stores(world):
    """The percentile counts the stores worse than this one among the *other* stores with a
    figure (docs/kpis.md): the best of 10 is "better than 100% of the other 9 stores", not
    "of 10 stores" (which would include itself)."""
    owner = owner_of(world["a"])
    url = reverse("portal:store_kpis", args=[world["a"].pk])
    network = KpiSnapshot.objects.get(scope="network", period=JULY, code="gmv")
    others = network.peer_count - 1
    assert others >= 1
    client = _signed_in(owner)
    html = unescape(client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode())
    counts = re.findall(r"Better than [\d.]+% of the other (\d+) stores?", html)
    assert counts
    assert set(counts) <= {str(n) for n in range(1, network.peer_count)}
    assert str(others) in counts
    assert f"% of {network.peer_count} stores" not in html
    html = unescape(client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode())
    assert f"超过了其他 {others} 家门店中" in html
    assert f"超过了 {network.peer_count} 家门店中" not in html


def test_owner_chooses_an_earlier_month(world):
    owner = owner_of(world["a"])
    html = (
        _signed_in(owner)
        .get(reverse("portal:store_kpis", args=[world["a"].pk]), {"period": "2026-06-01"})
        .content.decode()
    )
    assert "¥30" in html  # A's June GMV
    assert "2026-06" in html


def test_another_owner_is_refused(world):
    owner_b = owner_of(world["b"])
    response = _signed_in(owner_b).get(reverse("portal:store_kpis", args=[world["a"].pk]))
    assert response.status_code == 403
    assert "¥110" not in response.content.decode()


def test_anonymous_is_sent_to_login(world):
    response = Client().get(reverse("portal:store_kpis", args=[world["a"].pk]))
    assert response.status_code == 302
    assert reverse("portal:login") in response["Location"]


def test_store_page_links_to_the_figures(world):
    owner = owner_of(world["a"])
    html = _signed_in(owner).get(reverse("portal:store", args=[world["a"].pk])).content.decode()
    assert reverse("portal:store_kpis", args=[world["a"].pk]) in html


def test_admin_change_links_say_修改_while_the_kpi_change_column_says_变化(world, roles):
    # The dashboard's "Change" (a difference) once had no context and overrode Django's
    # "Change" (edit) in every admin link.
    html = _signed_in(_staff(roles)).get(reverse("admin:index")).content.decode()
    store_changelist = reverse("admin:stores_store_changelist")
    assert re.search(rf'<a href="{store_changelist}" class="changelink"[^>]*>修改</a>', html)
    attention = html.split('id="kpi-attention"', 1)[1].split("</thead>", 1)[0]
    assert "<th>变化</th>" in attention
    assert "变化" not in html.split('id="content-main"', 1)[1]


# --- links only where the viewer may go --------------------------------------------------------

# The cards whose list each HQ group may not open (docs/access.md): shown without a link.
UNLINKED_CARDS = {
    "HQ operations": set(),
    "HQ procurement": {
        "repurchase_rate",
        "repeat_buyer_share",
        "group_buy_success_rate",
        "nps",
        "live_conversion",
        "community_activity",
    },
    "HQ inspection": {
        "repurchase_rate",
        "repeat_buyer_share",
        "group_buy_success_rate",
        "nps",
        "live_conversion",
        "community_activity",
    },
    None: set(),  # a superuser
}


def _hq_user(group: str | None) -> object:
    if group is None:
        return UserFactory(is_staff=True, is_superuser=True)
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.mark.parametrize("group", list(UNLINKED_CARDS), ids=lambda group: group or "superuser")
def test_admin_index_links_each_figure_only_where_the_viewer_may_go(world, roles, group):
    alert_open(device=DeviceFactory(store=world["c"]), kind="device_silent")
    client = _signed_in(_hq_user(group))

    html = client.get(reverse("admin:index"), {"period": "2026-07-01"}).content.decode()
    dashboard = html.split('id="hq-dashboard"', 1)[1].split("</section>", 1)[0]
    cards = dict(re.findall(r'data-kpi="(\w+)">.*?<(a|span) class="kpi-value"', dashboard, re.S))
    links = {
        unescape(href) for href in re.findall(r'href="([^"?][^"]*)"', dashboard)
    }  # every link but the dashboard's own ?period / ?kpi switches
    refused = {link: client.get(link).status_code for link in links}

    assert len(cards) == 11
    assert {code for code, tag in cards.items() if tag == "span"} == UNLINKED_CARDS[group]
    assert {link: status for link, status in refused.items() if status != 200} == {}
    attention = dashboard.split('id="kpi-attention"', 1)[1]
    store_c = f"{world['c'].code} {world['c'].name}"
    assert f">{store_c}</a>" in attention  # every HQ group may view the stores
    alerts_linked = "admin/devices/devicealert/" in attention
    assert alerts_linked is (group != "HQ procurement")


def test_the_loss_rate_card_opens_the_loss_report_for_the_dashboards_month(world, roles):
    html = _signed_in(_staff(roles)).get(reverse("admin:index"), {"period": "2026-06-01"})
    card = html.content.decode().split('data-kpi="loss_rate"', 1)[1].split('class="kpi-card', 1)[0]
    report = reverse("admin:stores_stockmovement_loss_report")
    assert f'<a class="kpi-value" href="{report}?month=2026-06">' in card


@pytest.mark.parametrize(
    ("codenames", "opens"),
    [(["view_store"], False), (["view_store", "view_stockmovement"], True)],
)
def test_both_loss_links_follow_the_reports_own_answer(world, roles, codenames, opens):
    """The home's loss link and the KPI dashboard's loss-rate card ask one check
    (`linli.admin_helpers.admin_may_view`), the stock movements' admin the report asks."""
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = _signed_in(user)
    report = reverse("admin:stores_stockmovement_loss_report")
    assert (client.get(report).status_code == 200) is opens
    home = client.get(reverse("admin:index"), {"period": "2026-06-01"}).content.decode()
    assert ('id="loss-report-link"' in home) is opens
    card = home.split('data-kpi="loss_rate"', 1)[1].split('class="kpi-card', 1)[0]
    assert (f'<a class="kpi-value" href="{report}?month=' in card) is opens


@pytest.mark.parametrize(
    ("change", "shown"),
    [("-53589", "-¥53,589"), ("1234.4", "+¥1,234"), ("0", "+¥0")],
)
def test_a_gmv_change_is_money_with_its_currency(change, shown):
    assert KPI_BY_CODE["gmv"].display_change(Decimal(change)) == shown


def test_the_dashboards_gmv_card_shows_its_change_in_yuan(world, roles):
    html = _signed_in(_staff(roles)).get(reverse("admin:index"), {"period": "2026-07-01"})
    card = html.content.decode().split('data-kpi="gmv"', 1)[1].split('class="kpi-card', 1)[0]
    change = re.search(r'<span class="kpi-change[^"]*">([^<]*)</span>', card)
    assert change is not None
    assert re.fullmatch(r"[+-]¥[\d,]+", change.group(1))


@pytest.mark.parametrize("app_label", ["training", "stores", "procurement"])
def test_the_dashboard_is_on_the_admin_home_only_not_on_an_app_index(world, roles, app_label):
    """Django's app_index.html extends admin/index.html, the template that holds the dashboard."""
    client = _signed_in(UserFactory(is_staff=True, is_superuser=True))
    home = client.get(reverse("admin:index")).content.decode()
    assert 'id="hq-dashboard"' in home
    response = client.get(reverse("admin:app_list", args=[app_label]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="hq-dashboard"' not in page
    assert f'href="/admin/{app_label}/' in page  # the app's models are still listed
