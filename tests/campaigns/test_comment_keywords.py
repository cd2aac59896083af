"""Keyword summary and talking points from broadcast comments
(apps/campaigns/analytics/comments.py), on a known comment set."""

from __future__ import annotations

from decimal import Decimal

from apps.campaigns.analytics.comments import (
    ARRIVAL,
    HOW_TO_BUY,
    MENTION,
    PRICE,
    STOCK,
    TASTE,
    ProductFacts,
    TalkingPoint,
    keyword_summary,
    name_words,
    question_intents,
    talking_points,
)

COMMENTS = [
    "蓝莓甜不甜？",
    "蓝莓多少钱一盒",
    "怎么买啊",
    "西瓜什么时候到",
    "蓝莓上次买的很新鲜",
    "西瓜还有吗",
    "主播好",
    "蓝莓甜吗",
]
BLUEBERRY = ProductFacts(
    product_id=1,
    name="云南蓝莓 125g×4盒",
    selling_points=("颗颗饱满", "甜度高，现摘直发"),
    price=Decimal("19.90"),
    regular_price=Decimal("25.00"),
    stock=30,
    units_joined=4,
    threshold=10,
    progress=4,
    cap=40,
)
WATERMELON = ProductFacts(
    product_id=2,
    name="麒麟西瓜",
    selling_points=("沙瓤",),
    price=Decimal("29.90"),
    stock=5,
    units_joined=18,
    threshold=5,
    progress=18,
    cap=20,
)
LYCHEE = ProductFacts(product_id=3, name="妃子笑荔枝", selling_points=("当天空运",), threshold=5)


def test_keywords_count_each_comment_once_without_stopwords_units_or_question_words():
    summary = keyword_summary(
        [*COMMENTS, "蓝莓蓝莓蓝莓"], product_names=[BLUEBERRY.name, WATERMELON.name]
    )

    assert summary == [("蓝莓", 5), ("西瓜", 2), ("上次", 1), ("新鲜", 1)]


def test_keywords_are_cut_at_most_top():
    assert keyword_summary(COMMENTS, top=1) == [("蓝莓", 4)]


def test_keywords_of_no_comments_are_empty():
    assert keyword_summary([]) == []


def test_name_words_are_how_viewers_name_a_product():
    assert name_words("云南蓝莓 125g×4盒") == ("云南蓝莓 125g×4盒", "云南", "蓝莓")
    assert name_words("麒麟西瓜") == ("麒麟西瓜", "麒麟", "西瓜")


def test_question_intents_are_found_by_phrase():
    assert question_intents("蓝莓甜不甜，多少钱") == [TASTE, PRICE]
    assert question_intents("怎么下单？几号到？还有货吗") == [HOW_TO_BUY, ARRIVAL, STOCK]
    assert question_intents("主播好") == []


def test_talking_points_answer_questions_per_product_most_asked_first():
    points = talking_points(COMMENTS, [BLUEBERRY, WATERMELON, LYCHEE])

    assert [(p.product_id, p.intent, p.count) for p in points] == [
        (1, TASTE, 2),
        (1, PRICE, 1),
        (2, ARRIVAL, 1),
        (2, STOCK, 1),
        # "怎么买啊" names no product: it counts toward none.
    ]
    taste, price, _arrival, stock = points
    assert taste.facts["selling_point"] == "甜度高，现摘直发"  # the one about taste
    assert (price.facts["price"], price.facts["regular_price"]) == (
        Decimal("19.90"),
        Decimal("25.00"),
    )
    assert (stock.facts["left_under_cap"], stock.facts["stock"]) == (2, 5)


def test_a_mentioned_product_nobody_asked_about_gets_its_selling_point():
    points = talking_points(["荔枝看起来不错", "荔枝荔枝"], [BLUEBERRY, LYCHEE])

    assert points == [
        TalkingPoint(
            product_id=3,
            product_name="妃子笑荔枝",
            intent=MENTION,
            count=2,
            facts={
                "price": None,
                "regular_price": None,
                "stock": None,
                "presale": False,
                "remaining_to_threshold": 5,
                "threshold_counts_units": True,
                "left_under_cap": 0,
                "selling_point": "当天空运",
            },
        )
    ]


def test_questions_without_any_mention_count_toward_no_product():
    assert talking_points(["多少钱？", "还有吗"], [WATERMELON, BLUEBERRY]) == []


def test_a_question_about_a_product_not_on_offer_counts_toward_no_offered_product():
    # Only blueberries are offered; "西瓜好吃吗" asks about watermelon (a product of the
    # catalogue), not about them.
    points = talking_points(
        ["西瓜好吃吗", "蓝莓甜不甜"], [BLUEBERRY], other_names=["麒麟西瓜", "新鲜鸡蛋 10枚"]
    )

    assert [(p.product_id, p.intent, p.count) for p in points] == [(1, TASTE, 1)]


def test_with_one_product_offered_a_question_naming_none_is_about_it():
    comments = ["多少钱一盒", "怎么接龙？", "什么时候到货", "新鲜吗", "蓝莓甜不甜", "西瓜还有吗"]
    points = talking_points(comments, [BLUEBERRY], other_names=["麒麟西瓜", "新鲜鸡蛋 10枚"])

    # 新鲜 of 新鲜鸡蛋 does not make "新鲜吗" a question about eggs; 西瓜 is another product.
    assert sorted((p.intent, p.count) for p in points) == sorted(
        [(TASTE, 2), (PRICE, 1), (HOW_TO_BUY, 1), (ARRIVAL, 1)]
    )
    assert {p.product_id for p in points} == {1}


def test_a_question_counts_toward_the_fruit_it_names_when_both_are_offered():
    points = talking_points(["西瓜好吃吗", "蓝莓甜不甜", "西瓜甜吗"], [BLUEBERRY, WATERMELON])

    assert [(p.product_id, p.intent, p.count) for p in points] == [(2, TASTE, 2), (1, TASTE, 1)]


def test_no_products_no_talking_points():
    assert talking_points(COMMENTS, []) == []


def test_talking_points_are_cut_at_the_limit():
    assert len(talking_points(COMMENTS, [BLUEBERRY, WATERMELON], limit=2)) == 2
