from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from apps.customers.models import Member, MemberIdentity
from apps.customers.services.erasure import member_erase
from apps.customers.services.identity import (
    IdentityConflict,
    IdentityInput,
    member_resolve,
)
from tests.factories import MemberFactory, MemberIdentityFactory, StoreFactory

pytestmark = pytest.mark.django_db

Kind = MemberIdentity.Kind
PHONE = "+8613800138000"


def phone(value: str) -> IdentityInput:
    return IdentityInput(kind=Kind.PHONE, value=value)


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "008613800138000",
        "8613800138000",
        "138-0013-8000",
        "(138) 0013 8000",
        "１３８００１３８０００",
        "＋８６ １３８ ００１３ ８０００",
    ],
)
def test_resolve_finds_the_same_member_from_every_phone_format(raw):
    first = member_resolve(identities=[phone("13800138000")])
    again = member_resolve(identities=[phone(raw)])
    assert first.created is True
    assert again.created is False
    assert again.member.pk == first.member.pk
    assert again.attached == []
    assert Member.objects.count() == 1
    assert list(MemberIdentity.objects.values_list("kind", "value")) == [("phone", PHONE)]
    assert Member.objects.get().phone == PHONE


def test_resolve_creates_a_member_with_a_generated_number_and_home_store():
    store = StoreFactory()
    result = member_resolve(identities=[phone("138 0013 8000")], home_store=store, name=" 王芳 ")
    member = result.member
    assert result.created is True
    assert member.member_no.startswith("M")
    assert len(member.member_no) == 12
    assert member.member_no[1:].isdigit()
    assert (member.phone, member.name, member.home_store_id) == (PHONE, "王芳", store.pk)
    assert [(identity.kind, identity.value) for identity in result.attached] == [("phone", PHONE)]


def test_generated_member_numbers_are_unique():
    numbers = {
        member_resolve(identities=[phone(f"1390000{n:04d}")]).member.member_no for n in range(50)
    }
    assert len(numbers) == 50


def test_resolve_attaches_identities_the_member_did_not_have():
    first = member_resolve(identities=[phone(PHONE)])
    result = member_resolve(
        identities=[
            phone("138-0013-8000"),
            IdentityInput(kind=Kind.WECHAT, value="wx_openid_1"),
            IdentityInput(kind=Kind.MEMBER_CARD, value="CARD-0001"),
        ]
    )
    assert result.created is False
    assert result.member.pk == first.member.pk
    assert sorted((i.kind, i.value) for i in result.attached) == [
        ("member_card", "CARD-0001"),
        ("wechat", "wx_openid_1"),
    ]
    assert sorted(result.member.identities.values_list("kind", "value")) == [
        ("member_card", "CARD-0001"),
        ("phone", PHONE),
        ("wechat", "wx_openid_1"),
    ]


def test_resolve_by_card_alone_finds_the_member_and_fills_an_empty_phone():
    card = MemberIdentityFactory(kind=Kind.POS_CARD, value="POS-77", member__phone="")
    result = member_resolve(
        identities=[IdentityInput(kind=Kind.POS_CARD, value="POS-77"), phone("13900001111")]
    )
    assert result.member.pk == card.member.pk
    card.member.refresh_from_db()
    assert card.member.phone == "+8613900001111"
    assert Member.objects.count() == 1


def test_resolve_matches_member_phone_without_a_phone_identity_and_attaches_it():
    member = MemberFactory(phone=PHONE)  # e.g. imported with a phone column only
    result = member_resolve(identities=[phone("13800138000")])
    assert result.member.pk == member.pk
    assert result.created is False
    assert [(i.kind, i.value) for i in result.attached] == [("phone", PHONE)]


def test_resolve_fills_empty_fields_but_never_overwrites():
    store, other = StoreFactory(), StoreFactory()
    member = MemberFactory(phone=PHONE, name="", home_store=None)
    member_resolve(identities=[phone(PHONE)], home_store=store, name="李雷")
    member.refresh_from_db()
    assert (member.name, member.home_store_id) == ("李雷", store.pk)
    member_resolve(identities=[phone(PHONE)], home_store=other, name="别人")
    member.refresh_from_db()
    assert (member.name, member.home_store_id) == ("李雷", store.pk)


def test_full_width_card_numbers_match_their_ascii_form():
    first = member_resolve(identities=[IdentityInput(kind=Kind.MEMBER_CARD, value="ＡＢ１２３")])
    again = member_resolve(identities=[IdentityInput(kind=Kind.MEMBER_CARD, value=" AB123 ")])
    assert again.member.pk == first.member.pk
    assert list(MemberIdentity.objects.values_list("value", flat=True)) == ["AB123"]


def test_identities_of_two_members_raise_a_conflict_and_write_nothing():
    by_phone = MemberFactory(phone=PHONE)
    MemberIdentityFactory(member=by_phone, kind=Kind.PHONE, value=PHONE)
    by_card = MemberIdentityFactory(kind=Kind.MEMBER_CARD, value="CARD-9").member
    before = sorted(MemberIdentity.objects.values_list("member_id", "kind", "value"))
    with pytest.raises(IdentityConflict) as conflict:
        member_resolve(
            identities=[
                IdentityInput(kind=Kind.MEMBER_CARD, value="CARD-9"),
                phone(PHONE),
                IdentityInput(kind=Kind.WECHAT, value="wx-new"),
            ]
        )
    # The phone outranks the card, whatever order the identities came in.
    assert conflict.value.member_numbers == [by_phone.member_no, by_card.member_no]
    assert conflict.value.first_member.pk == by_phone.pk
    assert by_phone.member_no in str(conflict.value)
    assert by_card.member_no in str(conflict.value)
    assert sorted(MemberIdentity.objects.values_list("member_id", "kind", "value")) == before
    assert Member.objects.count() == 2


@pytest.mark.parametrize(
    ("identities", "field"),
    [
        ([phone("12345")], "phone"),
        ([phone("")], "phone"),
        ([IdentityInput(kind=Kind.WECHAT, value="   ")], "wechat"),
        ([IdentityInput(kind=Kind.MEMBER_CARD, value="x" * 129)], "member_card"),
        ([IdentityInput(kind="email", value="a@example.com")], "email"),
    ],
)
def test_bad_identities_are_refused_naming_the_kind_and_nothing_is_written(identities, field):
    with pytest.raises(ValidationError) as error:
        member_resolve(identities=identities)
    assert field in error.value.message_dict
    assert Member.objects.count() == 0
    assert MemberIdentity.objects.count() == 0


def test_resolve_without_identities_is_refused():
    with pytest.raises(ValidationError):
        member_resolve(identities=[])
    assert Member.objects.count() == 0


def test_an_erased_member_is_never_found_again():
    erased = member_resolve(identities=[phone(PHONE)]).member
    member_erase(member=erased, by=None, requested_via="phone call")
    result = member_resolve(identities=[phone(PHONE)])
    assert result.created is True
    assert result.member.pk != erased.pk
    assert Member.objects.filter(is_erased=True).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_resolves_of_the_same_new_phone_create_one_member():
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def resolve(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            result = member_resolve(
                identities=[
                    phone("138 0013 8000"),
                    IdentityInput(kind=Kind.WECHAT, value=f"wx-{index % 2}"),
                ]
            )
            results.append((result.member.pk, result.created))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Member.objects.count() == 1
    member = Member.objects.get()
    assert {pk for pk, _created in results} == {member.pk}
    assert sum(created for _pk, created in results) == 1
    assert sorted(member.identities.values_list("kind", "value")) == [
        ("phone", PHONE),
        ("wechat", "wx-0"),
        ("wechat", "wx-1"),
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_resolves_of_the_same_new_card_create_one_member():
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    member_ids: list[int] = []
    errors: list[BaseException] = []

    def resolve() -> None:
        try:
            barrier.wait(timeout=10)
            card = IdentityInput(kind=Kind.MEMBER_CARD, value="CARD-RACE")
            member_ids.append(member_resolve(identities=[card]).member.pk)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Member.objects.count() == 1
    assert set(member_ids) == {Member.objects.get().pk}
