"""The chapter-6 journey (夏季水果季) end to end, through the entry points each role uses.

An insight card recommends 云南蓝莓 for store A; its owner accepts it on the decisions page,
confirms the campaign, starts the broadcast and opens a pre-order offer (portal POSTs);
members join through the group-buy API and order through the mini-program API with the stores'
terminal tokens; the settle and consolidation tasks the beat schedules make one purchase order
per supplier; each supplier sees, confirms, downloads and ships only their own order under
/supplier/; the owner receives one unit short on the receiving page, hands an order over at the
pickup counter; a quality complaint is opened in the portal and approved by HQ procurement in
the admin; the supplier's quality score and the next decision run's sales input hold the
same numbers.

Only master data (stores, products, suppliers, members, four weeks of till history, read by
the real decision run) and the clock (the broadcast's scheduled time, the offer's deadline)
are set through the ORM or services.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.serializers.json import DjangoJSONEncoder
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from apps.campaigns.models import Broadcast, GroupBuyOffer, StoreCampaign
from apps.campaigns.notifications.models import Notification
from apps.campaigns.selectors.live import broadcast_snapshot
from apps.campaigns.services.live import live_broadcast_current
from apps.campaigns.tasks import group_buy_offers_settle_task
from apps.catalog.models import DailyListEntry, InsightCard, ListKind
from apps.catalog.services.forecasts import daily_sales_and_paid, day_start
from apps.catalog.services.nightly import decisions_run
from apps.customers.models import MemberTag
from apps.procurement.models import (
    AfterSalesCase,
    DeliveryPlan,
    PurchaseOrder,
    PurchaseOrderSource,
)
from apps.procurement.selectors.aftersales import supplier_quality_scores
from apps.procurement.tasks import delivery_plans_build_task, purchase_orders_consolidate_task
from apps.stores.models import (
    Order,
    OrderFulfilment,
    StockLevel,
    StockMovement,
    StoreKpiSnapshot,
)
from apps.stores.services.terminals import terminal_issue
from apps.stores.tasks import store_kpi_snapshots_task
from linli.roles import HQ_PROCUREMENT
from tests.campaigns.factories import ScenarioTemplateFactory
from tests.catalog.decision_fixtures import local_datetime, orders_bulk_create
from tests.celery_support import wait_until
from tests.factories import (
    PASSWORD,
    CategoryFactory,
    MemberFactory,
    ProductFactory,
    StoreFactory,
    SupplierProductFactory,
    SupplierUserFactory,
    TagFactory,
    UserFactory,
    owner_of,
)

# Committed transactions, as in production: the live feed, notifications and enqueues run on
# commit (the broker is this process's queue on Redis).
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

LIST_PRICE = Decimal("29.90")
# The campaign price the pack and the offer form propose: the list price less the default 10 %.
OFFER_PRICE = Decimal("26.90")


@pytest.fixture(autouse=True)
def _english(settings: object) -> None:
    settings.LANGUAGE_CODE = "en"


def _login(user: object) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        reverse("portal:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def _terminal(store: object) -> APIClient:
    _terminal_row, token = terminal_issue(store=store, name="Mini-program")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return client


def _text(response: object) -> str:
    """A page's words, tags and runs of white space each one space."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _on_hand(store: object, product: object) -> int:
    level = StockLevel.objects.filter(store=store, product=product).first()
    return level.on_hand if level is not None else 0


@pytest.fixture
def world(roles: None) -> dict:
    """Two stores of one region, two farms each with a login, twelve members of store A, and
    the nightly decision run over four weeks of its till: the hot list and the insight card
    for blueberries."""
    # The default compensation policy, as its data migration writes it (a transactional
    # test's flush removes migrated rows).
    import_module("apps.procurement.migrations.0004_default_compensation_policies").create_defaults(
        django_apps, None
    )
    store_a = StoreFactory(name="邻里优选翠苑店")
    store_b = StoreFactory(name="邻里优选文三店", region=store_a.region)
    fruit = CategoryFactory(code="FRUIT", name="水果")
    ScenarioTemplateFactory(code="summer-fruit", name="夏季水果季").categories.set([fruit])
    blueberry = ProductFactory(
        sku="FRU-BLUE", name="云南蓝莓 125g", category=fruit, price=LIST_PRICE
    )
    melon = ProductFactory(sku="FRU-MELON", name="山东甜瓜", category=fruit, price=Decimal("35.90"))
    berry_farm = SupplierUserFactory(supplier__name="云南蓝莓果园", user__username="berry_farm")
    melon_farm = SupplierUserFactory(supplier__name="山东甜瓜基地", user__username="melon_farm")
    SupplierProductFactory(
        supplier=berry_farm.supplier,
        product=blueberry,
        cost=Decimal("18.00"),
        pack_size=1,
        min_order_qty=1,
        lead_time_days=1,
    )
    SupplierProductFactory(
        supplier=melon_farm.supplier,
        product=melon,
        cost=Decimal("20.00"),
        pack_size=1,
        min_order_qty=1,
        lead_time_days=1,
    )
    # Four weeks of store A's till: 2 boxes of blueberries a day, then 8 a day this week,
    # bought by the six members tagged 有孩家庭 (the store's other six buy yogurt); the nightly
    # decision run reads it and writes the hot list and the insight card.
    family = TagFactory(name="有孩家庭")
    regulars = [MemberFactory(home_store=store_a) for _ in range(12)]
    for number, name in enumerate(("李阿姨", "王先生", "张女士")):
        regulars[number].name = name
        regulars[number].marketing_consent = True
        regulars[number].save(update_fields=["name", "marketing_consent"])
    MemberTag.objects.bulk_create(
        [
            MemberTag(member=member, tag=family, source=MemberTag.Source.PURCHASE)
            for member in regulars[:6]
        ]
    )
    yogurt = ProductFactory(sku="DAI-YOG", name="酸奶 200g")
    today = timezone.localdate()
    baskets, times, buyers = [], [], []
    for back in range(28, 0, -1):
        boxes = 8 if back <= 7 else 2
        for number in range(boxes):
            baskets.append([blueberry])
            times.append(local_datetime(today - dt.timedelta(days=back), 10 + number % 8))
            buyers.append(regulars[number % 6])
        for number in range(4):
            baskets.append([yogurt])
            times.append(local_datetime(today - dt.timedelta(days=back), 12))
            buyers.append(regulars[6 + number])
    orders_bulk_create(store=store_a, baskets=baskets, placed_at=times, members=buyers)
    decisions_run(day=today, store_ids=[store_a.pk])
    card = InsightCard.objects.get(store=store_a, day=today)
    assert (card.product, card.units_last_7d, card.units_prev_7d) == (blueberry, 56, 14)
    assert [tag["name"] for tag in card.tags] == ["有孩家庭"]
    members = regulars[:3]
    hq_buyer = UserFactory(is_staff=True, username="hq_buyer")
    hq_buyer.groups.add(Group.objects.get(name=HQ_PROCUREMENT))
    return {
        "store_a": store_a,
        "store_b": store_b,
        "owner_a": owner_of(store_a, username="owner_a"),
        "owner_b": owner_of(store_b, username="owner_b"),
        "blueberry": blueberry,
        "melon": melon,
        "berry_farm": berry_farm,
        "melon_farm": melon_farm,
        "card": card,
        "members": members,
        "hq_buyer": hq_buyer,
    }


def test_the_summer_fruit_journey_closes_the_loop(
    world: dict, broker_queue: object, hq_user: object
) -> None:
    store_a, store_b = world["store_a"], world["store_b"]
    blueberry, melon = world["blueberry"], world["melon"]
    card = world["card"]
    owner = _login(world["owner_a"])

    # 1. Decisions: the owner sees the card (and the hot list) on the decisions page.
    page = owner.get(reverse("decisions:store", args=[store_a.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert blueberry.name in html
    accept_url = reverse("campaigns:insight-accept", args=[store_a.pk, card.pk])
    assert accept_url in html
    hot = DailyListEntry.objects.filter(store=store_a, list_kind=ListKind.HOT).order_by("rank")
    assert hot.first().product == blueberry

    # 2. One click makes the draft; confirming makes the pack and the broadcast; the owner
    # starts it and opens a pre-order offer (the store holds no blueberries).
    response = owner.post(accept_url)
    store_campaign = StoreCampaign.objects.get(store=store_a)
    assert response["Location"] == reverse("campaigns:detail", args=[store_a.pk, store_campaign.pk])
    response = owner.post(reverse("campaigns:confirm", args=[store_a.pk, store_campaign.pk]))
    assert response.status_code == 302
    store_campaign.refresh_from_db()
    assert store_campaign.status == StoreCampaign.Status.CONFIRMED
    assert store_campaign.pack_generated_at is not None
    # The target list (the card's tag, with consent) gets the warm-up preview.
    owner.post(reverse("campaigns:preview", args=[store_a.pk, store_campaign.pk]))
    assert set(
        Notification.objects.filter(store_campaign=store_campaign, kind="preview").values_list(
            "member_id", flat=True
        )
    ) == {member.pk for member in world["members"]}
    broadcast = Broadcast.objects.get(store_campaign=store_campaign)
    # The clock: the broadcast is due now.
    Broadcast.objects.filter(pk=broadcast.pk).update(scheduled_at=timezone.now())
    owner.post(reverse("campaigns:broadcast-start", args=[broadcast.pk]))
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.LIVE
    # The offer form proposes the pack's figures: the campaign price, the card's quantity to
    # stock as the cap, a pre-order (none in stock). The owner adds a threshold of 5 and opens it.
    proposal = (
        owner.get(reverse("campaigns:broadcast", args=[broadcast.pk])).context["offer_form"].initial
    )
    assert (proposal["product"], proposal["price"], proposal["cap"], proposal["presale"]) == (
        blueberry.pk,
        OFFER_PRICE,
        card.stock_qty,
        True,
    )
    response = owner.post(
        reverse("campaigns:broadcast-offer-create", args=[broadcast.pk]),
        {
            **proposal,
            "presale": "on",
            "threshold_kind": GroupBuyOffer.ThresholdKind.UNITS,
            "threshold": 5,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    offer = GroupBuyOffer.objects.get(broadcast=broadcast)
    assert (offer.product, offer.presale, offer.price, offer.cap) == (
        blueberry,
        True,
        OFFER_PRICE,
        card.stock_qty,
    )

    live_url = reverse("campaigns:live", args=[broadcast.pk])
    before = owner.get(live_url).context["snapshot"]
    assert (before["orders"], before["units"], before["joined_value"]) == (0, 0, "0.00")

    # 3. Members order: a melon through store A's mini-program first, then three joins
    # through the group-buy API, and two boxes through store B's mini-program.
    terminal_a, terminal_b = _terminal(store_a), _terminal(store_b)
    melon_order = terminal_a.post(
        "/api/v1/mini-program/orders",
        {
            "idempotency_key": "wxpay-a-1",
            "mini_program_openid": "o-melon-1",
            "display_name": "赵老师",
            "lines": [{"sku": melon.sku, "quantity": 1}],
            "fulfilment": "pickup",
            "expected_total": "35.90",
        },
        format="json",
    )
    assert melon_order.status_code == 201, melon_order.json()
    join_ids = []
    for number, (member, quantity) in enumerate(zip(world["members"], (3, 4, 2), strict=True), 1):
        joined = terminal_a.post(
            f"/api/v1/group-buys/offers/{offer.pk}/joins",
            {
                "quantity": quantity,
                "idempotency_key": f"join-{number}",
                "member_no": member.member_no,
            },
            format="json",
        )
        assert joined.status_code == 201, joined.json()
        assert joined.json()["member_no"] == member.member_no
        join_ids.append(joined.json()["order_id"])
    b_order = terminal_b.post(
        "/api/v1/mini-program/orders",
        {
            "idempotency_key": "wxpay-b-1",
            "mini_program_openid": "o-berry-b",
            "display_name": "孙阿姨",
            "lines": [{"sku": blueberry.sku, "quantity": 2}],
            "fulfilment": "pickup",
            "expected_total": "59.80",
        },
        format="json",
    )
    assert b_order.status_code == 201, b_order.json()
    join_orders = [Order.objects.get(pk=pk) for pk in join_ids]

    # The live dashboard of store A's broadcast: 3 orders, 9 boxes, 9 × 26.90 joined.
    # The joins' commits moved the feed on: its window's trailing edge (this process's window
    # thread, at most one window after the last join) carries the final totals, which the page
    # then renders.
    assert wait_until(
        lambda: live_broadcast_current(broadcast_id=broadcast.pk)["units"] == 9, timeout=30
    )
    snapshot = owner.get(live_url).context["snapshot"]
    assert snapshot["version"] > before["version"]
    assert (snapshot["orders"], snapshot["units"]) == (3, 9)
    assert snapshot["joined_value"] == "242.10"
    assert snapshot["joined_value_reached"] == "242.10"
    # The same figures as the selector computes from the database now.
    figures = ("orders", "units", "joined_value", "joined_value_reached", "units_by_product")
    fresh = json.loads(json.dumps(broadcast_snapshot(broadcast=broadcast), cls=DjangoJSONEncoder))
    assert {key: snapshot[key] for key in figures} == {key: fresh[key] for key in figures}

    # The clock: the offer's deadline passes; the every-minute settle task forms it.
    GroupBuyOffer.objects.filter(pk=offer.pk).update(
        deadline=timezone.now() - dt.timedelta(seconds=1)
    )
    assert group_buy_offers_settle_task() == {"formed": 1, "failed": 0}
    assert {order.status for order in Order.objects.filter(pk__in=join_ids)} == {"paid"}
    # The settlement sends the consolidation at once (a pre-order formed).
    sent = [name for name, _args, _kwargs in broker_queue.sent()]
    assert "apps.procurement.tasks.purchase_orders_consolidate_task" in sent

    # 4. The cut-off consolidation: one purchase order per farm, allocations per store, each
    # member line linked. A second run of the same cut-off changes nothing.
    cutoff = (timezone.now() + dt.timedelta(seconds=1)).isoformat()
    first = purchase_orders_consolidate_task(cutoff=cutoff)
    assert first["purchase_orders"] == 2
    assert purchase_orders_consolidate_task(cutoff=cutoff)["purchase_orders"] == 2
    assert PurchaseOrder.objects.count() == 2
    berry_po = PurchaseOrder.objects.get(supplier=world["berry_farm"].supplier)
    melon_po = PurchaseOrder.objects.get(supplier=world["melon_farm"].supplier)
    berry_line = berry_po.lines.get()
    assert (berry_line.product, berry_line.demanded_quantity, berry_line.ordered_quantity) == (
        blueberry,
        11,
        11,
    )
    assert dict(berry_line.allocations.values_list("store_id", "quantity")) == {
        store_a.pk: 9,
        store_b.pk: 2,
    }
    assert sorted(
        PurchaseOrderSource.objects.filter(line=berry_line).values_list(
            "order_line__order_id", "quantity"
        )
    ) == sorted(
        [(pk, quantity) for pk, quantity in zip(join_ids, (3, 4, 2), strict=True)]
        + [(Order.objects.get(store=store_b).pk, 2)]
    )
    melon_line = melon_po.lines.get()
    assert dict(melon_line.allocations.values_list("store_id", "quantity")) == {store_a.pk: 1}

    # 5. Each farm sees only its own order, confirms, downloads and ships it.
    berry = _login(world["berry_farm"].user)
    melon_farm = _login(world["melon_farm"].user)
    listing = berry.get(reverse("supplier:orders")).content.decode()
    assert berry_po.number in listing
    assert melon_po.number not in listing
    for name in (
        "supplier:order",
        "supplier:order_csv",
        "supplier:order_xlsx",
        "supplier:order_pdf",
    ):
        assert melon_farm.get(reverse(name, args=[berry_po.pk])).status_code == 404
        assert berry.get(reverse(name, args=[melon_po.pk])).status_code == 404
    assert (
        melon_farm.post(
            reverse("supplier:order_confirm", args=[berry_po.pk]),
            {"ship_date": timezone.localdate().isoformat()},
        ).status_code
        == 404
    )
    for client, po in ((berry, berry_po), (melon_farm, melon_po)):
        po.refresh_from_db()
        response = client.post(
            reverse("supplier:order_confirm", args=[po.pk]),
            {"ship_date": timezone.localdate().isoformat(), "revision": po.revision},
        )
        assert response.status_code == 302, response.content.decode()[:3000]
    csv_file = berry.get(reverse("supplier:order_csv", args=[berry_po.pk])).content
    assert csv_file.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(csv_file.decode("utf-8-sig"))))
    berry_row = next(row for row in rows if blueberry.name in row)
    assert berry_row[3:5] == ["11", "11"]
    workbook = load_workbook(
        io.BytesIO(berry.get(reverse("supplier:order_xlsx", args=[berry_po.pk])).content)
    )
    assert blueberry.name in [
        cell for row in workbook.active.iter_rows(values_only=True) for cell in row
    ]
    assert berry.get(reverse("supplier:order_pdf", args=[berry_po.pk])).content.startswith(b"%PDF")
    for client, po in ((berry, berry_po), (melon_farm, melon_po)):
        response = client.post(reverse("supplier:order_ship", args=[po.pk]), {"shipped": "on"})
        assert response.status_code == 302, response.content.decode()[:3000]
        po.refresh_from_db()
        assert po.status == PurchaseOrder.Status.SHIPPED

    # The 22:30 beat builds tomorrow's regional run (both farms deliver tomorrow): one plan
    # for the region, store A 9 boxes and the melon, store B 2 boxes; HQ procurement
    # dispatches it in the admin; the owner reads the store's drop list.
    assert (
        berry_po.delivery_date
        == melon_po.delivery_date
        == timezone.localdate() + dt.timedelta(days=1)
    )
    assert delivery_plans_build_task() == {"plans": 1, "created": 1, "frozen": 0, "stops": 2}
    plan = DeliveryPlan.objects.get()
    assert (plan.region_id, plan.delivery_date) == (store_a.region_id, berry_po.delivery_date)
    assert list(plan.stops.order_by("sequence").values_list("store_id", "units")) == [
        (store_a.pk, 10),
        (store_b.pk, 2),
    ]
    hq_buyer = Client(HTTP_ACCEPT_LANGUAGE="en")
    hq_buyer.force_login(world["hq_buyer"])
    hq_buyer.post(
        reverse("admin:procurement_deliveryplan_changelist"),
        {"action": "plans_dispatch", "_selected_action": [plan.pk]},
    )
    plan.refresh_from_db()
    assert plan.status == DeliveryPlan.Status.DISPATCHED
    drop_list = owner.get(
        reverse("supply:delivery_plan", args=[store_a.pk, plan.delivery_date.isoformat()])
    ).context["sheet"]
    assert [(stop.store, stop.sequence) for stop in drop_list.stops] == [(store_a, 1)]
    assert [(item.sku, item.quantity) for item in drop_list.stops[0].items] == [
        (blueberry.sku, 9),
        (melon.sku, 1),
    ]

    # 6. Store A receives: blueberries one box short, the melon whole.
    receiving = owner.get(reverse("supply:receiving", args=[store_a.pk]))
    assert receiving.status_code == 200
    berry_allocation = berry_line.allocations.get(store=store_a)
    response = owner.post(
        reverse("supply:receive", args=[store_a.pk, berry_po.pk]),
        {
            f"received_{berry_allocation.pk}": 8,
            f"short_{berry_allocation.pk}": 1,
            f"damaged_{berry_allocation.pk}": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    melon_allocation = melon_line.allocations.get()
    response = owner.post(
        reverse("supply:receive", args=[store_a.pk, melon_po.pk]),
        {
            f"received_{melon_allocation.pk}": 1,
            f"short_{melon_allocation.pk}": 0,
            f"damaged_{melon_allocation.pk}": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    # 8 boxes in, 3 + 4 + 1 out to the members' orders (the latest join bears the short box).
    assert StockMovement.objects.get(store=store_a, product=blueberry, kind="receipt").quantity == 8
    taken = {
        movement.order_id: -movement.quantity
        for movement in StockMovement.objects.filter(store=store_a, product=blueberry, kind="sale")
    }
    assert [taken.get(pk, 0) for pk in join_ids] == [3, 4, 1]
    assert _on_hand(store_a, blueberry) == 0
    assert [Order.objects.get(pk=pk).status for pk in join_ids] == ["ready"] * 3
    short_case = AfterSalesCase.objects.get(order_id=join_ids[2])
    assert (short_case.kind, short_case.quantity, short_case.amount) == (
        "missing",
        1,
        OFFER_PRICE,
    )

    # Store B receives its two boxes whole; its member's mini-program order is ready to collect.
    owner_b = _login(world["owner_b"])
    assert owner_b.get(reverse("supply:receive", args=[store_a.pk, berry_po.pk])).status_code == 403
    b_allocation = berry_line.allocations.get(store=store_b)
    response = owner_b.post(
        reverse("supply:receive", args=[store_b.pk, berry_po.pk]),
        {
            f"received_{b_allocation.pk}": 2,
            f"short_{b_allocation.pk}": 0,
            f"damaged_{b_allocation.pk}": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    b_answer = terminal_b.get(f"/api/v1/mini-program/orders/{b_order.json()['reference']}").json()
    assert (b_answer["status"], b_answer["pickup_code"]) == ("ready", b_order.json()["pickup_code"])
    assert (
        terminal_a.get(f"/api/v1/mini-program/orders/{b_order.json()['reference']}").status_code
        == 404
    )

    # The counter: the first member's code is handed over, a wrong code refused.
    code = OrderFulfilment.objects.get(pk=join_ids[0]).pickup_code
    wrong = "000000" if code != "000000" else "111111"
    counter = owner.post(reverse("supply:pickup", args=[store_a.pk]), {"codes": f"{code}\n{wrong}"})
    assert counter.status_code == 200
    assert Order.objects.get(pk=join_ids[0]).status == "completed"
    outcomes = [row["outcome"] for row in counter.context["results"]]
    assert outcomes[0] == "collected"
    assert outcomes[1] != "collected"

    # 7. The second member finds two boxes soft: a quality case, the policy's proposal,
    # HQ's approval in the admin, charged to the farm.
    second_line = join_orders[1].lines.get()
    response = owner.post(
        reverse("supply:case_new", args=[store_a.pk]),
        {
            "order": join_ids[1],
            "order_line": second_line.pk,
            "kind": "quality",
            "quantity": 2,
            "amount": "53.80",
            "description": "两盒蓝莓发软",
            "key": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    case = AfterSalesCase.objects.get(order_id=join_ids[1])
    assert (case.proposed_remedy, case.charged_to, case.status) == (
        "replacement",
        "supplier",
        "open",
    )
    response = hq_buyer.post(
        reverse("admin:procurement_aftersalescase_changelist"),
        {"action": "approve_as_proposed", "_selected_action": [case.pk, short_case.pk]},
        follow=True,
    )
    assert response.status_code == 200
    case.refresh_from_db()
    short_case.refresh_from_db()
    assert (case.status, short_case.status) == ("approved", "approved")
    # The farm bears both cases on its order's reconciliation and in its quality score: 1 of
    # 11 units short and one quality case on its one line (100 − 60 × 1/11 − 40 × 1).
    csv_file = berry.get(reverse("supplier:order_csv", args=[berry_po.pk])).content
    rows = list(csv.reader(io.StringIO(csv_file.decode("utf-8-sig"))))
    berry_row = next(row for row in rows if blueberry.name in row)
    assert berry_row[3:] == [
        *["11", "11", "0", "1", "1", "18.00", "198.00"],
        "1",
        "18.00",
        "10",
        "180.00",
    ]
    assert ["", "Total", "", "", "", "80.70", ""] in rows
    today = timezone.localdate()
    quality = supplier_quality_scores(
        since=today - dt.timedelta(days=89),
        until=today + dt.timedelta(days=1),
        supplier_ids=[world["berry_farm"].supplier_id],
    )[world["berry_farm"].supplier_id]
    assert (quality.units_ordered, quality.units_short, quality.line_count) == (11, 1, 1)
    assert (quality.case_count, quality.charged_case_count) == (1, 2)
    assert quality.charged_amount == Decimal("80.70")
    assert quality.score == Decimal("54.5")
    home = _text(berry.get(reverse("supplier:home")))
    assert "Quality score (90 days): 54.5 · 1 short and 0 damaged of 11 ordered" in home

    # The members heard of it: the short box and its refund, then HQ's decisions.
    told = {
        (member.pk, kind)
        for member in world["members"]
        for kind in Notification.objects.filter(member=member)
        .exclude(kind="preview")
        .values_list("kind", flat=True)
    }
    first, second, third = (member.pk for member in world["members"])
    assert told == {
        (first, "order_ready"),
        (second, "order_ready"),
        (second, "after_sales.approved"),
        (third, "order_ready"),
        (third, "order_short"),
        (third, "after_sales.approved"),
    }

    # 8. Feedback: today's sales at store A as the next decision run reads them (the members'
    # demand: 9 boxes joined, and the melon), and the store's KPI snapshot of the day.
    sales = {
        product_id: (units, paid)
        for _store, product_id, _day, units, paid in daily_sales_and_paid(
            start=day_start(today),
            end=day_start(today + dt.timedelta(days=1)),
            store_ids=[store_a.pk],
        )
    }
    assert sales == {
        blueberry.pk: (9, Decimal("242.10")),
        melon.pk: (1, Decimal("35.90")),
    }
    # Tomorrow's decision run reads them: the card's last 7 days are six days of 8 boxes and
    # today's 9 pre-ordered ones (the week before: 8 + 6 × 2).
    tomorrow = today + dt.timedelta(days=1)
    assert decisions_run(day=tomorrow, store_ids=[store_a.pk]).status == "done"
    next_card = InsightCard.objects.get(store=store_a, day=tomorrow, product=blueberry)
    assert (next_card.units_last_7d, next_card.units_prev_7d) == (6 * 8 + 9, 8 + 6 * 2)
    store_kpi_snapshots_task()
    kpis = StoreKpiSnapshot.objects.get(store=store_a, day=today)
    # Its revenue is what was sold, as GMV counts it: 242.10 + 35.90 less the short box
    # refunded (26.90); the decision run's demand above keeps the box the member asked for.
    assert (kpis.order_count, kpis.revenue, kpis.member_count) == (4, Decimal("251.10"), 4)
    # HQ reads the same figures: the live overview, the farm's score on the supplier list and
    # page, the purchase order and the case in the admin.
    hq = Client(HTTP_ACCEPT_LANGUAGE="en")
    hq.force_login(hq_user)
    overview = hq.get(reverse("campaigns:live-overview")).context["snapshot"]["totals"]
    assert (overview["orders"], overview["joined_value"]) == (3, "242.10")
    suppliers = _text(hq.get(reverse("admin:procurement_supplier_changelist")))
    assert f"{world['berry_farm'].supplier.name} Farm / orchard - - - 54.5" in suppliers
    supplier_page = _text(
        hq.get(reverse("admin:procurement_supplier_change", args=[world["berry_farm"].supplier_id]))
    )
    assert (
        "Score 54.5 · 1 after-sales case, 2 charged to the supplier (80.70 yuan) · "
        "1 purchase-order line, 1 of 11 units short and 0 damaged"
    ) in supplier_page
    for url in (
        reverse("admin:procurement_purchaseorder_change", args=[berry_po.pk]),
        reverse("admin:procurement_aftersalescase_change", args=[case.pk]),
        reverse("admin:campaigns_storecampaign_change", args=[store_campaign.pk]),
        reverse("campaigns:review", args=[store_campaign.pk]),
    ):
        assert hq.get(url).status_code == 200, url
