"""Owner decision pages, the decisions API and the HQ admin: what each user may see and do."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from apps.campaigns.models import StoreCampaign
from apps.catalog.models import (
    CoPurchaseRule,
    DailyListEntry,
    DecisionRun,
    DecisionSettings,
    DemandForecast,
    ForecastBacktest,
    ForecastMethodChoice,
    InsightCard,
    ListKind,
    ReasonKind,
    RuleRun,
    RuleScope,
)
from apps.stores.models import StockLevel
from tests.catalog.decision_fixtures import local_datetime, orders_bulk_create
from tests.factories import PASSWORD, CategoryFactory, MemberFactory, ProductFactory


def _client(user: object | None) -> Client:
    client = Client()
    if user is not None:
        # django-axes throttles logins per client: authenticate() needs a request.
        client.login(request=HttpRequest(), username=user.username, password=PASSWORD)
    return client


def _entries(store: object, day: dt.date, count: int) -> list[DailyListEntry]:
    return DailyListEntry.objects.bulk_create(
        [
            DailyListEntry(
                store=store,
                day=day,
                list_kind=ListKind.HOT,
                product=ProductFactory(name=f"热销{rank}"),
                rank=rank,
                score=10 - rank,
                velocity=5.0,
                trend=0.5,
                suggested_qty=12,
                reason_kind=ReasonKind.HOT_RISING,
                reason_data={"velocity": 5.0, "trend": 50},
            )
            for rank in range(1, count + 1)
        ]
    )


@pytest.fixture
def decisions(store: object, other_store: object) -> dict:
    """A day of decisions for `store` (and a card for `other_store`)."""
    day = timezone.localdate()
    blueberry = ProductFactory(name="低糖蓝莓")
    yogurt = ProductFactory(name="酸奶")
    _entries(store, day, 2)
    DailyListEntry.objects.create(
        store=store,
        day=day,
        list_kind=ListKind.NEW,
        product=ProductFactory(name="新品果干"),
        rank=1,
        score=1.0,
        velocity=0.0,
        trend=0.0,
        suggested_qty=6,
        reason_kind=ReasonKind.NEW_REGION,
        reason_data={"velocity": 5.0, "stores": 3},
    )
    card = InsightCard.objects.create(
        store=store,
        day=day,
        product=blueberry,
        rank=1,
        score=3.0,
        units_last_7d=56,
        units_prev_7d=21,
        mentions_7d=3,
        tags=[{"id": 1, "name": "有孩家庭", "lift": 2.25}],
        broadcast_hour=20,
        broadcast_hour_source="profiles",
        forecast_total=24.0,
        stock_qty=40,
        suggested_qty=36,
        reason_kind=ReasonKind.RISING_SALES,
        reason_data={"last7": 56, "prev7": 21},
    )
    other_card = InsightCard.objects.create(
        store=other_store,
        day=day,
        product=yogurt,
        rank=1,
        score=1.0,
        units_last_7d=10,
        units_prev_7d=5,
        broadcast_hour=9,
        broadcast_hour_source="orders",
        forecast_total=5.0,
        stock_qty=6,
        suggested_qty=6,
        reason_kind=ReasonKind.RISING_SALES,
        reason_data={"last7": 10, "prev7": 5},
    )
    now = timezone.now()
    run = RuleRun.objects.create(
        scope=RuleScope.STORE,
        store=store,
        window_start=now - dt.timedelta(days=90),
        window_end=now,
        min_support=0.0,
        min_confidence=0.0,
        min_pair_count=1,
        basket_count=100,
        rule_count=1,
    )
    CoPurchaseRule.objects.create(
        run=run,
        scope=RuleScope.STORE,
        store=store,
        antecedent=blueberry,
        antecedent_item=blueberry.pk,
        consequent=yogurt,
        consequent_item=yogurt.pk,
        pair_count=10,
        antecedent_count=20,
        consequent_count=30,
        basket_count=100,
        support=0.1,
        confidence=0.5,
        lift=0.5 / 0.3,
        member_count=9,  # carried by 9 of 18 members: enough to be shown
        antecedent_member_count=18,
        confidence_lower=0.29,
    )
    StockLevel.objects.create(store=store, product=yogurt, on_hand=5)  # the store sells it
    return {
        "day": day,
        "card": card,
        "other_card": other_card,
        "blueberry": blueberry,
        "yogurt": yogurt,
    }


def _page(store: object) -> str:
    return reverse("decisions:store", args=[store.pk])


def _accept(store: object, card: InsightCard) -> str:
    return reverse("campaigns:insight-accept", args=[store.pk, card.pk])


def test_owner_sees_lists_cards_and_rules_of_their_store(
    owner: object, store: object, decisions: dict
) -> None:
    with override("en"):
        response = _client(owner).get(_page(store), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "热销1" in page
    assert "热销2" in page
    assert "新品果干" in page
    assert "低糖蓝莓" in page
    assert "有孩家庭" in page
    assert "50% of customers who bought 低糖蓝莓 also bought 酸奶" in page
    assert "(9 of 18 customers; lift 1.7)" in page  # the rule's evidence
    assert _accept(store, decisions["card"]) in page
    assert "酸奶" in page
    assert f"/insights/{decisions['other_card'].pk}/accept/" not in page
    assert reverse("portal:store", args=[store.pk]) in page  # a way back


def test_the_day_the_lists_were_computed_for_is_spaced_in_chinese(
    owner: object, store: object, decisions: dict
) -> None:
    """ "为 2026-12-06 计算得出", not the date run into the Chinese around it."""
    page = _client(owner).get(_page(store), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert re.search(r"，为 \d{4}-\d{2}-\d{2} 计算得出。", page)


@pytest.mark.parametrize("who", ["other_owner", "supplier_user"])
def test_other_users_are_refused_the_page(
    who: str, request: pytest.FixtureRequest, store: object, decisions: dict
) -> None:
    response = _client(request.getfixturevalue(who)).get(_page(store))
    assert response.status_code == 403
    assert "低糖蓝莓" not in response.content.decode()


def test_anonymous_is_sent_to_login(store: object, decisions: dict) -> None:
    response = Client().get(_page(store))
    assert response.status_code == 302
    assert reverse("portal:login") in response["Location"]


def test_owner_accepts_a_card_once(owner: object, store: object, decisions: dict) -> None:
    client = _client(owner)
    card = decisions["card"]
    response = client.post(_accept(store, card))
    assert response.status_code == 302
    draft = StoreCampaign.objects.get(store=store, campaign__insight_card=card)
    assert response["Location"] == reverse("campaigns:detail", args=[store.pk, draft.pk])
    card.refresh_from_db()
    assert card.accepted_by == owner
    first = card.accepted_at
    assert first is not None
    client.post(_accept(store, card))
    card.refresh_from_db()
    assert card.accepted_at == first
    assert StoreCampaign.objects.filter(campaign__insight_card=card).count() == 1
    page = client.get(_page(store)).content.decode()
    assert _accept(store, card) not in page  # no button once accepted


def test_an_accepted_card_names_who_accepted_it_by_their_display_name(
    owner: object, store: object, decisions: dict
) -> None:
    owner.first_name = "王丽华"
    owner.save(update_fields=["first_name"])
    client = _client(owner)
    client.post(_accept(store, decisions["card"]))
    with override("en"):
        page = client.get(_page(store), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r"Accepted \d\d-\d\d \d\d:\d\d by 王丽华\.", page)
    assert f"by {owner.username}." not in page


@pytest.mark.parametrize("who", ["other_owner", "supplier_user", "inspector"])
def test_others_cannot_accept(
    who: str, request: pytest.FixtureRequest, store: object, decisions: dict
) -> None:
    response = _client(request.getfixturevalue(who)).post(_accept(store, decisions["card"]))
    assert response.status_code == 403
    decisions["card"].refresh_from_db()
    assert decisions["card"].accepted_at is None


def test_anonymous_cannot_accept(store: object, decisions: dict) -> None:
    response = Client().post(_accept(store, decisions["card"]))
    assert response.status_code == 302
    decisions["card"].refresh_from_db()
    assert decisions["card"].accepted_at is None


def test_a_card_of_another_store_cannot_be_reached_through_ones_own_store(
    other_owner: object, other_store: object, decisions: dict
) -> None:
    response = _client(other_owner).post(_accept(other_store, decisions["card"]))
    assert response.status_code == 404
    decisions["card"].refresh_from_db()
    assert decisions["card"].accepted_at is None


def test_inspector_reads_without_an_accept_button(
    inspector: object, store: object, decisions: dict
) -> None:
    response = _client(inspector).get(_page(store))
    assert response.status_code == 200
    assert _accept(store, decisions["card"]) not in response.content.decode()


def test_a_store_not_open_for_trade_shows_its_cards_without_accept(
    owner: object, store: object, decisions: dict
) -> None:
    store.status = "suspended"
    store.save(update_fields=["status"])
    with override("en"):
        page = _client(owner).get(_page(store), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "低糖蓝莓" in page
    assert _accept(store, decisions["card"]) not in page
    assert (
        "This store is not open for trade (Suspended): its insight cards cannot be accepted."
        in page
    )


def test_accept_needs_post(owner: object, store: object, decisions: dict) -> None:
    assert _client(owner).get(_accept(store, decisions["card"])).status_code == 405


def test_hq_sees_any_store_and_may_accept(hq_user: object, store: object, decisions: dict) -> None:
    client = _client(hq_user)
    assert client.get(_page(store)).status_code == 200
    client.post(_accept(store, decisions["card"]))
    decisions["card"].refresh_from_db()
    assert decisions["card"].accepted_by == hq_user


def _empty_page(owner: object, store: object) -> tuple[str, object]:
    with override("en"):
        response = _client(owner).get(_page(store), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode(), response.context["state"]


def _sale(store: object) -> None:
    from apps.stores.models import Order

    Order.objects.create(
        store=store, channel=Order.Channel.POS, idempotency_key="sale-1", placed_at=timezone.now()
    )


def test_empty_page_before_any_run_says_no_run_yet(owner: object, store: object) -> None:
    _sale(store)
    html, state = _empty_page(owner, store)
    assert state.status == "never_run"
    assert "No decision run yet" in html
    assert "Not computed yet: the rules appear" in html
    assert "not enough basket" not in html.lower()


def test_empty_page_after_a_failed_run_says_it_failed(owner: object, store: object) -> None:
    _sale(store)
    DecisionRun.objects.create(day=timezone.localdate(), status="failed", error="KeyError: x")
    html, state = _empty_page(owner, store)
    assert state.status == "failed"
    assert "failed" in html
    assert "No decision run yet" not in html


def test_empty_page_while_running_shows_progress(owner: object, store: object) -> None:
    _sale(store)
    DecisionRun.objects.create(
        day=timezone.localdate(), status="running", stores_total=200, stores_done=40
    )
    html, state = _empty_page(owner, store)
    assert state.status == "running"
    assert "40 of 200 stores" in html


def test_a_store_whose_lists_for_the_days_run_are_computed_says_nothing_of_the_networks_run(
    owner: object, store: object, decisions: dict
) -> None:
    # make run: the demo logins' stores are computed first, then the worker's run for all
    # stores of the same day starts at 0 done: the owner's lists for that day are already there.
    _sale(store)
    DecisionRun.objects.create(
        day=decisions["day"], status="running", stores_total=200, stores_done=0
    )
    html, state = _empty_page(owner, store)
    assert state.status == "done"
    assert 'id="decisions-state"' not in html
    assert "in progress" not in html
    assert "热销1" in html


def test_a_store_the_running_run_has_done_says_nothing_of_the_networks_run(
    owner: object, store: object
) -> None:
    _sale(store)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    _entries(store, yesterday, 1)
    DecisionRun.objects.create(
        day=timezone.localdate(),
        status="running",
        stores_total=200,
        stores_done=20,
        done_store_ids=[store.pk],
    )
    html, state = _empty_page(owner, store)
    assert state.status == "done"
    assert "in progress" not in html


def test_a_store_with_older_lists_while_the_run_has_not_reached_it_shows_progress(
    owner: object, store: object
) -> None:
    _sale(store)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    _entries(store, yesterday, 1)
    DecisionRun.objects.create(
        day=timezone.localdate(),
        status="running",
        stores_total=200,
        stores_done=20,
        done_store_ids=[store.pk + 1],
    )
    html, state = _empty_page(owner, store)
    assert state.status == "running"
    assert "in progress (20 of 200 stores done)" in html
    assert "热销1" in html  # yesterday's lists stay shown below


def test_empty_page_of_a_store_the_latest_run_left_out_says_the_next_run_computes_it(
    owner: object, store: object
) -> None:
    _sale(store)
    DecisionRun.objects.create(
        day=timezone.localdate(),
        status="done",
        stores_total=2,
        stores_done=2,
        done_store_ids=[store.pk + 1, store.pk + 2],
    )
    html, state = _empty_page(owner, store)
    assert state.status == "not_in_run"
    assert "computed 2 other stores first" in html
    assert "computed no list for this store" not in html


def test_empty_page_of_a_store_without_sales_says_no_data(owner: object, store: object) -> None:
    DecisionRun.objects.create(day=timezone.localdate(), status="done")
    html, state = _empty_page(owner, store)
    assert state.status == "no_data"
    assert "no sales yet" in html


def test_rules_computed_but_none_passed_says_so(owner: object, store: object) -> None:
    _sale(store)
    DecisionRun.objects.create(day=timezone.localdate(), status="done")
    RuleRun.objects.create(
        scope=RuleScope.NETWORK,
        window_start=timezone.now() - dt.timedelta(days=30),
        window_end=timezone.now(),
        min_support=0.01,
        min_confidence=0.2,
        min_pair_count=5,
        basket_count=750_000,
    )
    html, state = _empty_page(owner, store)
    assert state.status == "done"
    assert state.rules_computed
    assert "No pair of products is bought together often enough" in html


def test_page_query_count_does_not_grow_with_rows(
    owner: object, store: object, decisions: dict
) -> None:
    client = _client(owner)
    client.get(_page(store))
    with CaptureQueriesContext(connection) as few:
        client.get(_page(store))
    _entries(store, decisions["day"], 0)
    DailyListEntry.objects.filter(store=store, list_kind=ListKind.HOT).delete()
    _entries(store, decisions["day"], 9)
    with CaptureQueriesContext(connection) as many:
        response = client.get(_page(store))
    assert "热销9" in response.content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)


# --- API -------------------------------------------------------------------------------------


def _api(name: str, *args: int) -> str:
    return reverse(name, args=args)


def test_api_lists_for_the_owner(owner: object, store: object, decisions: dict) -> None:
    client = _client(owner)
    hot = client.get(_api("api-decisions-list", store.pk, "hot"))
    assert hot.status_code == 200
    results = hot.json()["results"]
    assert [row["product"]["name"] for row in results] == ["热销1", "热销2"]
    assert results[0]["suggested_qty"] == 12
    new = client.get(_api("api-decisions-list", store.pk, "new")).json()["results"]
    assert [row["product"]["name"] for row in new] == ["新品果干"]
    assert client.get(_api("api-decisions-list", store.pk, "cold")).status_code == 404
    cards = client.get(_api("api-decisions-insights", store.pk)).json()["results"]
    assert [card["id"] for card in cards] == [decisions["card"].pk]
    assert cards[0]["stock_qty"] == 40
    rules = client.get(_api("api-decisions-rules", store.pk)).json()["results"]
    assert [(r["antecedent"]["name"], r["consequent"]["name"], r["confidence"]) for r in rules] == [
        ("低糖蓝莓", "酸奶", 0.5)
    ]
    assert (rules[0]["member_count"], rules[0]["antecedent_member_count"]) == (9, 18)


def test_the_schema_names_the_lists_kinds(owner: object) -> None:
    schema = _client(owner).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    operation = schema.json()["paths"]["/api/v1/stores/{store_id}/decisions/lists/{kind}/"]["get"]
    kind = next(parameter for parameter in operation["parameters"] if parameter["name"] == "kind")
    assert (kind["in"], kind["schema"]["enum"]) == ("path", ["hot", "new"])


@pytest.mark.parametrize("who", ["other_owner", "supplier_user", None])
@pytest.mark.parametrize(
    "name",
    ["api-decisions-list", "api-decisions-insights", "api-decisions-rules"],
)
def test_api_refuses_other_users(
    who: str | None, name: str, request: pytest.FixtureRequest, store: object, decisions: dict
) -> None:
    user = request.getfixturevalue(who) if who else None
    args = (store.pk, "hot") if name == "api-decisions-list" else (store.pk,)
    response = _client(user).get(_api(name, *args))
    assert response.status_code in ({401, 403} if user is None else {403})
    assert "低糖蓝莓" not in response.content.decode()
    assert "热销" not in response.content.decode()


def test_api_accept(
    owner: object, other_owner: object, supplier_user: object, store: object, decisions: dict
) -> None:
    url = _api("api-decisions-insight-accept", store.pk, decisions["card"].pk)
    for refused in (other_owner, supplier_user, None):
        response = _client(refused).post(url)
        assert response.status_code in {401, 403}
    decisions["card"].refresh_from_db()
    assert decisions["card"].accepted_at is None
    response = _client(owner).post(url)
    assert response.status_code == 200
    assert response.json()["accepted"] is True
    assert response.json()["card"]["accepted_at"] is not None
    assert _client(owner).post(url).json()["accepted"] is False
    other = _api("api-decisions-insight-accept", store.pk, decisions["other_card"].pk)
    assert _client(owner).post(other).status_code == 404
    decisions["other_card"].refresh_from_db()
    assert decisions["other_card"].accepted_at is None


def test_api_member_next_products(
    owner: object, other_owner: object, store: object, other_store: object, decisions: dict
) -> None:
    member = MemberFactory(home_store=store)
    stranger = MemberFactory(home_store=other_store)
    orders_bulk_create(
        store=store,
        baskets=[[decisions["blueberry"]]],
        placed_at=local_datetime(timezone.localdate() - dt.timedelta(days=10)),
        members=[member],
    )
    url = _api("api-member-next-products", store.pk, member.pk)
    response = _client(owner).get(url)
    assert response.status_code == 200
    body = response.json()
    # The blend: what they bought (buy again) first, then what the rule adds.
    assert [row["product"]["name"] for row in body] == ["低糖蓝莓", "酸奶"]
    assert body[1]["because_of"]["name"] == "低糖蓝莓"
    assert body[1]["confidence"] == 0.5
    assert _client(other_owner).get(url).status_code == 403
    assert (
        _client(owner).get(_api("api-member-next-products", store.pk, stranger.pk)).status_code
        == 404
    )
    assert _client(None).get(url).status_code in {401, 403}


# --- Admin -----------------------------------------------------------------------------------


def test_admin_pages_load_for_hq(hq_user: object, store: object, decisions: dict) -> None:
    client = _client(hq_user)
    DecisionSettings.objects.get_or_create(pk=1)
    category = CategoryFactory()
    backtest = ForecastBacktest.objects.create(
        first_origin=decisions["day"],
        last_origin=decisions["day"],
        origin_count=1,
        horizon_days=14,
        series_count=1,
        metrics={"overall": {"gbm": {"wape": 0.3}, "seasonal_naive": {"wape": 0.5}}},
    )
    ForecastMethodChoice.objects.create(
        category=category, backtest=backtest, method="gbm", best_baseline="moving_average_28"
    )
    DemandForecast.objects.create(
        store=store,
        product=decisions["yogurt"],
        issued_on=decisions["day"],
        start_day=decisions["day"],
        method="gbm",
        daily=[1.0] * 14,
        lower=[0.0] * 14,
        upper=[2.0] * 14,
        total=14.0,
        sigma_daily=1.0,
        on_hand=3,
        lead_time_days=2,
        review_period_days=1,
        safety_stock=2.8,
        suggested_qty=3,
    )
    DecisionRun.objects.create(day=decisions["day"], status="done", stores_total=1, stores_done=1)
    models = [
        DecisionSettings,
        RuleRun,
        CoPurchaseRule,
        ForecastBacktest,
        ForecastMethodChoice,
        DemandForecast,
        DailyListEntry,
        InsightCard,
        DecisionRun,
    ]
    for model in models:
        label = f"admin:catalog_{model._meta.model_name}"
        assert client.get(reverse(f"{label}_changelist")).status_code == 200, model
        obj = model.objects.first()
        assert client.get(reverse(f"{label}_change", args=[obj.pk])).status_code == 200, model
    assert (
        client.get(reverse("admin:catalog_copurchaserule_changelist"), {"q": "蓝莓"}).status_code
        == 200
    )


def test_admin_accept_action_uses_the_service(
    hq_user: object, store: object, decisions: dict
) -> None:
    client = _client(hq_user)
    response = client.post(
        reverse("admin:catalog_insightcard_changelist"),
        {"action": "accept_cards", "_selected_action": [decisions["card"].pk]},
    )
    assert response.status_code == 302
    decisions["card"].refresh_from_db()
    assert decisions["card"].accepted_by == hq_user
    decisions["other_card"].refresh_from_db()
    assert decisions["other_card"].accepted_at is None


def test_admin_insight_cards_filter_by_acceptance_and_region(
    hq_user: object, store: object, other_store: object, decisions: dict
) -> None:
    """HQ asks which cards the stores took up, and where."""
    InsightCard.objects.filter(pk=decisions["card"].pk).update(
        accepted_at=timezone.now(), accepted_by=hq_user
    )
    client = _client(hq_user)
    changelist = reverse("admin:catalog_insightcard_changelist")

    def listed(**query: object) -> set[int]:
        response = client.get(changelist, query)
        assert response.status_code == 200
        return {card.pk for card in response.context["cl"].result_list}

    assert listed(accepted="yes") == {decisions["card"].pk}
    assert listed(accepted="no") == {decisions["other_card"].pk}
    assert listed(store__region__id__exact=other_store.region_id) == {decisions["other_card"].pk}


def test_admin_settings_edit(hq_user: object) -> None:
    client = _client(hq_user)
    DecisionSettings.objects.get_or_create(pk=1)
    data = {
        "rules_window_days": 60,
        "rules_min_support": 0.002,
        "rules_min_confidence": 0.1,
        "rules_min_pair_count": 3,
        "rules_per_product": 10,
        "rules_store_scope": "on",
        "history_days": 90,
        "service_level": 0.9,
        "review_period_days": 2,
        "default_lead_time_days": 1,
        "hot_list_size": 5,
        "new_list_size": 5,
        "new_product_days": 30,
        "insight_cards_per_store": 2,
    }
    response = client.post(reverse("admin:catalog_decisionsettings_change", args=[1]), data)
    assert response.status_code == 302
    settings = DecisionSettings.objects.get()
    assert (settings.rules_window_days, settings.service_level) == (60, 0.9)
    bad = client.post(
        reverse("admin:catalog_decisionsettings_change", args=[1]), {**data, "service_level": 1.5}
    )
    assert bad.status_code == 200  # the form shows the error
    assert DecisionSettings.objects.get().service_level == 0.9


def test_the_chinese_page_puts_the_rules_evidence_in_chinese_brackets(
    owner: object, store: object, decisions: dict
) -> None:
    page = _client(owner).get(_page(store)).content.decode()
    assert "（18 位顾客中有 9 位；提升度 1.7）" in page
    assert "适合带以下标签的会员：有孩家庭" in page


def test_the_chinese_card_states_quantities_with_the_products_unit(
    owner: object, store: object, decisions: dict
) -> None:
    page = _client(owner).get(_page(store)).content.decode()
    with override("zh-hans"):
        unit = decisions["card"].product.get_unit_display()
    assert f"建议：20:00 直播，备货 40 {unit}。" in page
    assert f"立即订货 36 {unit}。" in page


def test_the_lists_state_the_stores_order_in_the_products_unit(
    owner: object, store: object, decisions: dict
) -> None:
    page = _client(owner).get(_page(store)).content.decode()
    hot = DailyListEntry.objects.filter(store=store, list_kind=ListKind.HOT).first()
    with override("zh-hans"):
        unit = hot.product.get_unit_display()
    assert f"<b>{hot.suggested_qty} {unit}</b></td>" in page


def test_the_hot_list_says_what_it_is_ranked_by(
    owner: object, store: object, decisions: dict
) -> None:
    # The list shows units per day, but ranks by them weighted with the week's trend: the
    # page says so, or an owner reads a 5.6 above a 5.9 as a mistake.
    page = _client(owner).get(_page(store)).content.decode()
    hot_section = page[page.index('id="hot"') : page.index('id="new"')]
    assert "按日均销量排序，并按近 7 天相对前 7 天的趋势加权" in hot_section


def test_bought_together_leaves_out_rules_whose_lift_is_about_one(
    owner: object, store: object, decisions: dict, settings: object
) -> None:
    """果汁 → 香蕉 with lift 1.0 (香蕉 sells as often without 果汁) ranks first by its evidence
    but tells the owner nothing: the page and the API leave it out; the rule itself stays, and
    lowering the setting shows it again, first."""
    settings.RULES_MIN_LIFT_DISPLAY = 1.2
    juice, banana = ProductFactory(name="果汁"), ProductFactory(name="香蕉")
    CoPurchaseRule.objects.create(
        run=RuleRun.objects.get(store=store),
        scope=RuleScope.STORE,
        store=store,
        antecedent=juice,
        antecedent_item=juice.pk,
        consequent=banana,
        consequent_item=banana.pk,
        pair_count=30,
        antecedent_count=50,
        consequent_count=60,
        basket_count=100,
        support=0.3,
        confidence=0.6,
        lift=1.0,
        member_count=30,
        antecedent_member_count=50,
        confidence_lower=0.46,  # ranks above 低糖蓝莓 → 酸奶 (0.29)
    )
    page = _client(owner).get(_page(store)).content.decode()
    rules_section = page[page.index('id="rules"') :]
    assert "香蕉" not in rules_section
    assert "买了低糖蓝莓的顾客有50%也买了酸奶" in rules_section
    api = _client(owner).get(_api("api-decisions-rules", store.pk)).json()["results"]
    assert [r["consequent"]["name"] for r in api] == ["酸奶"]

    settings.RULES_MIN_LIFT_DISPLAY = 1.0
    page = _client(owner).get(_page(store)).content.decode()
    assert "香蕉" in page[page.index('id="rules"') :]
    api = _client(owner).get(_api("api-decisions-rules", store.pk)).json()["results"]
    assert [r["consequent"]["name"] for r in api] == ["香蕉", "酸奶"]


def test_a_new_product_the_store_already_stocks_says_so_instead_of_order_zero(
    owner: object, store: object, decisions: dict
) -> None:
    """Order quantity 0 on 潜力新品榜 means the stock (or goods on order) already covers the
    forecast: the page says that, not "订货 0"."""
    stocked, ordered = ProductFactory(name="蓝莓果干"), ProductFactory(name="芒果干")
    StockLevel.objects.create(store=store, product=stocked, on_hand=12)
    for rank, product in ((2, stocked), (3, ordered)):
        DailyListEntry.objects.create(
            store=store,
            day=decisions["day"],
            list_kind=ListKind.NEW,
            product=product,
            rank=rank,
            score=0.5,
            velocity=1.0,
            trend=0.0,
            suggested_qty=0,
            reason_kind=ReasonKind.NEW_REGION,
            reason_data={"velocity": 1.0, "stores": 2},
        )
    page = _client(owner).get(_page(store)).content.decode()
    new_section = page[page.index('id="new"') : page.index('id="rules"')]
    with override("zh-hans"):
        unit = stocked.get_unit_display()
        fresh = DailyListEntry.objects.get(product__name="新品果干")
        fresh_unit = fresh.product.get_unit_display()
    assert f"已有库存 12 {unit}，暂不需订货。" in new_section
    assert "暂不需订货：在途货物已够预测所需。" in new_section
    assert f"<b>0 {unit}</b>" not in new_section
    assert f"<b>6 {fresh_unit}</b>" in new_section  # a quantity to order is shown as before


def test_a_rule_s_evidence_follows_its_sentence_without_a_space_before_the_chinese_bracket(
    owner: object, store: object, decisions: dict
) -> None:
    """Chinese writes no space before a full-width bracket: "也买了酸奶 （10 位顾客…）" read
    as a stray gap; English keeps its space before "("."""
    client = _client(owner)
    with override("zh-hans"):
        page = client.get(_page(store), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '也买了酸奶<span class="muted">（' in page
    with override("en"):
        page = client.get(_page(store), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'also bought 酸奶<span class="muted"> (9 of 18 customers; lift 1.7)' in page
