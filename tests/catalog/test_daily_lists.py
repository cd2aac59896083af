"""Daily lists: the scoring functions, the lists a night writes for a known network, and the
nightly run's idempotency (a rerun changes nothing; a second beat does nothing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.utils import timezone
from django.utils.translation import override

from apps.catalog.analytics import lists as la
from apps.catalog.models import (
    CoPurchaseRule,
    DailyListEntry,
    DecisionRun,
    DemandForecast,
    InsightCard,
    ListKind,
    ReasonKind,
    RuleRun,
)
from apps.catalog.services.nightly import DecisionRunBusy, decisions_run
from apps.catalog.tasks import decisions_nightly_task
from tests.catalog.decision_fixtures import decision_world


def test_velocity_and_trend_of_the_last_two_weeks() -> None:
    sales = np.array([[9] * 7 + [1] * 7 + [2] * 7, [0] * 14 + [1] * 7], dtype=float)
    frame = la.velocity_and_trend(sales)
    assert frame["units_last_7d"].tolist() == [14, 7]
    assert frame["units_prev_7d"].tolist() == [7, 0]
    assert frame["velocity"].tolist() == [2.0, 1.0]
    assert frame["trend"].tolist() == [1.0, 7.0]


def test_hot_list_ranks_by_velocity_and_trend_per_store() -> None:
    frame = pd.DataFrame(
        {
            "store_id": [1, 1, 1, 1, 2],
            "product_id": [10, 11, 12, 13, 10],
            "velocity": [2.0, 4.0, 2.0, 0.2, 1.0],
            "trend": [1.5, -0.8, 1.5, 3.0, 0.1],
            "units_last_7d": [14, 28, 14, 2, 7],
            "units_prev_7d": [5, 140, 5, 0, 6],
        }
    )
    hot = la.hot_list(frame, size=2)
    assert hot[["store_id", "product_id", "rank"]].values.tolist() == [
        [1, 10, 1],
        [1, 12, 2],
        [2, 10, 1],
    ]
    # score = velocity × (1 + trend clipped to [-0.5, 1]); 13 sold too little to count.
    assert hot["score"].tolist() == [4.0, 4.0, 1.1]
    assert hot["reason_kind"].tolist() == ["hot_rising", "hot_rising", "hot_steady"]


def test_new_products_rank_by_other_stores_of_the_region_then_tag_fit() -> None:
    stores = pd.DataFrame({"store_id": [1, 2, 3], "region_id": [7, 7, 8]})
    new_products = pd.DataFrame({"product_id": [100, 200], "category_id": [5, 6]})
    recent = pd.DataFrame(
        {"store_id": [2, 1, 3], "product_id": [100, 100, 200], "units": [70, 14, 1]}
    )
    shares = pd.DataFrame(
        {"store_id": [1], "tag_id": [9], "tag_name": ["有孩家庭"], "share": [0.25]}
    )
    category_tags = pd.DataFrame({"category_id": [6], "tag_id": [9]})
    new = la.new_product_list(
        stores=stores,
        new_products=new_products,
        recent_sales=recent,
        store_region={1: 7, 2: 7, 3: 8},
        days=14,
        store_tag_share=shares,
        category_tags=category_tags,
        size=10,
    )
    rows = {(r.store_id, r.product_id): r for r in new.itertuples()}
    # Store 1: product 100 sells 70/14 = 5 a day in store 2 (its own sales do not count).
    assert rows[(1, 100)].velocity_per_store == 5.0
    assert rows[(1, 100)].region_stores == 1
    assert rows[(1, 100)].reason_kind == "new_region"
    assert rows[(1, 100)].rank == 1
    # Store 1: product 200 has no sales in region 7 but fits a quarter of its members.
    assert rows[(1, 200)].reason_kind == "new_tags"
    assert rows[(1, 200)].score == pytest.approx(0.025)
    assert rows[(1, 200)].tag_names == ["有孩家庭"]
    # Store 2: product 100 sells 14/14 = 1 a day in store 1.
    assert rows[(2, 100)].velocity_per_store == 1.0
    # Store 3 is alone in region 8: its own sales are no evidence, and it has no tag fit.
    assert (3, 200) not in rows
    assert set(rows) == {(1, 100), (1, 200), (2, 100)}


def _tag_world() -> dict[str, pd.DataFrame]:
    """Store 1 sells product 100; 4 of its 5 buyers carry tag 9, which 10 of its 40 members
    carry. Store 2 (12 of 40 tagged) and store 4 (4 of 40) are elsewhere; store 3 has no tag."""
    return {
        "stores": pd.DataFrame({"store_id": [1, 2, 3, 4]}),
        "recent_sales": pd.DataFrame({"store_id": [1], "product_id": [100], "units": [14]}),
        "buyers": pd.DataFrame(
            {
                "store_id": [1] * 5,
                "member_id": [11, 12, 13, 14, 15],
                "product_id": [100] * 5,
                "units": [4, 3, 3, 2, 2],
            }
        ),
        "member_tags": pd.DataFrame({"member_id": [11, 12, 13, 14], "tag_id": [9] * 4}),
        "store_members": pd.DataFrame({"store_id": [1, 2, 3, 4], "members": [40] * 4}),
        "store_tags": pd.DataFrame(
            {
                "store_id": [1, 2, 4],
                "tag_id": [9, 9, 9],
                "tag_name": ["有孩家庭"] * 3,
                "members_with_tag": [10, 12, 4],
            }
        ),
    }


def test_new_product_tag_fits_come_from_other_stores_buyers() -> None:
    fits = la.new_product_tag_fits(**_tag_world(), days=14)
    # Only store 2: store 3 lacks the tag, store 4 has it in 10% of its members (below the
    # network's 26 of 160 = 16%), and store 1's own buyers are no evidence for store 1.
    assert fits[["store_id", "product_id", "tag_id", "tag_name"]].values.tolist() == [
        [2, 100, 9, "有孩家庭"]
    ]
    fit = fits.iloc[0]
    assert fit["tag_store_share"] == 0.3
    assert fit["tag_buyer_share"] == 0.8  # 4 of 5 buyers
    assert fit["tag_lift"] == pytest.approx(3.2)  # 0.8 against 10 of 40 members
    # 12 units by tagged buyers / 10 tagged members / 14 days × store 2's 12 tagged members.
    assert fit["tag_velocity"] == pytest.approx(12 / 10 / 14 * 12)


def test_new_product_tag_fits_need_enough_buyers_and_lift() -> None:
    world = _tag_world()
    few = {**world, "member_tags": world["member_tags"].iloc[:2]}
    assert la.new_product_tag_fits(**few, days=14).empty  # 2 tagged buyers < 3
    common = world["store_tags"].assign(members_with_tag=[36, 12, 4])
    # 4 of 5 buyers against 36 of 40 members: lift 0.89, the tag explains nothing.
    assert la.new_product_tag_fits(**{**world, "store_tags": common}, days=14).empty
    rare = world["store_tags"].assign(members_with_tag=[2, 3, 0])
    # Store 2's 3 of 40 (7.5%) is above the network's 5 of 160 but too few to call high.
    assert la.new_product_tag_fits(**{**world, "store_tags": rare}, days=14).empty


def test_new_product_list_suggests_by_tag_where_the_region_has_no_sales() -> None:
    world = _tag_world()
    fits = la.new_product_tag_fits(**world, days=14)
    new = la.new_product_list(
        stores=pd.DataFrame({"store_id": [1, 2, 3, 4], "region_id": [7, 8, 8, 8]}),
        new_products=pd.DataFrame({"product_id": [100], "category_id": [5]}),
        recent_sales=world["recent_sales"],
        store_region={1: 7, 2: 8, 3: 8, 4: 8},
        days=14,
        store_tag_share=pd.DataFrame(columns=["store_id", "tag_id", "tag_name", "share"]),
        category_tags=pd.DataFrame(columns=["category_id", "tag_id"]),
        size=10,
        tag_fits=fits,
    )
    assert new[["store_id", "product_id", "rank", "reason_kind"]].values.tolist() == [
        [2, 100, 1, "new_tag_buyers"]
    ]
    assert new.iloc[0]["velocity_per_store"] == 0.0
    assert new.iloc[0]["expected_velocity"] == new.iloc[0]["score"] == fits.iloc[0]["tag_velocity"]
    assert new.iloc[0]["tag_name"] == "有孩家庭"


def test_region_evidence_wins_over_a_weaker_tag_fit() -> None:
    world = _tag_world()
    fits = la.new_product_tag_fits(**world, days=14)
    # Store 5 in store 2's region sells 28 units in 14 days: 2 a day beats the tag's 1.03.
    recent = pd.concat(
        [world["recent_sales"], pd.DataFrame({"store_id": [5], "product_id": [100], "units": [28]})]
    )
    new = la.new_product_list(
        stores=pd.DataFrame({"store_id": [2], "region_id": [8]}),
        new_products=pd.DataFrame({"product_id": [100], "category_id": [5]}),
        recent_sales=recent,
        store_region={1: 7, 2: 8, 5: 8},
        days=14,
        store_tag_share=pd.DataFrame(columns=["store_id", "tag_id", "tag_name", "share"]),
        category_tags=pd.DataFrame(columns=["category_id", "tag_id"]),
        size=10,
        tag_fits=fits,
    )
    row = new.iloc[0]
    assert (row["reason_kind"], row["score"], row["expected_velocity"]) == ("new_region", 2.0, 2.0)


def test_chat_mentions_count_once_per_message_and_by_week() -> None:
    keys = la.mention_keys({1: "低糖蓝莓 125g", 2: "酸奶 200g", 3: "纯牛奶1L", 4: "牛奶"})
    assert keys == {"低糖蓝莓": 1, "蓝莓": 1, "酸奶": 2, "纯牛奶": 3}
    counts = la.count_mentions(
        [
            (5, "低糖蓝莓到了吗？蓝莓！", True),
            (5, "酸奶", False),
            (5, "蓝莓", False),
            (6, "牛奶", True),
        ],
        keys,
    )
    assert counts.values.tolist() == [[5, 1, 1, 1], [5, 2, 0, 1]]


def test_insight_candidates_need_rising_sales_or_rising_talk() -> None:
    frame = pd.DataFrame(
        {
            "store_id": [1, 1, 1, 1, 1],
            "product_id": [10, 11, 12, 13, 14],
            "trend": [1.0, 0.1, 0.0, 0.5, 4.0],
            "units_last_7d": [16, 50, 1, 4, 5],
            # 14 sold 5 against 0 the week before, but that is within its own variation.
            "rise_z": [3.0, 0.4, 0.0, 3.0, 0.9],
            "mentions_7d": [0, 0, 3, 0, 0],
            "mentions_prev_7d": [0, 0, 1, 0, 0],
        }
    )
    cards = la.insight_candidates(frame, size=3)
    assert cards["product_id"].tolist() == [10, 12]
    assert cards["score"].tolist() == [4.0, 1.5]
    assert cards["reason_kind"].tolist() == ["rising_sales", "rising_mentions"]


def _daily(weeks: list[int], last7: int) -> np.ndarray:
    """77 days of sales whose last whole weeks sum to `weeks`, then `last7` (units on each
    week's first day); empty weeks before the product first sold."""
    days: list[int] = []
    for units in [*weeks, last7]:
        days += [units] + [0] * 6
    return np.array([0] * (77 - len(days)) + days, dtype=float)


def test_a_rise_must_be_significant_against_the_products_own_weeks() -> None:
    noisy = _daily([3, 6, 1, 5, 6, 2, 0], last7=5)  # 镇江香醋: 5 against 0 the week before
    steady = _daily([21, 21, 21, 21, 21], last7=56)
    new = _daily([], last7=9)  # nothing before: no variation to compare with
    stats = la.rise_significance(np.vstack([noisy, steady, new]))
    weeks = np.array([3, 6, 1, 5, 6, 2, 0], dtype=float)
    # Reference: mean and sample variance of its own 7 weeks (the 3 empty weeks before its
    # first sale are not counted); z = (5 − μ) / √(max(s², μ, 1)·(1 + 1/7)).
    z_noisy = (5 - weeks.mean()) / np.sqrt(max(weeks.var(ddof=1), weeks.mean(), 1) * (8 / 7))
    assert stats["usual_7d"].tolist()[:2] == pytest.approx([weeks.mean(), 21.0])
    assert stats["rise_z"][0] == pytest.approx(z_noisy)
    assert stats["rise_z"][0] < la.INSIGHT_MIN_Z
    assert stats["rise_z"][1] == pytest.approx(35 / np.sqrt(21 * 1.2))
    assert stats["rise_z"][2] == 0.0
    frame = pd.concat(
        [
            pd.DataFrame({"store_id": [1, 1, 1], "product_id": [10, 11, 12]}),
            la.velocity_and_trend(np.vstack([noisy, steady, new])),
            stats,
        ],
        axis=1,
    ).assign(mentions_7d=0, mentions_prev_7d=0)
    # Today's rule alone (≥ 5 units, +25 %) would fire for 10; significance keeps only 11.
    assert frame.loc[0, "units_last_7d"] == 5
    assert frame.loc[0, "units_prev_7d"] == 0
    assert la.insight_candidates(frame, size=3)["product_id"].tolist() == [11]


def test_tag_lift_compares_buyers_with_the_store_members() -> None:
    buyers = pd.DataFrame({"store_id": [1] * 4, "product_id": [10] * 4, "member_id": [1, 2, 3, 4]})
    member_tags = pd.DataFrame({"member_id": [1, 2, 3, 5, 1], "tag_id": [7, 7, 7, 7, 8]})
    store_members = pd.DataFrame({"store_id": [1] * 8, "member_id": range(1, 9)})
    lifts = la.tag_lifts(buyers=buyers, member_tags=member_tags, store_members=store_members)
    rows = {r.tag_id: r for r in lifts.itertuples()}
    # Tag 7: 3 of 4 buyers vs 4 of 8 members → lift 1.5; tag 8: 1 of 4 vs 1 of 8 → 2.0.
    assert rows[7].lift == 1.5
    assert rows[8].lift == 2.0
    assert (rows[7].buyers_with_tag, rows[7].buyers) == (3, 4)


def test_a_tag_fits_only_with_lift_and_support() -> None:
    """Product 10: 40 buyers. 有孩家庭: 12 of them (30 %) against 10 % of the store → fits.
    宠物主人: 2 of them (5 %) against 1 % of the store (lift 5, but two people) → does not.
    健身: 10 of them (25 %) against 20 % of the store (lift 1.25) → does not."""
    members = range(1, 201)
    store_members = pd.DataFrame({"store_id": 1, "member_id": list(members)})
    buyers = pd.DataFrame({"store_id": 1, "product_id": 10, "member_id": list(range(1, 41))})
    kids = list(range(1, 13)) + list(range(41, 49))  # 12 buyers + 8 others = 20 (10 %)
    pets = [1, 2]  # 2 buyers, 2 of 200 (1 %)
    fitness = list(range(13, 23)) + list(range(49, 79))  # 10 buyers + 30 others = 40 (20 %)
    member_tags = pd.DataFrame(
        {
            "member_id": kids + pets + fitness,
            "tag_id": [7] * len(kids) + [8] * len(pets) + [9] * len(fitness),
        }
    )
    lifts = la.tag_lifts(buyers=buyers, member_tags=member_tags, store_members=store_members)
    rows = {r.tag_id: r for r in lifts.itertuples()}
    assert rows[7].lift == pytest.approx(3.0)
    assert rows[8].lift == pytest.approx(5.0)
    assert rows[9].lift == pytest.approx(1.25)
    assert la.best_tags(lifts, {7: "有孩家庭", 8: "宠物主人", 9: "健身"}) == {
        (1, 10): [{"id": 7, "name": "有孩家庭", "lift": 3.0, "buyers": 12, "of": 40}]
    }


def test_best_hour_is_the_mode_earliest_on_a_tie() -> None:
    assert la.best_hour([20, 20, 9, 9, 21]) == 9
    assert la.best_hour([20, 20, 9]) == 20
    assert la.best_hour([]) is None


@pytest.fixture
def world(db: None) -> dict:
    return decision_world()


def _entries(store: object, kind: str) -> list[DailyListEntry]:
    return list(DailyListEntry.objects.filter(store=store, list_kind=kind).order_by("rank"))


def test_night_writes_the_hot_and_new_lists_of_a_known_network(world: dict) -> None:
    store_a, store_b, store_c = world["stores"]
    products = world["products"]

    run = decisions_run(day=world["today"])

    assert run.status == DecisionRun.Status.DONE
    assert (run.stores_done, run.stores_total) == (3, 3)
    hot = _entries(store_a, ListKind.HOT)
    assert [entry.product_id for entry in hot] == [
        products["blueberry"].pk,
        products["yogurt"].pk,
        products["milk"].pk,
    ]
    assert all(entry.day == world["today"] for entry in hot)
    blueberry = hot[0]
    assert blueberry.velocity == 8.0
    assert blueberry.trend == pytest.approx(35 / 21, abs=1e-4)
    assert blueberry.reason_kind == ReasonKind.HOT_RISING
    assert blueberry.reason_data == {"velocity": 8.0, "trend": 167}
    forecast = DemandForecast.objects.get(store=store_a, product=products["blueberry"])
    assert blueberry.suggested_qty == forecast.suggested_qty > 0
    assert hot[1].reason_kind == ReasonKind.HOT_STEADY
    with override("en"):
        assert blueberry.reason == "Sells 8.0 a day, up 167% on the week before"

    new = _entries(store_a, ListKind.NEW)
    assert [entry.product_id for entry in new] == [
        products["dried_fruit"].pk,
        products["baby_food"].pk,
    ]
    assert new[0].reason_kind == ReasonKind.NEW_REGION
    assert new[0].reason_data == {"velocity": 5.0, "stores": 1}
    assert new[0].suggested_qty > 0
    assert new[1].reason_kind == ReasonKind.NEW_TAGS
    assert new[1].reason_data == {"tags": "有孩家庭", "share": 33}
    assert new[1].suggested_qty == 1  # no sales anywhere near: a trial of one unit
    with override("en"):
        assert new[1].reason == "New: fits your members tagged 有孩家庭 (33% of your members)"
    # Store C is in another region and has no tagged members: no new products to suggest.
    assert _entries(store_c, ListKind.NEW) == []
    # Store B sells the dried fruit itself; no other store of its region does.
    assert products["dried_fruit"].pk not in [e.product_id for e in _entries(store_b, ListKind.NEW)]
    assert CoPurchaseRule.objects.filter(
        store=store_a, antecedent=products["blueberry"], consequent=products["yogurt"]
    ).exists()


def _snapshot() -> dict:
    return {
        "forecasts": list(DemandForecast.objects.order_by("pk").values()),
        "entries": list(DailyListEntry.objects.order_by("pk").values()),
        "cards": list(InsightCard.objects.order_by("pk").values()),
        "rules": list(CoPurchaseRule.objects.order_by("pk").values()),
        "rule_runs": list(RuleRun.objects.order_by("pk").values()),
    }


def test_forced_rerun_of_the_same_day_changes_nothing(world: dict) -> None:
    decisions_run(day=world["today"])
    before = _snapshot()
    assert before["entries"]
    assert before["cards"]
    assert before["forecasts"]

    rerun = decisions_run(day=world["today"], force=True)

    assert rerun.status == DecisionRun.Status.DONE
    assert _snapshot() == before
    assert DecisionRun.objects.filter(day=world["today"], status="done").count() == 2


def test_the_beat_task_twice_runs_once(world: dict) -> None:
    first = decisions_nightly_task(world["today"].isoformat())
    before = _snapshot()
    second = decisions_nightly_task(world["today"].isoformat())
    assert first == second
    assert DecisionRun.objects.count() == 1
    assert _snapshot() == before


def test_a_run_in_progress_blocks_a_second_one(world: dict) -> None:
    DecisionRun.objects.create(day=world["today"], stores_total=3)
    with pytest.raises(DecisionRunBusy):
        decisions_run(day=world["today"])
    assert decisions_nightly_task(world["today"].isoformat()) is None
    assert DailyListEntry.objects.count() == 0
    assert DecisionRun.objects.count() == 1


def test_lists_that_fall_off_are_removed_on_rerun(world: dict) -> None:
    store_a = world["stores"][0]
    decisions_run(day=world["today"])
    milk = world["products"]["milk"]
    assert DailyListEntry.objects.filter(
        store=store_a, product=milk, list_kind=ListKind.HOT
    ).exists()
    milk.is_active = False
    milk.save()
    decisions_run(day=world["today"], force=True)
    assert not DailyListEntry.objects.filter(store=store_a, product=milk).exists()
    assert [e.rank for e in _entries(store_a, ListKind.HOT)] == [1, 2]


def test_decisions_run_command_shows_progress(world: dict, capsys: pytest.CaptureFixture) -> None:
    call_command("decisions_run", "--day", world["today"].isoformat(), "--chunk-size", "2")
    output = capsys.readouterr().out
    assert "stores 2/3" in output
    assert "stores 3/3" in output
    assert "rules:" in output
    assert "3/3 stores" in output
    assert DecisionRun.objects.get().status == DecisionRun.Status.DONE


def test_old_lists_are_pruned_but_accepted_cards_kept(world: dict) -> None:
    import datetime as dt

    from tests.factories import UserFactory

    store_a = world["stores"][0]
    old_day = world["today"] - dt.timedelta(days=200)
    product = world["products"]["milk"]
    common = {"store": store_a, "day": old_day, "product": product, "rank": 1, "score": 1.0}
    DailyListEntry.objects.create(
        **common,
        list_kind=ListKind.HOT,
        velocity=1.0,
        trend=0.0,
        suggested_qty=1,
        reason_kind=ReasonKind.HOT_STEADY,
        reason_data={"velocity": 1.0},
    )
    card_fields = {
        "units_last_7d": 7,
        "units_prev_7d": 1,
        "broadcast_hour": 20,
        "broadcast_hour_source": "orders",
        "forecast_total": 3.0,
        "stock_qty": 4,
        "suggested_qty": 0,
        "reason_kind": ReasonKind.RISING_SALES,
        "reason_data": {"last7": 7, "prev7": 1},
    }
    InsightCard.objects.create(**common, **card_fields)
    accepted = InsightCard.objects.create(
        **{**common, "product": world["products"]["yogurt"]},
        **card_fields,
        accepted_at=timezone.now(),
        accepted_by=UserFactory(),
    )

    run = decisions_run(day=world["today"])

    assert run.stats["counts"]["pruned"] == 2
    assert not DailyListEntry.objects.filter(day=old_day).exists()
    assert list(InsightCard.objects.filter(day=old_day)) == [accepted]


def test_a_store_without_sales_or_members_gets_empty_lists(db: None) -> None:
    from tests.factories import StoreFactory

    store = StoreFactory()
    run = decisions_run(day=timezone.localdate())
    assert run.status == DecisionRun.Status.DONE
    assert (run.stores_done, run.stores_total) == (1, 1)
    assert not DailyListEntry.objects.filter(store=store).exists()
    assert not InsightCard.objects.filter(store=store).exists()
    assert not DemandForecast.objects.filter(store=store).exists()


def _tag_only_world(today: object) -> dict:
    """Region 1: store S sells the new 儿童酸奶条 to its members over the last 14 days, 5 of
    its 6 buyers tagged 有孩家庭 (5 of its 20 members are). Region 2 has no sale of it: store
    T (8 of 25 members tagged, 32%) and store U (20 members tagged 养猫 only). Everyone sells
    milk, so the forecasts have history."""
    import datetime as dt

    from apps.customers.models import MemberTag
    from tests.catalog.decision_fixtures import local_datetime, orders_bulk_create
    from tests.factories import (
        MemberFactory,
        ProductFactory,
        RegionFactory,
        StoreFactory,
        TagFactory,
    )

    store_s = StoreFactory(region=RegionFactory())
    other_region = RegionFactory()
    store_t, store_u = StoreFactory(region=other_region), StoreFactory(region=other_region)
    kids, cats = TagFactory(name="有孩家庭"), TagFactory(name="养猫")
    strips = ProductFactory(name="儿童酸奶条", is_new=True)
    milk = ProductFactory(name="纯牛奶 1L")
    members_s = [MemberFactory(home_store=store_s) for _ in range(20)]
    members_t = [MemberFactory(home_store=store_t) for _ in range(25)]
    members_u = [MemberFactory(home_store=store_u) for _ in range(20)]
    MemberTag.objects.bulk_create(
        [MemberTag(member=m, tag=kids, source="purchase") for m in members_s[:5] + members_t[:8]]
        + [MemberTag(member=m, tag=cats, source="chat") for m in members_u]
    )
    buyers = members_s[:6]  # 5 tagged, 1 not
    baskets, times, who = [], [], []
    for back in range(1, 8):
        day = today - dt.timedelta(days=back * 2)
        for member in buyers:
            baskets.append([strips])
            times.append(local_datetime(day, 18))
            who.append(member)
    orders_bulk_create(store=store_s, baskets=baskets, placed_at=times, members=who)
    for store in (store_s, store_t, store_u):
        orders_bulk_create(
            store=store,
            baskets=[[milk]] * 28,
            placed_at=[local_datetime(today - dt.timedelta(days=back), 9) for back in range(1, 29)],
        )
    return {"stores": (store_s, store_t, store_u), "strips": strips, "today": today}


def test_a_new_product_reaches_a_store_through_its_members_tags_alone(db: None) -> None:
    world = _tag_only_world(timezone.localdate())
    store_s, store_t, store_u = world["stores"]
    strips = world["strips"]

    decisions_run(day=world["today"])

    [entry] = [e for e in _entries(store_t, ListKind.NEW) if e.product_id == strips.pk]
    assert entry.reason_kind == ReasonKind.NEW_TAG_BUYERS
    # 35 units by the 5 tagged buyers / 5 tagged members / 14 days = 0.5 a day per tagged
    # member; T has 8 → 4.0 a day. 5 of 6 buyers carry the tag; 8 of 25 of T's members do.
    assert entry.reason_data == {"tag": "有孩家庭", "buyers": 83, "share": 32, "velocity": 4.0}
    assert entry.score == 4.0
    # Cover = lead time 2 + review 1 days: 12 units + safety 1.645 × √4.0 × √3 = 17.7 → 18.
    assert entry.suggested_qty == 18
    with override("en"):
        assert entry.reason == (
            "New: sells well among members tagged 有孩家庭 (83% of its buyers elsewhere); "
            "32% of your members are tagged 有孩家庭"
        )
    # U's members lack the tag; S's own buyers are no evidence for S.
    assert strips.pk not in [e.product_id for e in _entries(store_u, ListKind.NEW)]
    assert strips.pk not in [e.product_id for e in _entries(store_s, ListKind.NEW)]

    before = _snapshot()
    decisions_run(day=world["today"], force=True)
    assert _snapshot() == before


def test_an_anonymous_only_history_gets_forecasts_lists_and_cards(db: None) -> None:
    """No order has a member (a history of anonymous sales): the whole decisions run works and
    every store gets its forecasts, hot list and a card for a clearly rising product."""
    import datetime as dt

    from tests.catalog.decision_fixtures import local_datetime, orders_bulk_create
    from tests.factories import ProductFactory, RegionFactory, StoreFactory

    today = timezone.localdate()
    store = StoreFactory(region=RegionFactory())
    steady, rising = ProductFactory(name="纯牛奶 1L"), ProductFactory(name="低糖蓝莓 125g")
    baskets, times = [], []
    for back in range(42, 0, -1):
        day = today - dt.timedelta(days=back)
        for number in range(12 if back <= 7 else 3):
            baskets.append([rising, steady] if number < 3 else [rising])
            times.append(local_datetime(day, 9 + number % 10))
    orders_bulk_create(store=store, baskets=baskets, placed_at=times)

    run = decisions_run(day=today)

    assert run.status == DecisionRun.Status.DONE
    assert (run.stores_done, run.stores_total) == (1, 1)
    assert set(DemandForecast.objects.filter(store=store).values_list("product_id", flat=True)) == {
        steady.pk,
        rising.pk,
    }
    assert rising.pk in [e.product_id for e in _entries(store, ListKind.HOT)]
    card = InsightCard.objects.get(store=store)
    assert card.product == rising
    assert card.tags == []
    # Nobody is a member: the rules are computed but none is carried by members.
    assert CoPurchaseRule.objects.filter(store=store).exists()


@pytest.mark.django_db
def test_a_daily_list_entry_is_titled_by_store_day_list_and_rank_in_each_language():
    import datetime as dt

    from tests.factories import ProductFactory, StoreFactory

    entry = DailyListEntry.objects.create(
        store=StoreFactory(code="S010", name="望京店"),
        day=dt.date(2026, 12, 6),
        list_kind=ListKind.NEW,
        product=ProductFactory(),
        rank=8,
        score=1.0,
        velocity=1.0,
        trend=0.0,
        suggested_qty=1,
        reason_kind=ReasonKind.HOT_STEADY,
        reason_data={"velocity": 1.0},
    )
    with override("zh-hans"):
        assert str(entry) == "S010 望京店 · 2026-12-06 · 潜力新品榜第 8 名"
    with override("en"):
        assert str(entry) == "S010 望京店 · 2026-12-06 · Promising new products no. 8"
