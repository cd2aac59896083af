"""Scene tags: jieba segmentation of chat text, keyword and purchase rules, evidence, and the
rule that a recompute replaces automatic tags but never touches manual or imported ones."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from django.utils import translation

from apps.customers.analytics import tagging
from apps.customers.models import CommunityMessage, MemberTag, Tag, TagCategoryRule, TagKeyword
from apps.customers.services.profiles import member_profiles_recompute, tag_defaults_ensure
from tests.customers.test_profiles import AS_OF, local, order_place
from tests.factories import (
    CategoryFactory,
    MemberFactory,
    ProductFactory,
    StoreFactory,
    UserFactory,
)

DEFAULT_KEYWORDS = ["孩子", "宝宝", "辅食", "健身", "减脂", "蛋白", "猫粮", "狗粮"]


# --- pure functions --------------------------------------------------------------------------


def test_jieba_segments_keywords_as_words() -> None:
    tokenizer = tagging.tokenizer_for(DEFAULT_KEYWORDS)

    assert tagging.text_tokens("宝宝最近不爱吃辅食", tokenizer=tokenizer) == [
        "宝宝",
        "最近",
        "不爱",
        "吃",
        "辅食",
    ]
    assert "减脂" in tagging.text_tokens("最近在健身减脂，多吃蛋白质", tokenizer=tokenizer)
    tokens = tagging.text_tokens("我家孩子们都爱吃猫粮狗粮", tokenizer=tokenizer)
    assert "猫粮" in tokens
    assert "狗粮" in tokens


def test_keywords_found_in_a_sentence() -> None:
    tokenizer = tagging.tokenizer_for(DEFAULT_KEYWORDS)

    found = tagging.keywords_in_text(
        "宝宝最近不爱吃辅食", keywords=DEFAULT_KEYWORDS, tokenizer=tokenizer
    )

    assert found == ["宝宝", "辅食"]


def test_sentence_without_keywords_matches_nothing() -> None:
    tokenizer = tagging.tokenizer_for(DEFAULT_KEYWORDS)

    assert (
        tagging.keywords_in_text("今天的西瓜很甜", keywords=DEFAULT_KEYWORDS, tokenizer=tokenizer)
        == []
    )


def test_keyword_matches_inside_a_token_but_not_across_tokens() -> None:
    keywords = ["孩子", "学生"]
    tokenizer = tagging.tokenizer_for(keywords)

    assert tagging.keywords_in_text("孩子们放学了", keywords=keywords, tokenizer=tokenizer) == [
        "孩子"
    ]
    # 大学生活 is 大学 / 生活: 学生 straddles the boundary, plain substring search would match.
    assert tagging.keywords_in_text("大学生活很忙", keywords=keywords, tokenizer=tokenizer) == []


def test_chat_tags_quote_the_latest_matching_message() -> None:
    messages = [
        tagging.ChatMessage(1, 7, "孩子感冒了", dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC)),
        tagging.ChatMessage(
            2, 7, "宝宝最近不爱吃辅食", dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)
        ),
        tagging.ChatMessage(3, 7, "西瓜真甜", dt.datetime(2026, 11, 21, 2, tzinfo=dt.UTC)),
        tagging.ChatMessage(4, 8, "西瓜真甜", dt.datetime(2026, 11, 21, 2, tzinfo=dt.UTC)),
    ]

    suggestions = tagging.chat_tags(
        messages=messages,
        tags_by_keyword={"孩子": [100], "宝宝": [100], "辅食": [100], "健身": [200]},
        local_date=lambda moment: moment.date(),
    )

    assert suggestions == [
        tagging.TagSuggestion(
            member_id=7,
            tag_id=100,
            facts={"code": "chat", "text": "宝宝最近不爱吃辅食", "day": "2026-11-20"},
        )
    ]


def test_long_message_is_cut_in_the_evidence() -> None:
    text = "宝宝" + "很" * 100
    suggestions = tagging.chat_tags(
        messages=[tagging.ChatMessage(1, 7, text, dt.datetime(2026, 11, 20, tzinfo=dt.UTC))],
        tags_by_keyword={"宝宝": [1]},
        local_date=lambda moment: moment.date(),
    )

    assert len(suggestions[0].facts["text"]) == tagging.EVIDENCE_TEXT_MAX
    assert suggestions[0].facts["text"].endswith("…")


def test_purchase_tags_count_orders_in_the_category_and_below() -> None:
    lines = pd.DataFrame(
        {
            "member_id": [1, 1, 1, 1, 2, 2],
            "order_id": [10, 10, 11, 12, 20, 21],
            "category_id": [5, 6, 6, 9, 5, 9],
        }
    )
    rules = [
        tagging.CategoryRule(tag_id=100, category_id=4, category_name="婴儿食品", min_purchases=2)
    ]

    suggestions = tagging.purchase_tags(
        lines=lines,
        rules=rules,
        parents={4: None, 5: 4, 6: 5, 9: None},
    )

    # member 1: orders 10 and 11 (two lines of order 10 count once); member 2: one order only
    assert suggestions == [
        tagging.TagSuggestion(
            member_id=1,
            tag_id=100,
            facts={"code": "purchases", "category_id": 4, "category": "婴儿食品", "count": 2},
        )
    ]


# --- through the recompute service -----------------------------------------------------------


CHAT_BABY = {"code": "chat", "text": "宝宝最近不爱吃辅食", "day": "2026-11-20"}


@pytest.fixture
def english(settings: object) -> None:
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def tags(db: None, english: None) -> dict[str, Tag]:
    tag_defaults_ensure()
    return {tag.name: tag for tag in Tag.objects.all()}


def _message(member: object, text: str, at: dt.datetime, store: object = None) -> CommunityMessage:
    return CommunityMessage.objects.create(
        store=store or StoreFactory(),
        group_name="幸福里邻里群",
        member=member,
        text=text,
        sent_at=at,
    )


def test_chat_message_with_baby_word_tags_family_with_evidence(tags: dict[str, Tag]) -> None:
    member = MemberFactory()
    _message(member, "宝宝最近不爱吃辅食", local(2026, 11, 20, 21, 0))

    member_profiles_recompute(as_of=AS_OF)

    tag = MemberTag.objects.get(member=member)
    assert tag.tag == tags["有孩家庭"]
    assert tag.source == MemberTag.Source.CHAT
    assert tag.evidence_facts == [CHAT_BABY]
    assert tag.evidence == ""
    assert tag.created_by is None


def test_evidence_day_is_the_local_date(tags: dict[str, Tag]) -> None:
    member = MemberFactory()
    # 00:30 on the 21st in Shanghai is 16:30 on the 20th in UTC: the evidence uses local time.
    _message(member, "周末带孩子去公园", local(2026, 11, 21, 0, 30))

    member_profiles_recompute(as_of=AS_OF)

    assert MemberTag.objects.get(member=member).evidence_facts == [
        {"code": "chat", "text": "周末带孩子去公园", "day": "2026-11-21"}
    ]


def test_chat_without_keywords_gives_no_tag(tags: dict[str, Tag]) -> None:
    member = MemberFactory()
    _message(member, "今天的西瓜很甜，明天还来", local(2026, 11, 20, 9, 0))

    stats = member_profiles_recompute(as_of=AS_OF)

    assert not MemberTag.objects.exists()
    assert stats.chat_tags == 0


def test_chat_outside_window_or_anonymous_gives_no_tag(tags: dict[str, Tag]) -> None:
    member = MemberFactory()
    _message(member, "宝宝最近不爱吃辅食", local(2026, 8, 1, 9, 0))
    _message(None, "宝宝最近不爱吃辅食", local(2026, 11, 20, 9, 0))
    _message(member, "宝宝最近不爱吃辅食", local(2026, 11, 27, 9, 0))  # after as_of

    member_profiles_recompute(as_of=AS_OF)

    assert not MemberTag.objects.exists()


def test_one_message_can_give_several_tags(tags: dict[str, Tag]) -> None:
    member = MemberFactory()
    _message(member, "健身回来还要给猫粮补货", local(2026, 11, 20, 9, 0))

    member_profiles_recompute(as_of=AS_OF)

    assert set(MemberTag.objects.filter(member=member).values_list("tag__name", flat=True)) == {
        "健身人群",
        "宠物主人",
    }


def test_keyword_added_in_admin_is_used_next_recompute(tags: dict[str, Tag]) -> None:
    member = MemberFactory()
    _message(member, "每天早上练瑜伽", local(2026, 11, 20, 9, 0))
    member_profiles_recompute(as_of=AS_OF)
    assert not MemberTag.objects.exists()

    TagKeyword.objects.create(tag=tags["健身人群"], keyword="瑜伽")
    member_profiles_recompute(as_of=AS_OF)

    assert MemberTag.objects.get(member=member).tag == tags["健身人群"]


@pytest.fixture
def baby_food(db: None) -> dict[str, object]:
    category = CategoryFactory(name="婴儿辅食")
    return {
        "category": category,
        "product": ProductFactory(category=category, price=Decimal("30.00")),
        "other": ProductFactory(price=Decimal("5.00")),
        "store": StoreFactory(),
    }


def test_purchases_tag_with_count_evidence(
    tags: dict[str, Tag], baby_food: dict[str, object]
) -> None:
    TagCategoryRule.objects.create(
        tag=tags["有孩家庭"], category=baby_food["category"], min_purchases=3
    )
    buyer = MemberFactory()
    occasional = MemberFactory()
    for day in (1, 8, 15):
        order_place(
            member=buyer,
            store=baby_food["store"],
            at=local(2026, 11, day, 10, 0),
            lines=[
                (baby_food["product"], 1, "30.00", "0.00"),
                (baby_food["other"], 1, "5.00", "0"),
            ],
        )
    for day in (1, 8):
        order_place(
            member=occasional,
            store=baby_food["store"],
            at=local(2026, 11, day, 10, 0),
            lines=[(baby_food["product"], 2, "30.00", "0.00")],
        )

    stats = member_profiles_recompute(as_of=AS_OF)

    tag = MemberTag.objects.get(member=buyer)
    assert tag.tag == tags["有孩家庭"]
    assert tag.source == MemberTag.Source.PURCHASE
    assert tag.evidence_facts == [
        {
            "code": "purchases",
            "category_id": baby_food["category"].pk,
            "category": "婴儿辅食",
            "count": 3,
        }
    ]
    assert tag.evidence == ""
    assert not MemberTag.objects.filter(member=occasional).exists()
    assert stats.purchase_tags == 1


def test_purchase_evidence_wins_over_chat_for_the_same_tag(
    tags: dict[str, Tag], baby_food: dict[str, object]
) -> None:
    TagCategoryRule.objects.create(tag=tags["有孩家庭"], category=baby_food["category"])
    member = MemberFactory()
    _message(member, "宝宝最近不爱吃辅食", local(2026, 11, 20, 9, 0))
    order_place(
        member=member,
        store=baby_food["store"],
        at=local(2026, 11, 21, 10, 0),
        lines=[(baby_food["product"], 1, "30.00", "0.00")],
    )

    member_profiles_recompute(as_of=AS_OF)

    tag = MemberTag.objects.get(member=member)
    assert tag.source == MemberTag.Source.PURCHASE
    assert [fact["code"] for fact in tag.evidence_facts] == ["purchases"]


def test_manual_and_imported_tags_are_never_touched(tags: dict[str, Tag]) -> None:
    staff = UserFactory()
    member = MemberFactory()
    other = MemberFactory()
    manual = MemberTag.objects.create(
        member=member,
        tag=tags["有孩家庭"],
        source=MemberTag.Source.MANUAL,
        evidence="店主确认",
        created_by=staff,
    )
    imported = MemberTag.objects.create(
        member=other, tag=tags["宠物主人"], source=MemberTag.Source.IMPORT, evidence="crm.csv"
    )
    # Chat would suggest 有孩家庭 for member (already manual) and nothing for other.
    _message(member, "宝宝最近不爱吃辅食", local(2026, 11, 20, 9, 0))
    before = list(MemberTag.objects.order_by("pk").values())

    stats = member_profiles_recompute(as_of=AS_OF)

    assert list(MemberTag.objects.order_by("pk").values()) == before
    assert MemberTag.objects.filter(pk__in=[manual.pk, imported.pk]).count() == 2
    assert (stats.tags_created, stats.tags_replaced, stats.tags_removed) == (0, 0, 0)


def test_recompute_replaces_auto_tags_setwise(tags: dict[str, Tag]) -> None:
    member = MemberFactory()
    stale_member = MemberFactory()
    message = _message(member, "孩子感冒了", local(2026, 11, 10, 9, 0))
    stale = MemberTag.objects.create(
        member=stale_member, tag=tags["健身人群"], source=MemberTag.Source.CHAT, evidence="old"
    )
    member_profiles_recompute(as_of=AS_OF)
    first = MemberTag.objects.get(member=member)
    assert first.evidence_facts == [{"code": "chat", "text": "孩子感冒了", "day": "2026-11-10"}]
    assert not MemberTag.objects.filter(pk=stale.pk).exists()

    # A newer matching message changes the evidence but keeps when the tag was first given.
    _message(member, "宝宝最近不爱吃辅食", local(2026, 11, 20, 9, 0), store=message.store)
    stats = member_profiles_recompute(as_of=AS_OF)

    second = MemberTag.objects.get(member=member)
    assert second.evidence_facts == [CHAT_BABY]
    assert second.created_at == first.created_at
    assert (stats.tags_created, stats.tags_replaced, stats.tags_removed) == (0, 1, 0)

    # When the keyword is removed, the automatic tag goes too.
    TagKeyword.objects.filter(tag=tags["有孩家庭"]).delete()
    member_profiles_recompute(as_of=AS_OF)
    assert not MemberTag.objects.filter(member=member).exists()


def test_a_staff_note_on_an_automatic_tag_survives_the_recompute(tags: dict[str, Tag]) -> None:
    member = MemberFactory()
    message = _message(member, "孩子感冒了", local(2026, 11, 10, 9, 0))
    member_profiles_recompute(as_of=AS_OF)
    tag = MemberTag.objects.get(member=member)
    # The admin's member-tag page lets staff add a note to an automatic tag.
    MemberTag.objects.filter(pk=tag.pk).update(evidence="店主确认：双胞胎")

    stats = member_profiles_recompute(as_of=AS_OF)  # the facts are the same

    assert MemberTag.objects.get(member=member).evidence == "店主确认：双胞胎"
    assert (stats.tags_created, stats.tags_replaced, stats.tags_removed) == (0, 0, 0)

    # New facts replace the old ones; the note, the row and its first date stay.
    _message(member, "宝宝最近不爱吃辅食", local(2026, 11, 20, 9, 0), store=message.store)
    stats = member_profiles_recompute(as_of=AS_OF)

    updated = MemberTag.objects.get(member=member)
    assert (updated.pk, updated.created_at) == (tag.pk, tag.created_at)
    assert (updated.evidence_facts, updated.evidence) == ([CHAT_BABY], "店主确认：双胞胎")
    assert (stats.tags_created, stats.tags_replaced, stats.tags_removed) == (0, 1, 0)


def test_an_old_sentence_the_migration_could_not_read_gives_way_to_the_facts(
    tags: dict[str, Tag],
) -> None:
    """A tag from before facts whose sentence migration customers.0008 could not read (here a
    merge cut at 255 characters) keeps it as text until the recompute finds its facts; then
    the facts replace it, as the recompute of the time replaced its own sentence, instead of
    showing it beside them ("…(2026-11-20); 聊天：“…”（2026-11-20）; 购买：婴儿辅…")."""
    member = MemberFactory()
    _message(member, "宝宝最近不爱吃辅食", local(2026, 11, 20, 9, 0))
    old = MemberTag.objects.create(
        member=member,
        tag=tags["有孩家庭"],
        source=MemberTag.Source.CHAT,
        evidence="聊天：“宝宝最近不爱吃辅食”（2026-11-20）; 购买：婴儿辅…",
    )

    stats = member_profiles_recompute(as_of=AS_OF)

    updated = MemberTag.objects.get(member=member)
    assert (updated.pk, updated.evidence_facts, updated.evidence) == (old.pk, [CHAT_BABY], "")
    assert (stats.tags_created, stats.tags_replaced, stats.tags_removed) == (0, 1, 0)
    with translation.override("en"):
        assert updated.evidence_text == '"宝宝最近不爱吃辅食" (2026-11-20)'

    # From then on its text is a note, kept by the next recomputes (see above).
    MemberTag.objects.filter(pk=old.pk).update(evidence="店主确认：双胞胎")
    _message(member, "孩子的辅食买什么", local(2026, 11, 21, 9, 0))
    member_profiles_recompute(as_of=AS_OF)
    assert MemberTag.objects.get(pk=old.pk).evidence == "店主确认：双胞胎"


def test_a_note_on_an_automatic_tag_without_facts_survives_its_first_facts(
    tags: dict[str, Tag],
) -> None:
    """A tag without facts may hold a note rather than an old sentence: staff typed it on the
    tag, or a merge joined a manual tag's note to the tag's old sentence. The first facts
    replace the old sentences only; the note stays."""
    typed, merged = MemberFactory(), MemberFactory()
    _message(typed, "宝宝最近不爱吃辅食", local(2026, 11, 20, 9, 0))
    _message(merged, "宝宝最近不爱吃辅食", local(2026, 11, 20, 9, 0))
    kind = {"tag": tags["有孩家庭"], "source": MemberTag.Source.CHAT}
    note = MemberTag.objects.create(member=typed, evidence="店主确认：双胞胎", **kind)
    joined = MemberTag.objects.create(
        member=merged,
        evidence="聊天：“宝宝最近不爱吃辅食”（2026-11-20）; 店主说家里有猫; Purchases: 辅食 ×2",
        **kind,
    )

    stats = member_profiles_recompute(as_of=AS_OF)

    assert MemberTag.objects.get(pk=note.pk).evidence == "店主确认：双胞胎"
    assert MemberTag.objects.get(pk=joined.pk).evidence == "店主说家里有猫"
    assert [row.evidence_facts for row in MemberTag.objects.order_by("pk")] == [[CHAT_BABY]] * 2
    assert (stats.tags_created, stats.tags_replaced, stats.tags_removed) == (0, 2, 0)


def test_rerun_gives_identical_tag_rows(tags: dict[str, Tag], baby_food: dict[str, object]) -> None:
    TagCategoryRule.objects.create(tag=tags["有孩家庭"], category=baby_food["category"])
    members = [MemberFactory() for _ in range(3)]
    _message(members[0], "减脂期只吃蛋白", local(2026, 11, 20, 9, 0))
    _message(members[1], "我家狗粮吃完了", local(2026, 11, 21, 9, 0))
    order_place(
        member=members[2],
        store=baby_food["store"],
        at=local(2026, 11, 21, 10, 0),
        lines=[(baby_food["product"], 1, "30.00", "0.00")],
    )
    member_profiles_recompute(as_of=AS_OF)
    first = list(MemberTag.objects.order_by("pk").values())

    member_profiles_recompute(as_of=AS_OF)

    assert list(MemberTag.objects.order_by("pk").values()) == first
    assert len(first) == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_tags_on_postgres(english: None) -> None:
    tag_defaults_ensure()
    member = MemberFactory()
    _message(member, "宝宝最近不爱吃辅食", local(2026, 11, 20, 21, 0))

    member_profiles_recompute(as_of=AS_OF)
    member_profiles_recompute(as_of=AS_OF)

    tag = MemberTag.objects.get(member=member)
    assert (tag.tag.name, tag.source, tag.evidence_facts) == (
        "有孩家庭",
        MemberTag.Source.CHAT,
        [CHAT_BABY],
    )
