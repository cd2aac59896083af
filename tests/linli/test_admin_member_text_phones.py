"""Text a member wrote (or a note about a member) may hold a mobile number: staff with member
data but without customers.view_phone read it masked and read-only in the admin, and cannot
find its writer by searching for the number (docs/access.md, member data in the admin). One
hook does it for every admin's `member_text_fields` (linli.admin_helpers)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.models import BroadcastComment
from apps.customers.models import CommunityMessage, MemberTag, NpsAnswer
from linli.admin_helpers import phone_like_runs_removed
from tests.campaigns.factories import BroadcastFactory
from tests.factories import MemberFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
MASKED = "138****5678"

PERMISSIONS = [
    ("customers", "view_member"),
    ("customers", "change_member"),
    ("customers", "view_membertag"),
    ("customers", "change_membertag"),
    ("customers", "view_communitymessage"),
    ("customers", "view_npsanswer"),
    ("customers", "change_npsanswer"),
    ("campaigns", "view_broadcastcomment"),
]


def _staff(username: str, *, phones: bool) -> Client:
    codes = [*PERMISSIONS, *([("customers", "view_phone")] if phones else [])]
    condition = Q()
    for app_label, codename in codes:
        condition |= Q(content_type__app_label=app_label, codename=codename)
    user = UserFactory(is_staff=True, username=username)
    user.user_permissions.set(Permission.objects.filter(condition))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rows(store: object) -> dict[str, object]:
    member = MemberFactory()
    return {
        "member": member,
        # A staff note quoting the member's chat: no facts, the phone only in the note.
        "note": MemberTag.objects.create(
            member=member, tag=TagFactory(), source="manual", evidence=f"她说打{PHONE}送货"
        ),
        "chat": CommunityMessage.objects.create(
            store=store,
            group_name="幸福里",
            member=member,
            text=f"奶粉到了打{PHONE}",
            sent_at=timezone.now(),
        ),
        "nps": NpsAnswer.objects.create(
            member=member, store=store, score=3, comment=f"送错了，回电{PHONE}"
        ),
        "comment": BroadcastComment.objects.create(
            broadcast=BroadcastFactory(store_campaign__store=store),
            member=member,
            author="小王",
            text=f"留个电话{PHONE}",
        ),
    }


def _pages(rows: dict[str, object]) -> dict[str, str]:
    return {
        "tag list": reverse("admin:customers_membertag_changelist"),
        "tag page": reverse("admin:customers_membertag_change", args=[rows["note"].pk]),
        "member page (tags inline)": reverse(
            "admin:customers_member_change", args=[rows["member"].pk]
        ),
        "chat list": reverse("admin:customers_communitymessage_changelist"),
        "chat page": reverse("admin:customers_communitymessage_change", args=[rows["chat"].pk]),
        "NPS list": reverse("admin:customers_npsanswer_changelist"),
        "NPS page": reverse("admin:customers_npsanswer_change", args=[rows["nps"].pk]),
        "comment list": reverse("admin:campaigns_broadcastcomment_changelist"),
        "comment page": reverse(
            "admin:campaigns_broadcastcomment_change", args=[rows["comment"].pk]
        ),
    }


def _inputs(page: str, field: str) -> list[str]:
    """The form inputs named for `field` (the inline's are prefixed) on a change page."""
    return re.findall(rf'<(?:input|textarea)[^>]*name="(?:[\w-]+-)?{field}"', page)


def test_member_texts_are_phone_masked_without_the_phone_permission(rows) -> None:
    client = _staff("members-no-phones", phones=False)
    pages = {name: client.get(url).content.decode() for name, url in _pages(rows).items()}
    assert [name for name, page in pages.items() if PHONE in page or MASKED not in page] == []
    # Read-only for them: no input holds the text to be read (or typed over).
    assert _inputs(pages["tag page"], "evidence") == []
    assert _inputs(pages["member page (tags inline)"], "evidence") == []
    assert _inputs(pages["NPS page"], "comment") == []


def test_member_texts_are_whole_and_editable_with_the_phone_permission(rows) -> None:
    client = _staff("members-and-phones", phones=True)
    pages = {name: client.get(url).content.decode() for name, url in _pages(rows).items()}
    assert [name for name, page in pages.items() if PHONE not in page or MASKED in page] == []
    assert len(_inputs(pages["tag page"], "evidence")) == 1
    assert len(_inputs(pages["member page (tags inline)"], "evidence")) >= 1
    assert len(_inputs(pages["NPS page"], "comment")) == 1


def test_a_note_cannot_be_changed_without_the_phone_permission(
    rows,
) -> None:
    client = _staff("members-no-phones", phones=False)
    tag = rows["note"]
    response = client.post(
        reverse("admin:customers_membertag_change", args=[tag.pk]),
        {
            "member": tag.member_id,
            "tag": tag.tag_id,
            "source": "manual",
            "created_by": "",
            "evidence": "typed over",
            "created_at_0": "2026-11-20",
            "created_at_1": "09:00:00",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    tag.refresh_from_db()
    assert tag.evidence == f"她说打{PHONE}送货"


SEARCHES = [
    ("customers_communitymessage", "chat"),
    ("customers_npsanswer", "nps"),
    ("campaigns_broadcastcomment", "comment"),
    ("customers_membertag", "note"),
]


@pytest.mark.parametrize("term", [PHONE, "138 1234 5678", "+86 138-1234-5678", "12345678"])
def test_a_phone_number_finds_no_writer_without_the_phone_permission(rows, term) -> None:
    without = _staff("members-no-phones", phones=False)
    with_phones = _staff("members-and-phones", phones=True)
    for model, row in SEARCHES:
        url = reverse(f"admin:{model}_changelist")
        found = without.get(url, {"q": term}).context["cl"]
        assert list(found.result_list) == [], (model, term)
        if term in (PHONE, "12345678"):  # as written in the text: found with the permission
            found = with_phones.get(url, {"q": term}).context["cl"]
            assert [item.pk for item in found.result_list] == [rows[row].pk], (model, term)


def test_a_phone_number_in_the_tags_facts_finds_no_writer_without_the_phone_permission(
    rows,
) -> None:
    quoted = MemberTag.objects.create(
        member=MemberFactory(),
        tag=TagFactory(),
        source="chat",
        evidence_facts=[{"code": "chat", "text": f"回电{PHONE}", "day": "2026-11-20"}],
    )
    url = reverse("admin:customers_membertag_changelist")
    without = _staff("members-no-phones", phones=False)
    with_phones = _staff("members-and-phones", phones=True)

    def found(client: Client, term: str) -> set[int]:
        return {row.pk for row in client.get(url, {"q": term}).context["cl"].result_list}

    assert found(with_phones, PHONE) == {quoted.pk, rows["note"].pk}
    assert found(without, PHONE) == set()
    # The rest of the term, and a day, are still searched.
    assert found(without, "2026-11-20") == {quoted.pk}
    assert found(without, f"回电 {PHONE}") == {quoted.pk}


def test_phone_like_runs_are_dropped_and_other_words_kept() -> None:
    assert phone_like_runs_removed(f"打{PHONE}") == "打"
    assert phone_like_runs_removed("138 1234 5678 奶粉") == "奶粉"
    assert phone_like_runs_removed("１３８１２３４５６７８") == ""
    # Member numbers, dates and short numbers are not phones.
    assert phone_like_runs_removed("M00012345 2026-11-20 x 123456") == (
        "M00012345 2026-11-20 x 123456"
    )
