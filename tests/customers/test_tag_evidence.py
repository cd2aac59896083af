"""A member tag's evidence is stored as facts and worded in the reader's language (README,
"Languages"); tags tagged before that (migration customers.0008) are read back into facts."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone, translation

from apps.customers.models import CommunityMessage, MemberTag, tag_evidence_text
from apps.customers.services.identity import member_merge
from tests.factories import CategoryFactory, MemberFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

CAT_LITTER = {"code": "purchases", "category_id": None, "category": "猫砂", "count": 1}
CHAT = {"code": "chat", "text": "宝宝最近不爱吃辅食", "day": "2026-11-20"}


def test_evidence_is_worded_in_the_readers_language() -> None:
    facts = [CAT_LITTER, {**CAT_LITTER, "count": 3}, CHAT]

    with translation.override("en"):
        english = tag_evidence_text(facts=facts, text="店主确认")
    with translation.override("zh-hans"):
        chinese = tag_evidence_text(facts=facts, text="店主确认")

    assert english == '猫砂, 1 order; 猫砂, 3 orders; "宝宝最近不爱吃辅食" (2026-11-20); 店主确认'
    assert chinese == "猫砂，1笔订单；猫砂，3笔订单；“宝宝最近不爱吃辅食”（2026-11-20）；店主确认"


def test_unknown_or_broken_facts_are_left_out_not_failed() -> None:
    facts = [{"code": "later"}, {"code": "purchases", "category": "猫砂"}, "text"]

    assert tag_evidence_text(facts=facts, text="note") == "note"


def test_member_page_words_the_evidence_once_in_each_language(client, owner, store) -> None:
    member = MemberFactory(home_store=store)
    MemberTag.objects.create(
        member=member,
        tag=TagFactory(name="宠物主人"),
        source="purchase",
        evidence_facts=[CAT_LITTER],
    )
    client.force_login(owner)
    url = reverse("members:detail", args=[store.pk, member.member_no])

    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "Purchases · 猫砂, 1 order" in english
    assert "购买" not in english
    assert "购买记录 · 猫砂，1笔订单" in chinese
    assert "购买：" not in chinese


def test_merge_keeps_both_members_facts_once(hq_user) -> None:
    keep, absorb = MemberFactory(), MemberFactory()
    tag = TagFactory()
    MemberTag.objects.create(member=keep, tag=tag, source="chat", evidence_facts=[CHAT])
    MemberTag.objects.create(
        member=absorb, tag=tag, source="purchase", evidence_facts=[CHAT, CAT_LITTER]
    )

    member_merge(keep=keep, absorb=absorb, by=hq_user)

    kept = MemberTag.objects.get(member=keep, tag=tag)
    assert (kept.source, kept.evidence_facts, kept.evidence) == ("chat", [CHAT, CAT_LITTER], "")


# --- migration 0008: facts read back from the old sentences ------------------------------------


def _backfill() -> None:
    migration = importlib.import_module("apps.customers.migrations.0008_tag_evidence_facts")
    migration.backfill_facts(apps, None)


def test_the_backfill_reads_chinese_english_and_merged_sentences() -> None:
    litter = CategoryFactory(name="猫砂")
    CategoryFactory(name="水果")
    CategoryFactory(name="水果")  # two categories of one name: no id is guessed
    member = MemberFactory()

    def old(source: str, evidence: str) -> MemberTag:
        return MemberTag.objects.create(
            member=member, tag=TagFactory(), source=source, evidence=evidence
        )

    purchase_zh = old("purchase", "购买：猫砂 ×1")
    purchase_en = old("purchase", "Purchases: 水果 ×12")
    chat_zh = old("chat", "聊天：“宝宝最近不爱吃辅食”（2026-11-20）")
    chat_en = old("chat", 'Chat: "gym; then milk" (2026-11-21)')
    merged = old("chat", "聊天：“宝宝最近不爱吃辅食”（2026-11-20）; 购买：猫砂 ×3")
    # Two merged chat sentences, the first quote holding "; ": two facts, not one long quote.
    merged_quotes = old("chat", "聊天：“买了; 奶粉”（2026-11-19）; 聊天：“宝宝”（2026-11-20）")
    unreadable = old("chat", "宝宝 ×2")
    manual = old("manual", "购买：猫砂 ×1")

    _backfill()
    _backfill()  # a rerun changes nothing

    def read(member_tag: MemberTag) -> tuple[list, str]:
        member_tag.refresh_from_db()
        return member_tag.evidence_facts, member_tag.evidence

    assert read(purchase_zh) == ([{**CAT_LITTER, "category_id": litter.pk}], "")
    assert read(purchase_en) == (
        [{"code": "purchases", "category_id": None, "category": "水果", "count": 12}],
        "",
    )
    assert read(chat_zh) == ([CHAT], "")
    assert read(chat_en) == (
        [{"code": "chat", "text": "gym; then milk", "day": "2026-11-21"}],
        "",
    )
    assert read(merged) == (
        [CHAT, {**CAT_LITTER, "category_id": litter.pk, "count": 3}],
        "",
    )
    assert read(merged_quotes) == (
        [
            {"code": "chat", "text": "买了; 奶粉", "day": "2026-11-19"},
            {"code": "chat", "text": "宝宝", "day": "2026-11-20"},
        ],
        "",
    )
    assert read(unreadable) == ([], "宝宝 ×2")
    assert read(manual) == ([], "购买：猫砂 ×1")
    with translation.override("en"):
        assert purchase_zh.evidence_text == "猫砂, 1 order"
        assert unreadable.evidence_text == "宝宝 ×2"


# --- the HQ admin's member-tag search -----------------------------------------------------------


def test_admin_search_finds_words_of_the_evidence_facts_and_notes(client, hq_user) -> None:
    litter = MemberTag.objects.create(
        member=MemberFactory(), tag=TagFactory(), source="purchase", evidence_facts=[CAT_LITTER]
    )
    chat = MemberTag.objects.create(
        member=MemberFactory(), tag=TagFactory(), source="chat", evidence_facts=[CHAT]
    )
    noted = MemberTag.objects.create(
        member=MemberFactory(), tag=TagFactory(), source="manual", evidence="店主说家里有猫"
    )
    client.force_login(hq_user)

    def found(term: str) -> set[int]:
        response = client.get(reverse("admin:customers_membertag_changelist"), {"q": term})
        return {row.pk for row in response.context["cl"].result_list}

    assert found("猫砂") == {litter.pk}
    assert found("不爱吃") == {chat.pk}
    assert found("2026-11-20") == {chat.pk}
    assert found("家里有猫") == {noted.pk}
    assert found("猫") == {litter.pk, noted.pk}
    # Every word must be found, each in a fact or a field.
    assert found("猫砂 宝宝") == set()
    assert found("狗粮") == set()


# --- migration 0008 run by Django's migration executor, forward from 0007 and back -------------

BEFORE_FACTS = ("customers", "0007_nps_answer_indexes")
CHAT_ZH = "聊天：“宝宝最近不爱吃辅食”（2026-11-20）"  # as the recompute wrote it before facts


def _migrate_customers_to(executor: MigrationExecutor, migration: tuple[str, str]) -> Any:
    """Migrate the customers app to `migration` (every other app stays at its newest) and
    return the models as they stand there."""
    executor.loader.build_graph()
    targets = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "customers"]
    targets.append(migration)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_migration_0008_reads_old_sentences_forward_and_writes_them_back_in_reverse() -> None:
    executor = MigrationExecutor(connection)
    leaf = max(node for node in executor.loader.graph.leaf_nodes() if node[0] == "customers")
    try:
        old = _migrate_customers_to(executor, BEFORE_FACTS)
        litter = old.get_model("catalog", "Category").objects.create(code="litter", name="猫砂")
        member = old.get_model("customers", "Member").objects.create(member_no="M-0008")
        old_tags = old.get_model("customers", "MemberTag").objects

        def tagged(name: str, source: str, evidence: str) -> int:
            tag = old.get_model("customers", "Tag").objects.create(name=name)
            return old_tags.create(member=member, tag=tag, source=source, evidence=evidence).pk

        rows = {
            "purchase_zh": tagged("a", "purchase", "购买：猫砂 ×1"),
            "purchase_en": tagged("b", "purchase", "Purchases: 水果 ×12"),
            "chat_zh": tagged("c", "chat", CHAT_ZH),
            "merged": tagged("d", "chat", f"{CHAT_ZH}; 购买：猫砂 ×3"),
            "unreadable": tagged("e", "chat", "宝宝 ×2"),
            "manual": tagged("f", "manual", "购买：猫砂 ×1"),
            "empty": tagged("g", "purchase", ""),
        }

        new = _migrate_customers_to(executor, ("customers", "0008_tag_evidence_facts"))
        new_tags = new.get_model("customers", "MemberTag").objects
        forward = {
            name: tuple(new_tags.filter(pk=pk).values_list("evidence_facts", "evidence").get())
            for name, pk in rows.items()
        }
        assert forward == {
            "purchase_zh": ([{**CAT_LITTER, "category_id": litter.pk}], ""),
            "purchase_en": (
                [{"code": "purchases", "category_id": None, "category": "水果", "count": 12}],
                "",
            ),
            "chat_zh": ([CHAT], ""),
            "merged": ([CHAT, {**CAT_LITTER, "category_id": litter.pk, "count": 3}], ""),
            "unreadable": ([], "宝宝 ×2"),
            "manual": ([], "购买：猫砂 ×1"),
            "empty": ([], ""),
        }
        # After the migration a note is added to a tag with facts: the reverse keeps it too.
        new_tags.filter(pk=rows["chat_zh"]).update(evidence="店主确认")

        back = _migrate_customers_to(executor, BEFORE_FACTS)
        back_tags = back.get_model("customers", "MemberTag")
        assert "evidence_facts" not in {field.name for field in back_tags._meta.fields}
        backward = dict(
            back_tags.objects.filter(pk__in=rows.values()).values_list("pk", "evidence")
        )
        # The Chinese sentences, as the recompute wrote them in the default language.
        assert {name: backward[pk] for name, pk in rows.items()} == {
            "purchase_zh": "购买：猫砂 ×1",
            "purchase_en": "购买：水果 ×12",
            "chat_zh": f"{CHAT_ZH}; 店主确认",
            "merged": f"{CHAT_ZH}; 购买：猫砂 ×3",
            "unreadable": "宝宝 ×2",
            "manual": "购买：猫砂 ×1",
            "empty": "",
        }
    finally:
        _migrate_customers_to(executor, leaf)


def test_admin_masks_phone_numbers_in_chat_text_and_evidence_without_the_phone_permission(
    client, hq_user, store
) -> None:
    """A member's chat message (and its quote as a tag's evidence) may hold a phone number:
    staff with member data but without customers.view_phone read it masked, as they read the
    member's own phone."""
    member = MemberFactory()
    said = "宝宝奶粉到了打13812345678"
    quote = {"code": "chat", "text": said, "day": "2026-11-20"}
    member_tag = MemberTag.objects.create(
        member=member, tag=TagFactory(), source="chat", evidence_facts=[quote]
    )
    message = CommunityMessage.objects.create(
        store=store, group_name="幸福里", member=member, text=said, sent_at=timezone.now()
    )
    staff = UserFactory(is_staff=True, username="members-no-phones")
    staff.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="customers",
            codename__in=["view_member", "view_membertag", "view_communitymessage"],
        )
    )
    pages = [
        reverse("admin:customers_membertag_changelist"),
        reverse("admin:customers_membertag_change", args=[member_tag.pk]),
        reverse("admin:customers_member_change", args=[member.pk]),  # the tags inline
        reverse("admin:customers_communitymessage_changelist"),
        reverse("admin:customers_communitymessage_change", args=[message.pk]),
    ]

    def read(user: object) -> list[str]:
        client.force_login(user)
        return [client.get(url).content.decode() for url in pages]

    for page in read(staff):
        assert "打138****5678" in page
        assert "13812345678" not in page
    for page in read(hq_user):  # with customers.view_phone: as written
        assert "打13812345678" in page
