"""An erased member's admin page: it takes no tags (erasure deleted them; their evidence is
free text about the member), and a form loaded before the erasure and sent after it is
refused with a message instead of writing the personal fields (or `is_erased`) back."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from apps.customers.models import Member, MemberTag
from apps.customers.services.erasure import member_erase
from tests.customers.test_erasure import _member_form
from tests.factories import MemberFactory, MemberIdentityFactory, StoreFactory, TagFactory

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"


@pytest.fixture
def member() -> Member:
    member = MemberFactory(
        phone=PHONE, name="王芳", birth_year=1988, gender="female", home_store=StoreFactory()
    )
    MemberIdentityFactory(member=member, kind="phone", value=PHONE)
    return member


def _url(member: Member) -> str:
    return reverse("admin:customers_member_change", args=[member.pk])


def _with_new_tag(data: dict, tag_id: int) -> dict:
    prefix = "member_tags"
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    return {
        **data,
        f"{prefix}-TOTAL_FORMS": str(total + 1),
        f"{prefix}-{total}-tag": str(tag_id),
        f"{prefix}-{total}-source": "manual",
        f"{prefix}-{total}-evidence": "住3号楼，宝宝两岁",
    }


def test_an_erased_members_page_takes_no_new_tag(client, member, hq_user):
    client.force_login(hq_user)
    member_erase(member=member, by=None, requested_via="letter")
    tag = TagFactory(name="宝妈")
    data = _with_new_tag({**_member_form(client, member), "_save": "Save"}, tag.pk)

    page = client.get(_url(member)).content.decode()
    response = client.post(_url(member), data)

    assert response.status_code == 302
    assert "宝宝两岁" not in page
    assert MemberTag.objects.count() == 0


def test_a_tag_can_still_be_added_to_a_member_not_erased(client, member, hq_user):
    """The control: the same form adds the tag while the member is not erased."""
    client.force_login(hq_user)
    tag = TagFactory(name="宝妈")
    data = _with_new_tag({**_member_form(client, member), "_save": "Save"}, tag.pk)

    response = client.post(_url(member), data)

    assert response.status_code == 302
    assert list(MemberTag.objects.values_list("member_id", "evidence")) == [
        (member.pk, "住3号楼，宝宝两岁")
    ]


def test_a_form_loaded_before_the_erasure_is_refused_with_a_message(client, member, hq_user):
    client.force_login(hq_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    tag = TagFactory(name="宝妈")
    data = _with_new_tag({**_member_form(client, member), "_save": "Save"}, tag.pk)
    member_erase(member=member, by=None, requested_via="letter")

    response = client.post(_url(member), data)

    assert response.status_code == 200
    assert (
        f"The personal data of member {member.member_no} was erased after this page was opened"
        in response.content.decode()
    )
    member.refresh_from_db()
    assert (member.is_erased, member.name, member.phone, member.birth_year) == (
        True,
        "",
        "",
        None,
    )
    assert MemberTag.objects.count() == 0
