"""Member profiles: numbers against a hand-computed case, edge cases, idempotency, the task."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.customers.models import MemberProfile, MemberTag, NpsAnswer, Tag, TagKeyword
from apps.customers.services.profiles import (
    member_profiles_recompute,
    profile_as_of_default,
    tag_defaults_ensure,
)
from apps.customers.tasks import member_profiles_recompute_task
from apps.stores.models import Order, OrderLine
from tests.factories import CategoryFactory, MemberFactory, ProductFactory, StoreFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2026, 11, 27, tzinfo=SHANGHAI)
_keys = count(1)


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def order_place(
    *,
    member: object,
    store: object,
    at: dt.datetime,
    lines: list[tuple[object, int, str, str]],
    status: str = Order.Status.COMPLETED,
) -> Order:
    """lines: (product, quantity, unit price, discount); line_total = qty × price − discount."""
    order = Order.objects.create(
        store=store,
        member=member,
        channel=Order.Channel.POS,
        status=status,
        idempotency_key=f"k{next(_keys)}",
        placed_at=at,
    )
    total = Decimal("0")
    for product, quantity, unit_price, discount in lines:
        line_total = quantity * Decimal(unit_price) - Decimal(discount)
        OrderLine.objects.create(
            order=order,
            product=product,
            quantity=quantity,
            unit_price=Decimal(unit_price),
            discount=Decimal(discount),
            line_total=line_total,
        )
        total += line_total
    Order.objects.filter(pk=order.pk).update(total=total)
    return order


@pytest.fixture
def shop(db: None) -> dict[str, object]:
    fruit = CategoryFactory(name="水果")
    baby = CategoryFactory(name="婴儿辅食")
    dairy = CategoryFactory(name="乳品")
    return {
        "store": StoreFactory(),
        "apple": ProductFactory(category=fruit, price=Decimal("10.00")),
        "baby_food": ProductFactory(category=baby, price=Decimal("30.00")),
        "milk": ProductFactory(category=dairy, price=Decimal("6.00")),
        "fruit": fruit,
        "baby": baby,
        "dairy": dairy,
    }


@pytest.fixture
def hand_case(shop: dict[str, object]) -> dict[str, object]:
    """The case worked out by hand in docs/profiles.md ("A worked example")."""
    store = shop["store"]
    alice = MemberFactory(joined_at=local(2026, 5, 31, 10, 0))
    order_place(
        member=alice,
        store=store,
        at=local(2026, 11, 20, 19, 30),
        lines=[(shop["apple"], 2, "10.00", "0.00"), (shop["baby_food"], 1, "30.00", "5.00")],
    )
    order_place(
        member=alice,
        store=store,
        at=local(2026, 11, 5, 19, 10),
        lines=[(shop["milk"], 3, "6.00", "0.00"), (shop["baby_food"], 1, "30.00", "0.00")],
    )
    order_place(
        member=alice,
        store=store,
        at=local(2026, 10, 10, 8, 15),
        lines=[(shop["baby_food"], 2, "30.00", "6.00")],
    )
    # Outside the 90-day window: ignored by the window figures.
    order_place(
        member=alice,
        store=store,
        at=local(2026, 7, 1, 12, 0),
        lines=[(shop["apple"], 1, "10.00", "0.00")],
    )
    # Cancelled (even the latest one) and after as_of: ignored everywhere.
    order_place(
        member=alice,
        store=store,
        at=local(2026, 11, 25, 9, 0),
        lines=[(shop["apple"], 5, "10.00", "0.00")],
        status=Order.Status.CANCELLED,
    )
    order_place(
        member=alice,
        store=store,
        at=local(2026, 11, 27, 9, 0),
        lines=[(shop["apple"], 5, "10.00", "0.00")],
    )
    NpsAnswer.objects.create(member=alice, store=store, score=6, answered_at=local(2026, 10, 1))
    NpsAnswer.objects.create(member=alice, store=store, score=9, answered_at=local(2026, 11, 22))
    NpsAnswer.objects.create(member=alice, store=store, score=0, answered_at=local(2026, 11, 28))

    bob = MemberFactory(joined_at=local(2024, 1, 1))  # never bought, no NPS
    carol = MemberFactory(joined_at=local(2026, 11, 27, 0, 0))  # joined at as_of
    order_place(
        member=carol,
        store=store,
        at=local(2026, 6, 1, 12, 0),
        lines=[(shop["milk"], 1, "6.00", "0.00")],
    )
    NpsAnswer.objects.create(member=carol, store=store, score=10, answered_at=local(2026, 11, 1))
    erased = MemberFactory(is_erased=True, phone="")
    order_place(
        member=erased,
        store=store,
        at=local(2026, 11, 20, 10, 0),
        lines=[(shop["milk"], 1, "6.00", "0.00")],
    )
    return {"alice": alice, "bob": bob, "carol": carol, "erased": erased}


def _check_hand_case(hand_case: dict[str, object]) -> None:
    alice = MemberProfile.objects.get(member=hand_case["alice"])
    assert alice.recency_days == 7
    assert alice.frequency_90d == 3
    assert alice.spend_90d == Decimal("147.00")
    assert alice.average_basket == Decimal("49.00")
    assert alice.top_categories == [
        {"category": "婴儿辅食", "share": 0.7415},
        {"category": "水果", "share": 0.1361},
        {"category": "乳品", "share": 0.1224},
    ]
    assert alice.price_sensitivity == Decimal("0.5374")
    assert alice.usual_hours == [19, 8]
    assert alice.monthly_repurchase_rate == Decimal("0.6667")
    # 40 × 2/3 + 30 × 180/365 + 30 × 9/10 = 68.4612 → 68.46, level 3 (50 ≤ score < 70)
    assert alice.trust_score == Decimal("68.46")
    assert alice.trust_level == MemberProfile.TrustLevel.REGULAR
    assert alice.computed_at == AS_OF
    # Lifetime: the four counted orders before as_of (1 Jul, 10 Oct, 5 Nov, 20 Nov), the
    # cancelled one and the one at as_of left out: 10.00 + 54.00 + 48.00 + 45.00.
    assert alice.first_purchase_at == local(2026, 7, 1, 12, 0)
    assert alice.last_purchase_at == local(2026, 11, 20, 19, 30)
    assert alice.orders_lifetime == 4
    assert alice.spend_lifetime == Decimal("157.00")

    bob = MemberProfile.objects.get(member=hand_case["bob"])
    assert bob.recency_days is None
    assert bob.frequency_90d == 0
    assert bob.spend_90d == Decimal("0.00")
    assert bob.average_basket == Decimal("0.00")
    assert bob.top_categories == []
    assert bob.price_sensitivity == Decimal("0")
    assert bob.usual_hours == []
    assert bob.monthly_repurchase_rate == Decimal("0")
    # 0 + 30 × 1 (tenure capped at a year) + 30 × 0.5 (no NPS) = 45, level 2
    assert bob.trust_score == Decimal("45.00")
    assert bob.trust_level == MemberProfile.TrustLevel.ACQUAINTED
    assert (bob.first_purchase_at, bob.last_purchase_at) == (None, None)
    assert (bob.orders_lifetime, bob.spend_lifetime) == (0, Decimal("0.00"))

    carol = MemberProfile.objects.get(member=hand_case["carol"])
    assert carol.recency_days == (dt.date(2026, 11, 27) - dt.date(2026, 6, 1)).days == 179
    assert carol.frequency_90d == 0
    assert carol.spend_90d == Decimal("0.00")
    assert carol.top_categories == []
    # 0 + 0 (joined today) + 30 × 10/10 = 30, level 2
    assert carol.trust_score == Decimal("30.00")
    assert carol.trust_level == MemberProfile.TrustLevel.ACQUAINTED
    assert carol.first_purchase_at == carol.last_purchase_at == local(2026, 6, 1, 12, 0)
    assert (carol.orders_lifetime, carol.spend_lifetime) == (1, Decimal("6.00"))

    assert not MemberProfile.objects.filter(member=hand_case["erased"]).exists()


def test_profile_numbers_match_the_hand_computed_case(hand_case: dict[str, object]) -> None:
    stats = member_profiles_recompute(as_of=AS_OF)

    _check_hand_case(hand_case)
    assert stats.members == 3
    assert stats.profiles_written == 3
    assert MemberProfile.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_profile_numbers_on_postgres_copy_path(hand_case: dict[str, object]) -> None:
    member_profiles_recompute(as_of=AS_OF)

    _check_hand_case(hand_case)


def test_recompute_overwrites_an_existing_profile(hand_case: dict[str, object]) -> None:
    MemberProfile.objects.create(
        member=hand_case["bob"], frequency_90d=99, spend_90d=Decimal("999.00"), trust_level=5
    )
    member_profiles_recompute(as_of=AS_OF)

    bob = MemberProfile.objects.get(member=hand_case["bob"])
    assert bob.frequency_90d == 0
    assert bob.spend_90d == Decimal("0.00")
    assert bob.trust_level == MemberProfile.TrustLevel.ACQUAINTED
    assert (bob.first_purchase_at, bob.last_purchase_at) == (None, None)
    assert (bob.orders_lifetime, bob.spend_lifetime) == (0, Decimal("0.00"))


def test_erased_member_loses_profile_and_auto_tags(hand_case: dict[str, object]) -> None:
    erased = hand_case["erased"]
    MemberProfile.objects.create(member=erased, frequency_90d=4)
    tag = Tag.objects.create(name="有孩家庭")
    MemberTag.objects.create(member=erased, tag=tag, source=MemberTag.Source.CHAT, evidence="x")

    stats = member_profiles_recompute(as_of=AS_OF)

    assert not MemberProfile.objects.filter(member=erased).exists()
    assert not MemberTag.objects.filter(member=erased).exists()
    assert stats.profiles_removed == 1
    assert stats.tags_removed == 1


def test_repurchase_windows_are_thirty_day_blocks_before_as_of(
    shop: dict[str, object],
) -> None:
    member = MemberFactory(joined_at=local(2025, 1, 1))
    store = shop["store"]
    # The last block is [as_of − 30 d, as_of): 2026-10-28 00:00 opens it, 2026-10-27 23:59 is
    # in the block before; 2026-08-29 00:00 (as_of − 90 d) opens the first block.
    for moment in (local(2026, 10, 28, 0, 0), local(2026, 10, 27, 23, 59), local(2026, 8, 29)):
        order_place(
            member=member, store=store, at=moment, lines=[(shop["apple"], 1, "10.00", "0.00")]
        )
    order_place(  # just before the 90-day window
        member=member,
        store=store,
        at=local(2026, 8, 28, 23, 59),
        lines=[(shop["apple"], 1, "10.00", "0.00")],
    )

    member_profiles_recompute(as_of=AS_OF)

    profile = MemberProfile.objects.get(member=member)
    assert profile.frequency_90d == 3
    assert profile.monthly_repurchase_rate == Decimal("1.0000")
    # 40 + 30 + 15 = 85 → level 5
    assert profile.trust_score == Decimal("85.00")
    assert profile.trust_level == MemberProfile.TrustLevel.CHAMPION


def test_usual_hours_break_ties_by_earlier_hour_and_use_local_time(
    shop: dict[str, object],
) -> None:
    member = MemberFactory()
    store = shop["store"]
    for moment in (local(2026, 11, 1, 21, 5), local(2026, 11, 2, 7, 0), local(2026, 11, 3, 9, 0)):
        order_place(
            member=member, store=store, at=moment, lines=[(shop["apple"], 1, "10.00", "0.00")]
        )

    member_profiles_recompute(as_of=AS_OF)

    assert MemberProfile.objects.get(member=member).usual_hours == [7, 9]


def test_default_as_of_is_local_midnight_today() -> None:
    as_of = profile_as_of_default()

    assert as_of.tzinfo is not None
    assert as_of.astimezone(SHANGHAI).time() == dt.time(0, 0)
    assert as_of.astimezone(SHANGHAI).date() == timezone.localdate()


def test_naive_as_of_is_refused(db: None) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        member_profiles_recompute(as_of=dt.datetime(2026, 11, 27))  # noqa: DTZ001

    assert MemberProfile.objects.count() == 0


def _snapshot() -> tuple[list[tuple], list[tuple]]:
    profiles = list(
        MemberProfile.objects.order_by("member_id").values_list(
            "pk",
            "member_id",
            "recency_days",
            "frequency_90d",
            "spend_90d",
            "average_basket",
            "top_categories",
            "price_sensitivity",
            "usual_hours",
            "monthly_repurchase_rate",
            "trust_score",
            "trust_level",
            "computed_at",
        )
    )
    tags = list(
        MemberTag.objects.order_by("pk").values_list(
            "pk", "member_id", "tag_id", "source", "evidence", "evidence_facts", "created_at"
        )
    )
    return profiles, tags


def test_task_twice_leaves_identical_rows(hand_case: dict[str, object], settings: object) -> None:
    settings.LANGUAGE_CODE = "en"
    tag_defaults_ensure()
    from apps.customers.models import CommunityMessage

    CommunityMessage.objects.create(
        store=StoreFactory(),
        group_name="邻里群",
        member=hand_case["alice"],
        text="宝宝最近不爱吃辅食",
        sent_at=local(2026, 11, 20, 8, 0),
    )

    first = member_profiles_recompute_task(as_of=AS_OF.isoformat())
    snapshot = _snapshot()
    second = member_profiles_recompute_task(as_of=AS_OF.isoformat())

    assert _snapshot() == snapshot
    assert len(snapshot[0]) == 3
    assert len(snapshot[1]) == 1
    assert first["tags_created"] == 1
    assert second["tags_created"] == 0
    assert second["tags_replaced"] == 0
    assert second["tags_removed"] == 0
    assert second["profiles_written"] == 3


def test_task_without_as_of_uses_local_midnight(hand_case: dict[str, object]) -> None:
    result = member_profiles_recompute_task()

    assert result["as_of"] == profile_as_of_default().isoformat()
    assert MemberProfile.objects.filter(computed_at=profile_as_of_default()).count() == 3


def test_tag_defaults_ensure_is_idempotent_and_keeps_edits(db: None) -> None:
    created = tag_defaults_ensure()
    TagKeyword.objects.filter(keyword="跑步").delete()
    TagKeyword.objects.create(tag=Tag.objects.get(name="健身人群"), keyword="瑜伽")

    again = tag_defaults_ensure()

    assert created == 14
    assert again == 1  # only the deleted default comes back
    assert set(Tag.objects.values_list("name", flat=True)) == {"有孩家庭", "健身人群", "宠物主人"}
    assert TagKeyword.objects.filter(keyword="瑜伽").exists()
    assert TagKeyword.objects.count() == 15


def test_nightly_schedule_is_declared() -> None:
    from linli.schedules import SCHEDULES

    declared = [
        s for s in SCHEDULES if s.task == "apps.customers.tasks.member_profiles_recompute_task"
    ]

    assert [(s.hour, s.minute, s.day_of_week) for s in declared] == [("2", "30", "*")]


@pytest.mark.django_db
def test_a_profile_is_titled_by_its_member_as_every_viewer_may_see_it() -> None:
    from django.utils import translation

    profile = MemberProfile.objects.create(member=MemberFactory(member_no="M0002000"))
    with translation.override("zh-hans"):
        assert str(profile) == "会员2000的画像"
    with translation.override("en"):
        assert str(profile) == "Profile of Member 2000"
