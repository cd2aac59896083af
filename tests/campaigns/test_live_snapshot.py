"""The live dashboard's snapshot and HQ overview (apps/campaigns/selectors/live.py): figures
against a plain reference computation over the rows the test made, and a query count that does
not grow with offers, joins or comments."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from apps.campaigns.models import Broadcast, GroupBuyJoin, GroupBuyOffer
from apps.campaigns.selectors.live import broadcast_snapshot, live_overview
from apps.campaigns.views.live import page_labels
from apps.customers.services.erasure import member_erase
from tests.campaigns.factories import (
    BroadcastCommentFactory,
    BroadcastFactory,
    GroupBuyJoinFactory,
    GroupBuyOfferFactory,
)
from tests.factories import MemberFactory, ProductFactory, StockLevelFactory

pytestmark = pytest.mark.django_db

JOINS = [  # (offer index, quantity, status)
    (0, 2, GroupBuyJoin.Status.JOINED),
    (0, 3, GroupBuyJoin.Status.CONFIRMED),
    (0, 5, GroupBuyJoin.Status.CANCELLED),
    (1, 1, GroupBuyJoin.Status.JOINED),
    (1, 4, GroupBuyJoin.Status.JOINED),
    (2, 7, GroupBuyJoin.Status.JOINED),
]


def _live_broadcast(**kwargs: object) -> Broadcast:
    return BroadcastFactory(
        status=Broadcast.Status.LIVE, started_at=timezone.now() - dt.timedelta(minutes=5), **kwargs
    )


def _offers(broadcast: Broadcast) -> list[GroupBuyOffer]:
    blueberry = ProductFactory(name="云南蓝莓", selling_points="甜度高，现摘直发\n颗颗饱满")
    watermelon = ProductFactory(name="麒麟西瓜", selling_points="沙瓤多汁")
    return [
        GroupBuyOfferFactory(broadcast=broadcast, product=blueberry, price=Decimal("19.90")),
        GroupBuyOfferFactory(
            broadcast=broadcast,
            product=watermelon,
            price=Decimal("29.90"),
            threshold=3,
            threshold_kind=GroupBuyOffer.ThresholdKind.PARTICIPANTS,
        ),
        # A second offer of the same product (another price): units add up per product. One
        # offer of a product is open at a time in a broadcast (`offer_one_open_per_product`):
        # this one is settled (not formed, so not reached), its joins still counted here.
        GroupBuyOfferFactory(
            broadcast=broadcast,
            product=blueberry,
            price=Decimal("17.50"),
            status=GroupBuyOffer.Status.FAILED,
            settled_at=timezone.now(),
        ),
    ]


def _join_all(offers: list[GroupBuyOffer]) -> None:
    for index, quantity, status in JOINS:
        GroupBuyJoinFactory(offer=offers[index], quantity=quantity, status=status)
    for offer in offers:  # as the join service keeps them (cancelled joins do not count)
        kept = [q for i, q, s in JOINS if offers[i] == offer and s != GroupBuyJoin.Status.CANCELLED]
        GroupBuyOffer.objects.filter(pk=offer.pk).update(
            units_joined=sum(kept), participants=len(kept)
        )


def test_snapshot_figures_equal_a_reference_computation() -> None:
    broadcast = _live_broadcast(viewers=12, peak_viewers=30, viewers_reported_at=timezone.now())
    offers = _offers(broadcast)
    _join_all(offers)
    GroupBuyJoinFactory(offer=GroupBuyOfferFactory(), quantity=9)  # another broadcast's
    StockLevelFactory(store=broadcast.store, product=offers[0].product, on_hand=55)

    snapshot = broadcast_snapshot(broadcast=broadcast, version=7)

    kept = [(i, q) for i, q, s in JOINS if s != GroupBuyJoin.Status.CANCELLED]
    assert snapshot["version"] == 7
    assert snapshot["status"] == "live"
    assert snapshot["orders"] == len(kept) == 5
    assert snapshot["units"] == sum(q for _i, q in kept) == 17
    expected_value = sum((offers[i].price * q for i, q in kept), Decimal("0"))
    assert snapshot["joined_value"] == str(expected_value) == "371.50"
    assert snapshot["joined_value_reached"] == "0.00"  # no offer at its threshold
    assert snapshot["units_by_product"] == [
        {"product_id": offers[0].product_id, "name": "云南蓝莓", "units": 12},
        {"product_id": offers[1].product_id, "name": "麒麟西瓜", "units": 5},
    ]
    by_offer = {row["id"]: row for row in snapshot["offers"]}
    assert [row["id"] for row in snapshot["offers"]] == [offer.pk for offer in offers]
    first, second, third = (by_offer[offer.pk] for offer in offers)
    assert (first["progress"], first["threshold"], first["progress_percent"]) == (5, 10, 50)
    assert (first["units_joined"], first["cap"], first["cap_percent"]) == (5, 40, 12)
    assert first["reached"] is False
    # Counted by participants: 2 of 3.
    assert (second["progress"], second["progress_percent"], second["reached"]) == (2, 67, False)
    assert (third["progress"], third["reached"], third["orders"]) == (7, False, 1)
    assert (snapshot["viewers"], snapshot["peak_viewers"]) == (12, 30)


def test_snapshot_lists_the_latest_twenty_comments_newest_first_with_keywords() -> None:
    broadcast = _live_broadcast()
    _offers(broadcast)
    start = timezone.now() - dt.timedelta(minutes=30)
    for minute in range(25):
        BroadcastCommentFactory(
            broadcast=broadcast,
            text=f"蓝莓甜不甜 {minute}",
            created_at=start + dt.timedelta(minutes=minute),
        )
    BroadcastCommentFactory(broadcast=BroadcastFactory(), text="别的直播 西瓜")

    snapshot = broadcast_snapshot(broadcast=broadcast)

    assert len(snapshot["comments"]) == 20
    assert [c["text"] for c in snapshot["comments"][:2]] == ["蓝莓甜不甜 24", "蓝莓甜不甜 23"]
    assert snapshot["keywords"][0] == {"word": "蓝莓", "count": 25}
    assert "西瓜" not in [keyword["word"] for keyword in snapshot["keywords"]]


def test_a_phone_number_in_a_comment_is_masked_on_the_live_screen() -> None:
    """Clerks and a screen in the shop see the live comments: a member's phone typed into a
    comment, or used as their chat name, is masked there, in the keywords and in the talking
    points."""
    broadcast = _live_broadcast()
    _offers(broadcast)
    BroadcastCommentFactory(
        broadcast=broadcast, author="13900001234", text="蓝莓 2 份 送货打13812345678"
    )

    snapshot = broadcast_snapshot(broadcast=broadcast)

    assert [c["text"] for c in snapshot["comments"]] == ["蓝莓 2 份 送货打138****5678"]
    assert [c["author"] for c in snapshot["comments"]] == ["139****1234"]
    assert "13812345678" not in json.dumps(snapshot, cls=DjangoJSONEncoder, ensure_ascii=False)


def test_an_erased_members_comments_are_neither_listed_nor_keywords() -> None:
    broadcast = _live_broadcast()
    _offers(broadcast)
    erased = MemberFactory()
    for _ in range(3):
        BroadcastCommentFactory(broadcast=broadcast, member=erased, text="蓝莓甜吗 我要两盒")
    BroadcastCommentFactory(broadcast=broadcast, member=MemberFactory(), text="西瓜甜吗")
    BroadcastCommentFactory(broadcast=broadcast, member=None, text="西瓜还有吗")
    member_erase(member=erased, by=None)

    snapshot = broadcast_snapshot(broadcast=broadcast)

    assert [c["text"] for c in snapshot["comments"]] == ["西瓜还有吗", "西瓜甜吗"]
    assert [k["word"] for k in snapshot["keywords"]][0] == "西瓜"
    assert "erased" not in [k["word"] for k in snapshot["keywords"]]


def _written(point: dict, language: str) -> str:
    """A talking point as the page writes it (static/linli/live-dashboard.js fills the same
    `%(name)s` formats from the page's labels), in `language`."""
    with translation.override(language):
        labels = page_labels()
    text = labels["talkingPoints"][point["message"]] % point["args"]
    if point["remaining"]:
        text += labels["talkingPointRemaining"] % {"remaining": point["remaining"]}
    return text


def _asked(broadcast: Broadcast) -> None:
    BroadcastCommentFactory(broadcast=broadcast, text="蓝莓甜不甜？")
    BroadcastCommentFactory(broadcast=broadcast, text="蓝莓甜吗")
    BroadcastCommentFactory(broadcast=broadcast, text="西瓜多少钱")


def test_snapshot_talking_point_answers_a_taste_question_from_the_selling_points() -> None:
    broadcast = _live_broadcast()
    offers = _offers(broadcast)
    _asked(broadcast)

    snapshot = broadcast_snapshot(broadcast=broadcast)

    assert snapshot["talking_points"] == [
        {
            "product_id": offers[0].product_id,
            "product_name": "云南蓝莓",
            "intent": "taste",
            "count": 2,
            "message": "selling_point",
            "args": {"name": "云南蓝莓", "point": "甜度高，现摘直发"},
            "remaining": 0,
        },
        {
            "product_id": offers[1].product_id,
            "product_name": "麒麟西瓜",
            "intent": "price",
            "count": 1,
            "message": "price_regular",
            "args": {"name": "麒麟西瓜", "price": "29.90", "regular": "10.00"},
            "remaining": 0,
        },
    ]
    assert [_written(point, "en") for point in snapshot["talking_points"]] == [
        "云南蓝莓: 甜度高，现摘直发",
        "麒麟西瓜 is 29.90 yuan in this group buy (usually 10.00 yuan).",
    ]


def test_chinese_talking_points_use_chinese_punctuation() -> None:
    broadcast = _live_broadcast()
    _offers(broadcast)
    _asked(broadcast)

    snapshot = broadcast_snapshot(broadcast=broadcast)

    assert [_written(point, "zh-hans") for point in snapshot["talking_points"]] == [
        "云南蓝莓：甜度高，现摘直发",
        "麒麟西瓜 本次团购价 29.90 元（平时 10.00 元）。",
    ]


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def test_the_snapshot_is_the_same_in_every_language_and_carries_no_words() -> None:
    """One snapshot goes to every viewer (the websocket has no language): computing it in
    Chinese or in English gives the same one, and its statuses and talking points are codes and
    values — with English product data, not one Chinese character outside the comments."""
    broadcast = _live_broadcast()
    product = ProductFactory(name="Blueberry", selling_points="Picked this morning")
    GroupBuyOfferFactory(
        broadcast=broadcast,
        product=product,
        status=GroupBuyOffer.Status.FAILED,
        settled_at=timezone.now(),
    )
    GroupBuyOfferFactory(broadcast=broadcast, product=product, units_joined=10)
    # Read newest first: the arrival question is the first talking point.
    for text in ("Blueberry多少钱", "Blueberry还有吗", "Blueberry怎么买", "Blueberry几号到"):
        BroadcastCommentFactory(broadcast=broadcast, text=text)
    quiet = _live_broadcast()
    GroupBuyOfferFactory(broadcast=quiet, product=product, threshold=10, units_joined=4)
    BroadcastCommentFactory(broadcast=quiet, text="Blueberry")

    with translation.override("zh-hans"):
        chinese = broadcast_snapshot(broadcast=broadcast)
        chinese_quiet = broadcast_snapshot(broadcast=quiet)
    with translation.override("en"):
        english = broadcast_snapshot(broadcast=broadcast)

    assert chinese == english
    assert "status_label" not in chinese
    assert [offer["status"] for offer in chinese["offers"]] == ["failed", "open"]
    assert all("status_label" not in offer for offer in chinese["offers"])
    assert [point["message"] for point in chinese["talking_points"]] == [
        "arrival",
        "how_to_buy",
        "stock",
        "price_regular",
    ]
    assert [(p["message"], p["remaining"]) for p in chinese_quiet["talking_points"]] == [
        ("selling_point", 6)
    ]
    words = {key: value for key, value in chinese.items() if key not in {"comments", "keywords"}}
    assert not CJK.search(
        json.dumps([words, chinese_quiet["talking_points"]], cls=DjangoJSONEncoder)
    )
    assert [_written(point, "en") for point in chinese["talking_points"]] == [
        "Blueberry: the group forms at the threshold, then it arrives for pickup at the store.",
        "To buy Blueberry: join the group buy in the mini-program or add a line to the "
        "group-buy chat.",
        "Blueberry: 30 left in this group buy, — in store.",
        "Blueberry is 19.90 yuan in this group buy (usually 10.00 yuan).",
    ]
    assert [_written(point, "zh-hans") for point in chinese["talking_points"]] == [
        "Blueberry：成团后到货，到门店自提。",
        "购买Blueberry：在小程序参团，或在群里接龙。",
        "Blueberry：本团还剩 30 份，门店库存 —。",
        "Blueberry 本次团购价 19.90 元（平时 10.00 元）。",
    ]
    [mention] = chinese_quiet["talking_points"]
    assert _written(mention, "en") == "Blueberry: Picked this morning — 6 more to form the group."
    assert _written(mention, "zh-hans") == "Blueberry：Picked this morning —— 还差 6 即可成团。"


def test_snapshot_counts_a_question_only_toward_the_offered_product_it_names() -> None:
    # The walkthrough's case: only blueberries are offered, a viewer asks about watermelon,
    # which the catalogue sells.
    ProductFactory(name="8424西瓜 约5kg")
    broadcast = _live_broadcast()
    blueberry = GroupBuyOfferFactory(
        broadcast=broadcast, product=ProductFactory(name="低糖蓝莓（云南蓝莓）125g")
    )
    BroadcastCommentFactory(broadcast=broadcast, text="蓝莓甜不甜？")
    BroadcastCommentFactory(broadcast=broadcast, text="西瓜好吃吗")
    # Naming no product, while only blueberries are offered: about them.
    BroadcastCommentFactory(broadcast=broadcast, text="多少钱一盒")

    snapshot = broadcast_snapshot(broadcast=broadcast)

    assert sorted(
        (p["product_id"], p["intent"], p["count"]) for p in snapshot["talking_points"]
    ) == [(blueberry.product_id, "price", 1), (blueberry.product_id, "taste", 1)]


def _queries(broadcast: Broadcast) -> int:
    broadcast = Broadcast.objects.select_related("store").get(pk=broadcast.pk)
    with CaptureQueriesContext(connection) as captured:
        broadcast_snapshot(broadcast=broadcast)
    return len(captured)


def test_snapshot_query_count_does_not_grow_with_offers_joins_and_comments() -> None:
    single = _live_broadcast()
    GroupBuyJoinFactory(offer=GroupBuyOfferFactory(broadcast=single), quantity=1)
    small = _live_broadcast()
    GroupBuyJoinFactory(offer=GroupBuyOfferFactory(broadcast=small), quantity=1)
    GroupBuyOfferFactory(broadcast=small)
    BroadcastCommentFactory(broadcast=small)
    big = _live_broadcast()
    for offer in _offers(big):
        for _ in range(4):
            GroupBuyJoinFactory(offer=offer, quantity=2)
    for _ in range(30):
        BroadcastCommentFactory(broadcast=big)

    # offers, join figures, stock, knowledge-base selling points, comments (store preloaded)
    assert _queries(small) == _queries(big) == 5
    # With one product offered, also the catalogue's other names (see talking_points).
    assert _queries(single) == 6


def test_overview_lists_only_live_broadcasts_with_their_headline_figures() -> None:
    live = _live_broadcast(viewers=8, viewers_reported_at=timezone.now())
    offers = _offers(live)
    _join_all(offers)
    other_live = _live_broadcast(viewers=3, viewers_reported_at=timezone.now())
    GroupBuyJoinFactory(
        offer=GroupBuyOfferFactory(broadcast=other_live, price=Decimal("10.00")), quantity=2
    )
    BroadcastFactory()  # scheduled
    BroadcastFactory(
        status=Broadcast.Status.ENDED,
        started_at=timezone.now() - dt.timedelta(hours=2),
        ended_at=timezone.now() - dt.timedelta(hours=1),
    )

    with CaptureQueriesContext(connection) as captured:
        overview = live_overview(stores=None, version=3)

    assert len(captured) == 3
    assert overview["version"] == 3
    rows = {row["broadcast_id"]: row for row in overview["broadcasts"]}
    assert set(rows) == {live.pk, other_live.pk}
    assert (
        rows[live.pk]["orders"],
        rows[live.pk]["joined_value"],
        rows[live.pk]["viewers"],
    ) == (5, "371.50", 8)
    assert (rows[other_live.pk]["orders"], rows[other_live.pk]["joined_value"]) == (1, "20.00")
    assert overview["totals"] == {
        "broadcasts": 2,
        "orders": 6,
        "joined_value": "391.50",
        "joined_value_reached": "0.00",
        "viewers": 11,
        "viewers_stale": 0,
    }


def test_overview_for_some_stores_leaves_the_others_out() -> None:
    live = _live_broadcast()
    _live_broadcast()

    overview = live_overview(stores=type(live.store).objects.filter(pk=live.store_id))

    assert [row["broadcast_id"] for row in overview["broadcasts"]] == [live.pk]


def test_a_pre_order_answers_the_stock_question_with_what_is_left_not_the_shelf() -> None:
    """A pre-order (以销定产) sells what the supplier will bring: "还有吗" is answered with
    what is left under the cap, and the store's empty shelf is not mentioned."""
    broadcast = _live_broadcast()
    product = ProductFactory(name="云南蓝莓")
    StockLevelFactory(store=broadcast.store, product=product, on_hand=0)
    GroupBuyOfferFactory(broadcast=broadcast, product=product, presale=True, units_joined=12)
    BroadcastCommentFactory(broadcast=broadcast, text="蓝莓还有吗")

    snapshot = broadcast_snapshot(broadcast=broadcast)

    (point,) = [p for p in snapshot["talking_points"] if p["intent"] == "stock"]
    assert point["message"] == "stock_presale"
    assert point["args"] == {"name": "云南蓝莓", "left": 28}
    assert _written(point, "en") == (
        "云南蓝莓: 28 left in this group buy; a pre-order, the supplier brings what is sold."
    )
    assert "库存" not in _written(point, "zh-hans")


def _at_threshold(
    broadcast: Broadcast, *, status: str = GroupBuyOffer.Status.OPEN
) -> GroupBuyOffer:
    offer = GroupBuyOfferFactory(
        broadcast=broadcast,
        price=Decimal("10.00"),
        threshold=3,
        cap=10,
        status=status,
        settled_at=None if status == GroupBuyOffer.Status.OPEN else timezone.now(),
    )
    GroupBuyJoinFactory(offer=offer, quantity=3)
    GroupBuyOffer.objects.filter(pk=offer.pk).update(units_joined=3, participants=1)
    return offer


def test_an_open_offer_at_its_threshold_is_reached_not_formed_and_its_value_is_split() -> None:
    broadcast = _live_broadcast()
    short = GroupBuyOfferFactory(broadcast=broadcast, price=Decimal("5.00"), threshold=10)
    GroupBuyJoinFactory(offer=short, quantity=2)
    GroupBuyOffer.objects.filter(pk=short.pk).update(units_joined=2, participants=1)
    reached = _at_threshold(broadcast)
    settled = _at_threshold(broadcast, status=GroupBuyOffer.Status.FORMED)

    snapshot = broadcast_snapshot(broadcast=broadcast)

    rows = {row["id"]: row for row in snapshot["offers"]}
    assert (rows[short.pk]["status"], rows[short.pk]["reached"]) == ("open", False)
    # At its threshold but not settled: it forms at the deadline, it has not formed.
    assert (rows[reached.pk]["status"], rows[reached.pk]["reached"]) == ("open", True)
    assert (rows[settled.pk]["status"], rows[settled.pk]["reached"]) == ("formed", True)
    assert "formed" not in rows[reached.pk]
    # Joined value: every join not cancelled; the part at threshold: the two 3 × 10.00 offers.
    assert (snapshot["joined_value"], snapshot["joined_value_reached"]) == ("70.00", "60.00")

    overview = live_overview(stores=None)
    (row,) = overview["broadcasts"]
    assert (row["offers"], row["offers_reached"]) == (3, 2)
    assert (row["joined_value"], row["joined_value_reached"]) == ("70.00", "60.00")
    assert "offers_formed" not in row


def test_a_formed_offer_says_whether_it_was_a_pre_order() -> None:
    """The page words a formed stock offer "sold, ready for pickup" and a formed pre-order
    "formed" (its goods are still to come): the snapshot carries which it is, as a flag."""
    broadcast = _live_broadcast()
    from_stock = _at_threshold(broadcast, status=GroupBuyOffer.Status.FORMED)
    pre_order = _at_threshold(broadcast, status=GroupBuyOffer.Status.FORMED)
    GroupBuyOffer.objects.filter(pk=pre_order.pk).update(presale=True)

    rows = {row["id"]: row for row in broadcast_snapshot(broadcast=broadcast)["offers"]}

    assert (rows[from_stock.pk]["status"], rows[from_stock.pk]["presale"]) == ("formed", False)
    assert (rows[pre_order.pk]["status"], rows[pre_order.pk]["presale"]) == ("formed", True)


def test_viewers_are_unknown_until_the_platform_reports_them() -> None:
    unreported = _live_broadcast()
    reported = _live_broadcast(viewers=0, peak_viewers=25, viewers_reported_at=timezone.now())

    before = broadcast_snapshot(broadcast=unreported)
    assert (before["viewers"], before["peak_viewers"]) == (None, None)
    snapshot = broadcast_snapshot(broadcast=reported)
    assert (snapshot["viewers"], snapshot["peak_viewers"]) == (0, 25)  # a reported 0 is a 0

    overview = live_overview(stores=None)
    rows = {row["broadcast_id"]: row["viewers"] for row in overview["broadcasts"]}
    assert rows == {unreported.pk: None, reported.pk: 0}
    assert overview["totals"]["viewers"] == 0  # the sum of those that reported

    Broadcast.objects.filter(pk=reported.pk).update(viewers_reported_at=None)
    assert live_overview(stores=None)["totals"]["viewers"] is None


def test_a_viewers_report_older_than_the_threshold_is_stale(settings) -> None:
    """The platform stopped reporting: the snapshot says when the count was reported and,
    once that is longer ago than LIVE_VIEWERS_STALE_SECONDS, that it is stale."""
    settings.LIVE_VIEWERS_STALE_SECONDS = 300
    now = timezone.now()
    fresh = _live_broadcast(viewers=8, peak_viewers=9, viewers_reported_at=now)
    old = now - dt.timedelta(minutes=6)
    dead = _live_broadcast(viewers=40, peak_viewers=52, viewers_reported_at=old)

    snapshot = broadcast_snapshot(broadcast=fresh)
    assert (snapshot["viewers"], snapshot["viewers_stale"]) == (8, False)
    assert snapshot["viewers_reported_at"] == now.isoformat()
    assert snapshot["viewers_stale_after"] == 300
    snapshot = broadcast_snapshot(broadcast=dead)
    # The last count stays (it is what was reported), flagged as stale.
    assert (snapshot["viewers"], snapshot["peak_viewers"], snapshot["viewers_stale"]) == (
        40,
        52,
        True,
    )
    assert snapshot["viewers_reported_at"] == old.isoformat()

    # The threshold is a setting.
    settings.LIVE_VIEWERS_STALE_SECONDS = 600
    assert broadcast_snapshot(broadcast=dead)["viewers_stale"] is False
    settings.LIVE_VIEWERS_STALE_SECONDS = 300

    # Before a first report nothing is stale (the count is unknown, "—"); an ended
    # broadcast's count is not a live figure.
    unknown = _live_broadcast()
    assert broadcast_snapshot(broadcast=unknown)["viewers_stale"] is False
    assert broadcast_snapshot(broadcast=unknown)["viewers_reported_at"] is None
    Broadcast.objects.filter(pk=dead.pk).update(
        status=Broadcast.Status.ENDED, ended_at=timezone.now(), viewers=0
    )
    dead.refresh_from_db()
    assert broadcast_snapshot(broadcast=dead)["viewers_stale"] is False


def test_the_overview_flags_stale_rows_and_leaves_them_out_of_the_total(settings) -> None:
    settings.LIVE_VIEWERS_STALE_SECONDS = 300
    now = timezone.now()
    fresh = _live_broadcast(viewers=8, viewers_reported_at=now)
    dead = _live_broadcast(viewers=40, viewers_reported_at=now - dt.timedelta(minutes=6))

    overview = live_overview(stores=None)

    rows = {row["broadcast_id"]: row for row in overview["broadcasts"]}
    assert (rows[fresh.pk]["viewers"], rows[fresh.pk]["viewers_stale"]) == (8, False)
    assert (rows[dead.pk]["viewers"], rows[dead.pk]["viewers_stale"]) == (40, True)
    assert rows[dead.pk]["viewers_reported_at"] is not None
    # The total counts current reports only: 8, not 48.
    assert (overview["totals"]["viewers"], overview["totals"]["viewers_stale"]) == (8, 1)
    assert overview["viewers_stale_after"] == 300
    Broadcast.objects.filter(pk=fresh.pk).update(viewers_reported_at=now - dt.timedelta(hours=1))
    assert live_overview(stores=None)["totals"]["viewers"] is None
