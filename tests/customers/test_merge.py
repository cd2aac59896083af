from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from apps.customers.models import (
    CommunityMessage,
    Member,
    MemberIdentity,
    MemberMerge,
    MemberProfile,
    MemberTag,
    NpsAnswer,
)
from apps.customers.services.erasure import member_erase
from apps.customers.services.identity import MergeRefused, member_merge
from apps.stores.models import Order
from tests.factories import (
    MemberFactory,
    MemberIdentityFactory,
    StoreFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Kind = MemberIdentity.Kind


def order_for(member: Member, store: object, key: str) -> Order:
    return Order.objects.create(
        store=store, member=member, channel=Order.Channel.POS, idempotency_key=key
    )


@pytest.fixture
def pair():
    """Two records of one person, each with orders, identities, tags, NPS and messages."""
    store = StoreFactory()
    joined_early = timezone.now() - dt.timedelta(days=400)
    keep = MemberFactory(
        phone="", name="王芳", birth_year=None, marketing_consent=False, home_store=None
    )
    absorb = MemberFactory(
        phone="+8613800138000",
        name="",
        birth_year=1988,
        gender=Member.Gender.FEMALE,
        marketing_consent=True,
        home_store=store,
        joined_at=joined_early,
    )
    MemberIdentityFactory(member=keep, kind=Kind.MEMBER_CARD, value="CARD-1")
    MemberIdentityFactory(member=absorb, kind=Kind.PHONE, value="+8613800138000")
    MemberIdentityFactory(member=absorb, kind=Kind.WECHAT, value="wx-1")
    shared, only_keep, only_absorb = TagFactory(name="有孩家庭"), TagFactory(), TagFactory()
    MemberTag.objects.create(member=keep, tag=shared, source="chat", evidence="宝宝 ×2")
    MemberTag.objects.create(member=keep, tag=only_keep, source="manual")
    MemberTag.objects.create(member=absorb, tag=shared, source="purchase", evidence="婴儿辅食 ×3")
    MemberTag.objects.create(member=absorb, tag=only_absorb, source="chat", evidence="健身")
    order_for(keep, store, "k1")
    order_for(absorb, store, "a1")
    order_for(absorb, store, "a2")
    NpsAnswer.objects.create(member=keep, store=store, score=9)
    NpsAnswer.objects.create(member=absorb, store=store, score=3)
    NpsAnswer.objects.create(member=absorb, store=store, score=10)
    now = timezone.now()
    CommunityMessage.objects.create(
        store=store, group_name="群", member=keep, text="a", sent_at=now
    )
    CommunityMessage.objects.create(
        store=store, group_name="群", member=absorb, text="b", sent_at=now
    )
    MemberProfile.objects.create(member=keep)
    MemberProfile.objects.create(member=absorb)
    return keep, absorb


def test_merge_moves_everything_to_the_kept_member_and_doubles_nothing(pair, hq_user):
    keep, absorb = pair
    absorbed_no, absorbed_pk = absorb.member_no, absorb.pk
    totals_before = (
        Order.objects.count(),
        NpsAnswer.objects.count(),
        CommunityMessage.objects.count(),
    )

    merge = member_merge(keep=keep, absorb=absorb, by=hq_user)

    assert not Member.objects.filter(pk=absorbed_pk).exists()
    assert Order.objects.filter(member=keep).count() == 3
    assert sorted(keep.identities.values_list("kind", "value")) == [
        ("member_card", "CARD-1"),
        ("phone", "+8613800138000"),
        ("wechat", "wx-1"),
    ]
    assert MemberTag.objects.count() == 3
    assert MemberTag.objects.filter(member=keep).count() == 3
    shared = MemberTag.objects.get(member=keep, tag__name="有孩家庭")
    assert (shared.source, shared.evidence) == ("chat", "宝宝 ×2; 婴儿辅食 ×3")
    assert sorted(NpsAnswer.objects.filter(member=keep).values_list("score", flat=True)) == [
        3,
        9,
        10,
    ]
    assert CommunityMessage.objects.filter(member=keep).count() == 2
    assert (
        Order.objects.count(),
        NpsAnswer.objects.count(),
        CommunityMessage.objects.count(),
    ) == totals_before
    assert list(MemberProfile.objects.values_list("member_id", flat=True)) == [keep.pk]

    assert merge.kept_id == keep.pk
    assert merge.merged_by == hq_user
    assert merge.absorbed_member_no == absorbed_no
    assert merge.absorbed_snapshot["phone"] == "+8613800138000"
    assert merge.absorbed_snapshot["identities"] == [
        {"kind": "phone", "value": "+8613800138000"},
        {"kind": "wechat", "value": "wx-1"},
    ]
    assert {key: merge.moved[key] for key in merge.moved if not key.startswith("earlier")} == {
        "orders": 2,
        "identities": 2,
        "tags": 1,
        "tags_combined": 1,
        "nps_answers": 2,
        "messages": 1,
        "profiles_dropped": 1,
    }
    assert MemberMerge.objects.count() == 1


def test_merge_fills_only_empty_fields_and_keeps_the_kept_consent(pair):
    keep, absorb = pair
    store_id, joined = absorb.home_store_id, absorb.joined_at
    member_merge(keep=keep, absorb=absorb, by=None)
    keep.refresh_from_db()
    assert keep.name == "王芳"  # not overwritten by the absorbed (empty) name
    assert keep.phone == "+8613800138000"
    assert keep.birth_year == 1988
    assert keep.gender == Member.Gender.FEMALE
    assert keep.home_store_id == store_id
    assert keep.joined_at == joined
    assert keep.marketing_consent is False


def test_merge_repoints_earlier_merge_records(pair):
    keep, absorb = pair
    earlier = MemberFactory()
    first = member_merge(keep=absorb, absorb=earlier, by=None)
    member_merge(keep=keep, absorb=absorb, by=None)
    first.refresh_from_db()
    assert first.kept_id == keep.pk
    assert MemberMerge.objects.filter(kept=keep).count() == 2


def test_merge_into_itself_is_refused(pair):
    keep, _absorb = pair
    with pytest.raises(MergeRefused):
        member_merge(keep=keep, absorb=keep, by=None)
    assert MemberMerge.objects.count() == 0
    assert Member.objects.count() == 2


def test_merge_with_an_erased_member_is_refused_and_changes_nothing(pair):
    keep, absorb = pair
    member_erase(member=absorb, by=None, requested_via="letter")
    orders_before = sorted(Order.objects.values_list("pk", "member_id"))
    for kept, absorbed in ((keep, absorb), (absorb, keep)):
        with pytest.raises(MergeRefused) as refused:
            member_merge(keep=kept, absorb=absorbed, by=None)
        assert absorb.member_no in str(refused.value)
    assert Member.objects.count() == 2
    assert MemberMerge.objects.count() == 0
    assert sorted(Order.objects.values_list("pk", "member_id")) == orders_before


def test_merge_of_a_member_already_merged_away_is_refused(pair):
    keep, absorb = pair
    member_merge(keep=keep, absorb=absorb, by=None)
    with pytest.raises(MergeRefused):
        member_merge(keep=keep, absorb=absorb, by=None)
    assert MemberMerge.objects.count() == 1


# --- admin action -------------------------------------------------------------------------


def changelist_post(client, members, **extra):
    data = {
        "action": "merge_selected_members",
        "_selected_action": [str(member.pk) for member in members],
        **extra,
    }
    return client.post(reverse("admin:customers_member_changelist"), data)


def test_admin_merge_shows_a_confirmation_page_then_merges(client, pair, hq_user):
    keep, absorb = pair
    client.force_login(hq_user)
    page = changelist_post(client, [keep, absorb])
    assert page.status_code == 200
    html = page.content.decode()
    assert "member-merge-confirmation" in html
    assert keep.member_no in html
    assert absorb.member_no in html
    assert Member.objects.count() == 2  # nothing merged by the confirmation page

    done = changelist_post(client, [keep, absorb], confirm="yes", keep=str(keep.pk))
    assert done.status_code == 302
    assert list(Member.objects.values_list("pk", flat=True)) == [keep.pk]
    assert MemberMerge.objects.get().merged_by == hq_user


def test_admin_merge_confirmation_names_the_fields_to_fill_in_the_readers_language(client, hq_user):
    keep = MemberFactory(phone="", name="王芳", birth_year=None)
    absorb = MemberFactory(phone="+8613900001111", name="", birth_year=1990)
    client.force_login(hq_user)

    pages = {}
    for language in ("en", "zh-hans"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        pages[language] = changelist_post(client, [keep, absorb]).content.decode()

    # Keeping the first: its empty birth year and phone come from the second.
    assert "<td>birth year, phone</td>" in pages["en"]
    assert "<td>出生年份、手机号</td>" in pages["zh-hans"]
    assert "birth_year" not in pages["en"] + pages["zh-hans"]


def test_admin_merge_confirmation_masks_phones_without_permission(client, pair, roles):
    keep, absorb = pair
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_member", "change_member", "merge_member"])
    )
    client.force_login(user)
    html = changelist_post(client, [keep, absorb]).content.decode()
    assert "138****8000" in html
    assert "13800138000" not in html


def test_admin_merge_needs_exactly_two_members(client, pair, hq_user):
    keep, absorb = pair
    third = MemberFactory()
    client.force_login(hq_user)
    response = changelist_post(client, [keep, absorb, third], confirm="yes", keep=str(keep.pk))
    assert response.status_code == 302
    assert Member.objects.count() == 3
    assert MemberMerge.objects.count() == 0


def test_admin_merge_needs_the_merge_permission(client, pair, roles):
    keep, absorb = pair
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_member", "change_member"])
    )
    client.force_login(user)
    changelist = client.get(reverse("admin:customers_member_changelist"))
    assert "merge_selected_members" not in changelist.content.decode()
    changelist_post(client, [keep, absorb], confirm="yes", keep=str(keep.pk))
    assert Member.objects.count() == 2
    assert MemberMerge.objects.count() == 0


def test_admin_merge_and_erasure_records_are_listed(client, pair, hq_user):
    keep, absorb = pair
    merge = member_merge(keep=keep, absorb=absorb, by=hq_user)
    client.force_login(hq_user)
    listing = client.get(reverse("admin:customers_membermerge_changelist"))
    assert listing.status_code == 200
    detail = client.get(reverse("admin:customers_membermerge_change", args=[merge.pk]))
    assert detail.status_code == 200
    assert merge.absorbed_member_no in detail.content.decode()
    assert client.get(reverse("admin:customers_membererasure_changelist")).status_code == 200
