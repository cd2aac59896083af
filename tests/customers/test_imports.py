"""Member and chat-message imports, member exports (formulas, phone masking) and the
import/export permissions in the admin."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from apps.customers.models import CommunityMessage, Member, MemberIdentity
from apps.customers.resources import MemberResource
from apps.customers.services.erasure import member_erase
from apps.customers.services.imports import (
    community_messages_import,
    member_identity_parse,
    members_import,
)
from linli.imports.contract import (
    CellError,
    formula_escape,
    table_from_bytes,
)
from tests.factories import MemberFactory, MemberIdentityFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
MEMBER_HEADER = (
    "phone,name,member_no,gender,birth_year,home_store,joined_at,marketing_consent,member_card\n"
)
FULL_HEADER = MEMBER_HEADER.rstrip("\n") + ",wechat\n"
Kind = MemberIdentity.Kind


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def stores(db: None) -> dict:
    return {"HZ0001": StoreFactory(code="HZ0001"), "HZ0002": StoreFactory(code="HZ0002")}


def table(text: str):
    return table_from_bytes(text.encode())


def errors_of(report) -> list[tuple[int, str, str]]:
    return [(error.row, error.column, error.code) for error in report.errors]


def identities() -> set[tuple[str, str, str]]:
    return set(MemberIdentity.objects.values_list("member__phone", "kind", "value"))


# --- members: happy paths ----------------------------------------------------------------------


def test_members_example_file_imports_with_identities(stores: dict) -> None:
    report = members_import(table=table((EXAMPLES / "members.csv").read_text()))

    assert report.errors == []
    assert (report.rows, report.created, report.updated) == (5, 5, 0)
    wang = Member.objects.get(phone="+8613800138000")
    assert (wang.name, wang.gender, wang.birth_year) == ("王丽", "female", 1988)
    assert wang.home_store == stores["HZ0001"]
    assert wang.marketing_consent is True
    li = Member.objects.get(phone="+8613900138002")
    assert (li.gender, li.marketing_consent, li.home_store) == ("female", True, stores["HZ0002"])
    assert Member.objects.get(phone="+8613800138001").marketing_consent is False
    assert len({member.member_no for member in Member.objects.all()}) == 5
    assert identities() == {
        ("+8613800138000", Kind.PHONE, "+8613800138000"),
        ("+8613800138001", Kind.PHONE, "+8613800138001"),
        ("+8613900138002", Kind.PHONE, "+8613900138002"),
        ("+8613800138000", Kind.MEMBER_CARD, "C000123"),
        ("+8613900138002", Kind.MEMBER_CARD, "C000124"),
        ("", Kind.MEMBER_CARD, "C000125"),
        ("", Kind.WECHAT, "wxid_qian88"),
    }
    zhao = MemberIdentity.objects.get(kind=Kind.MEMBER_CARD, value="C000125").member
    assert (zhao.name, zhao.phone, zhao.home_store) == ("赵敏", "", stores["HZ0001"])
    qian = MemberIdentity.objects.get(kind=Kind.WECHAT, value="wxid_qian88").member
    assert (qian.name, qian.phone, qian.home_store) == ("", "", stores["HZ0002"])


def test_members_update_given_cells_keep_empty_ones_and_rerun_changes_nothing(stores) -> None:
    member = MemberFactory(phone="+8613800138000", name="旧名", birth_year=1980)
    MemberIdentityFactory(member=member, kind=Kind.PHONE, value="+8613800138000")
    text = MEMBER_HEADER + "13800138000,新名,,,,HZ0001,,,C9\n"

    first = members_import(table=table(text))
    again = members_import(table=table(text))

    assert (first.created, first.updated, first.unchanged) == (0, 1, 0)
    assert first.row_actions == {2: "update"}
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    member.refresh_from_db()
    assert (member.name, member.birth_year, member.home_store) == ("新名", 1980, stores["HZ0001"])
    assert Member.objects.count() == 1
    assert identities() == {
        ("+8613800138000", Kind.PHONE, "+8613800138000"),
        ("+8613800138000", Kind.MEMBER_CARD, "C9"),
    }


def test_members_import_attaches_identities_like_member_resolve(stores: dict) -> None:
    legacy = MemberFactory(phone="+8613700137000")  # a phone but no phone identity yet
    card_only = MemberFactory(phone="", member_no="M00000000042")
    MemberIdentityFactory(member=card_only, kind=Kind.MEMBER_CARD, value="C42")
    report = members_import(
        table=table(
            MEMBER_HEADER + "137 0013 7000,,,,,,,,\n" + "13600136000,,M00000000042,,,,,,C42\n"
        )
    )
    assert (report.created, report.updated) == (0, 2)
    card_only.refresh_from_db()
    assert card_only.phone == "+8613600136000"
    assert identities() == {
        ("+8613700137000", Kind.PHONE, "+8613700137000"),
        ("+8613600136000", Kind.PHONE, "+8613600136000"),
        ("+8613600136000", Kind.MEMBER_CARD, "C42"),
    }
    assert Member.objects.count() == 2
    assert legacy.identities.count() == 1


def test_members_dry_run_counts_and_writes_nothing(stores: dict) -> None:
    report = members_import(table=table((EXAMPLES / "members.csv").read_text()), dry_run=True)
    assert report.is_valid
    assert (report.created, report.row_actions) == (
        5,
        {2: "new", 3: "new", 4: "new", 5: "new", 6: "new"},
    )
    assert Member.objects.count() == MemberIdentity.objects.count() == 0


# --- members: every bad-row kind ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "column", "code", "reason"),
    [
        (
            "1380013800,,,,,,,,",
            "phone",
            "invalid_phone",
            "“1380013800” is not a valid mainland China mobile number.",
        ),
        (
            ",王五,,,,,,,",
            "phone",
            "no_identity",
            "The row names no member: give a phone, a member card, a WeChat id or the "
            "member_no of an existing member.",
        ),
        (
            "13800138009,,,,,HZ9999,,,",
            "home_store",
            "unknown_store",
            "Unknown store code “HZ9999”.",
        ),
        (
            "13800138009,,,,19x8,,,,",
            "birth_year",
            "invalid_number",
            "“19x8” is not a whole number.",
        ),
        (
            "13800138009,,,,1850,,,,",
            "birth_year",
            "below_minimum",
            "“1850” is below the minimum of 1900.",
        ),
        (
            "13800138009,,,,,,2024-02-30,,",
            "joined_at",
            "invalid_datetime",
            "“2024-02-30” is not a date and time (write e.g. 2024-07-01T18:30:00+08:00).",
        ),
        (
            "13800138009,,,robot,,,,,",
            "gender",
            "invalid_choice",
            "“robot” is not one of: unknown (未知), female (女/f), male (男/m).",
        ),
        (
            "13800138009,,,,,,,maybe,",
            "marketing_consent",
            "invalid_boolean",
            "“maybe” is not yes/no (use 1 or 0, true or false, yes or no).",
        ),
        (
            "13800138009," + "长" * 61 + ",,,,,,,",
            "name",
            "too_long",
            "The text is longer than 60 characters.",
        ),
    ],
)
def test_members_bad_row_is_reported_exactly(
    stores: dict, line: str, column: str, code: str, reason: str
) -> None:
    report = members_import(table=table(MEMBER_HEADER + "13800138001,好,,,,,,,\n" + line + "\n"))
    assert [(e.row, e.column, e.code, e.reason) for e in report.errors] == [
        (3, column, code, reason)
    ]
    assert Member.objects.count() == 0


def test_members_duplicates_within_the_file_are_reported(stores: dict) -> None:
    report = members_import(
        table=table(
            MEMBER_HEADER
            + "13800138000,,,,,,,,C1\n"
            + "138-0013-8001,,M1,,,,,,C2\n"
            + "+86 138 0013 8000,,M1,,,,,,C1\n"
        )
    )
    assert errors_of(report) == [
        (4, "phone", "duplicate"),
        (4, "member_no", "duplicate"),
        (4, "member_card", "duplicate"),
    ]
    assert str(report.errors[0]) == (
        "Row 4, column “phone”: “+86 138 0013 8000” already appears on row 2."
    )
    assert Member.objects.count() == 0


def test_members_missing_and_unknown_columns_are_reported_at_the_header(stores: dict) -> None:
    report = members_import(table=table("name,nmae\n王五,x\n"))
    # No one identity column is missing, the header has none of them: reported on the header.
    assert errors_of(report) == [(1, "nmae", "unknown_column"), (1, "", "missing_column")]
    assert str(report.errors[1]) == (
        "Row 1: The header has none of the columns that identify a member; give at least one "
        "of: phone, member_card, wechat."
    )
    assert Member.objects.count() == 0


def test_members_identity_conflicts_are_errors_not_moves(stores: dict) -> None:
    owner = MemberFactory(phone="+8613800138000", member_no="M1")
    MemberIdentityFactory(member=owner, kind=Kind.PHONE, value="+8613800138000")
    other = MemberFactory(phone="+8613900139000", member_no="M2")
    MemberIdentityFactory(member=other, kind=Kind.MEMBER_CARD, value="C2")
    report = members_import(
        table=table(
            MEMBER_HEADER
            + "13800138000,,M2,,,,,,\n"  # phone of M1, number of M2
            + "13700137000,,,,,,,,C2\n"  # card of M2 on a new member
        )
    )
    other_phone = members_import(table=table(MEMBER_HEADER + "13600136000,,M2,,,,,,\n"))

    assert errors_of(report) == [(2, "member_no", "conflict"), (3, "member_card", "conflict")]
    assert [error.reason for error in report.errors + other_phone.errors] == [
        "This phone belongs to member M1, not to M2.",
        "Member card “C2” belongs to another member (M2).",
        "Member M2 already has another phone (139****9000).",
    ]
    assert errors_of(other_phone) == [(2, "phone", "conflict")]
    assert Member.objects.count() == 2
    assert MemberIdentity.objects.count() == 2


def test_members_bad_row_9999_of_10000_leaves_the_database_unchanged(stores: dict) -> None:
    MemberFactory(phone="+8613000000000")
    before = (Member.objects.count(), MemberIdentity.objects.count())
    rows = [
        f"{'1390000000' if n + 2 == 9_999 else f'139{n:08d}'},会员{n},,,,HZ0001,,1,\n"
        for n in range(9_999)
    ]

    report = members_import(table=table(MEMBER_HEADER + "".join(rows)))

    assert errors_of(report) == [(9_999, "phone", "invalid_phone")]
    assert (Member.objects.count(), MemberIdentity.objects.count()) == before


def test_a_valid_10000_row_member_file_imports(stores: dict) -> None:
    rows = [f"139{n:08d},会员{n},,,,HZ0001,,1,\n" for n in range(9_999)]
    report = members_import(table=table(MEMBER_HEADER + "".join(rows)))
    assert (report.is_valid, report.created) == (True, 9_999)
    assert MemberIdentity.objects.filter(kind=Kind.PHONE).count() == 9_999


def test_member_identity_cells_parse_and_normalise() -> None:
    assert member_identity_parse("phone:138 0013 8000") == (Kind.PHONE, "+8613800138000")
    assert member_identity_parse("card:C123") == (Kind.MEMBER_CARD, "C123")
    assert member_identity_parse("WeChat: wx_ab ") == (Kind.WECHAT, "wx_ab")
    for bad in ("13800138000", "email:a@b.c", "phone:123", "card:"):
        with pytest.raises(CellError):
            member_identity_parse(bad)


def test_members_unknown_home_store_is_reported_with_the_rows_other_errors(
    stores: dict,
) -> None:
    report = members_import(table=table(MEMBER_HEADER + "1380013800,,,,19x8,HZ9999,,,\n"))
    assert errors_of(report) == [
        (2, "phone", "invalid_phone"),
        (2, "birth_year", "invalid_number"),
        (2, "home_store", "unknown_store"),
    ]
    assert Member.objects.count() == MemberIdentity.objects.count() == 0


# --- chat messages ----------------------------------------------------------------------------


def test_chat_messages_example_imports_and_rerun_adds_nothing(stores: dict) -> None:
    wang = MemberFactory(phone="+8613800138000")
    MemberIdentityFactory(member=wang, kind=Kind.PHONE, value="+8613800138000")
    li = MemberFactory(phone="+8613900138002")
    MemberIdentityFactory(member=li, kind=Kind.MEMBER_CARD, value="C000124")
    text = (EXAMPLES / "chat_messages.csv").read_text()

    first = community_messages_import(table=table(text))
    again = community_messages_import(table=table(text))

    assert (first.is_valid, first.created) == (True, 3)
    assert (again.created, again.unchanged) == (0, 3)
    assert CommunityMessage.objects.count() == 3
    by_text = {message.text[:4]: message for message in CommunityMessage.objects.all()}
    assert by_text["宝宝开始"].member == wang
    assert by_text["今天的蓝"].member is None
    assert by_text["健身减脂"].member == li
    assert by_text["健身减脂"].store == stores["HZ0002"]


def test_chat_message_text_may_span_lines_but_the_group_name_may_not(stores: dict) -> None:
    header = "store_code,group_name,member_identity,text,sent_at\n"
    good = community_messages_import(
        table=table(header + 'HZ0001,群,,"第一行\n第二行",2024-07-01 10:00\n')
    )
    assert (good.errors, CommunityMessage.objects.get().text) == ([], "第一行\n第二行")
    bad = community_messages_import(
        table=table(header + 'HZ0001,"群\nHZ0001",,你好,2024-07-01 11:00\n')
    )
    assert errors_of(bad) == [(2, "group_name", "invalid_text")]
    assert CommunityMessage.objects.count() == 1


def test_chat_messages_unknown_identity_is_kept_without_member(stores: dict) -> None:
    report = community_messages_import(
        table=table(
            "store_code,group_name,member_identity,text,sent_at\n"
            "HZ0001,群,phone:13700137000,猫粮有货吗,2024-07-01 10:00\n"
        )
    )
    assert report.notes == [
        "1 message names an unknown member identity; it is kept without a member."
    ]
    assert CommunityMessage.objects.get().member is None


def test_chat_messages_bad_rows_are_all_reported(stores: dict) -> None:
    report = community_messages_import(
        table=table(
            "store_code,group_name,member_identity,text,sent_at\n"
            "HZ0001,群,,你好,2024-07-01 10:00\n"
            "HZ9999,群,,你好,2024-07-01 10:00\n"
            "HZ0001,群,,,2024-07-01 10:00\n"
            "HZ0001,群,,你好,yesterday\n"
            "HZ0001,群,,你好,2024-07-01T10:00:00+08:00\n"
            "HZ0001,群,phone:1,你好,2024-07-01 11:00\n"
        )
    )
    assert errors_of(report) == [
        (3, "store_code", "unknown_store"),
        (4, "text", "required"),
        (5, "sent_at", "invalid_datetime"),
        (6, "text", "duplicate"),
        (7, "member_identity", "invalid_phone"),
    ]
    assert CommunityMessage.objects.count() == 0


def test_chat_messages_unknown_store_is_reported_with_the_rows_other_errors(
    stores: dict,
) -> None:
    report = community_messages_import(
        table=table("store_code,group_name,member_identity,text,sent_at\nHZ9999,群,,,yesterday\n")
    )
    assert errors_of(report) == [
        (2, "text", "required"),
        (2, "sent_at", "invalid_datetime"),
        (2, "store_code", "unknown_store"),
    ]
    assert CommunityMessage.objects.count() == 0


def test_import_csv_command_imports_members_and_reports_errors(stores: dict, tmp_path) -> None:
    good = tmp_path / "members.csv"
    good.write_bytes((EXAMPLES / "members.csv").read_bytes())
    call_command("import_csv", "members", str(good), "--dry-run", stdout=io.StringIO())
    assert Member.objects.count() == 0
    call_command("import_csv", "members", str(good), stdout=io.StringIO())
    assert Member.objects.count() == 5

    bad = tmp_path / "bad.csv"
    bad.write_text(MEMBER_HEADER + "123,,,,,,,,\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_csv", "members", str(bad), stdout=out)
    assert "Row 2, column “phone”: “123” is not a valid mainland China mobile number." in (
        out.getvalue()
    )


# --- exports: formulas and phones --------------------------------------------------------------


def test_formula_escape_prefixes_dangerous_cells() -> None:
    cells = ["=1+1", "+86", "-2", "@SUM(A1)", "\tx", "\rx", "safe", "", 5]
    assert [formula_escape(cell) for cell in cells] == [
        "'=1+1",
        "'+86",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "safe",
        "",
        5,
    ]


def _staff(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def _export_rows(client) -> list[dict[str, str]]:
    data = {"format": "0", "resource": "0"}
    data.update({f"memberresource_{name}": "on" for name in MemberResource().get_export_order()})
    response = client.post(reverse("admin:customers_member_export"), data)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())  # UTF-8 BOM, for Excel
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_admin_export_escapes_formulas_and_masks_phones(client, stores: dict) -> None:
    MemberFactory(name='=HYPERLINK("http://x")', phone="+8613800138000", member_no="M1")
    client.force_login(_staff("view_member", "export_member"))

    rows = _export_rows(client)

    assert rows[0]["name"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["phone"] == "138****8000"
    assert rows[0]["member_no"] == "M1"


def test_admin_export_shows_phones_to_users_allowed_to_see_them(client, stores: dict) -> None:
    MemberFactory(phone="+8613800138000", member_no="M1")
    client.force_login(_staff("view_member", "export_member", "view_phone"))
    assert _export_rows(client)[0]["phone"] == "13800138000"


def test_exported_members_import_back_unchanged(client, stores: dict) -> None:
    members_import(table=table((EXAMPLES / "members.csv").read_text()))
    MemberFactory(name="@risky", phone="+8613500135000", home_store=stores["HZ0002"])
    client.force_login(_staff("view_member", "export_member", "view_phone"))
    data = {"format": "0", "resource": "0"}
    data.update({f"memberresource_{name}": "on" for name in MemberResource().get_export_order()})
    exported = client.post(reverse("admin:customers_member_export"), data).content

    report = members_import(table=table_from_bytes(exported))

    assert report.errors == []
    # Only the factory-made member changes: it gains the phone identity it lacked. The card-
    # and WeChat-only members of the example come back as themselves.
    assert (report.created, report.updated, report.unchanged) == (0, 1, 5)
    assert Member.objects.get(phone="+8613500135000").name == "@risky"


def test_export_needs_export_permission(client, stores: dict) -> None:
    client.force_login(_staff("view_member"))
    changelist = client.get(reverse("admin:customers_member_changelist"))
    assert changelist.status_code == 200
    assert changelist.context["has_export_permission"] is False
    assert changelist.context["has_import_permission"] is False
    assert reverse("admin:customers_member_export").encode() not in changelist.content
    assert reverse("admin:customers_member_import").encode() not in changelist.content
    assert client.get(reverse("admin:customers_member_export")).status_code == 403
    assert client.post(reverse("admin:customers_member_export"), {"format": "0"}).status_code == 403


def test_export_permission_does_not_grant_import(client, stores: dict) -> None:
    client.force_login(_staff("view_member", "export_member"))
    changelist = client.get(reverse("admin:customers_member_changelist"))
    assert reverse("admin:customers_member_export").encode() in changelist.content
    assert reverse("admin:customers_member_import").encode() not in changelist.content
    assert client.get(reverse("admin:customers_member_import")).status_code == 403
    upload = SimpleUploadedFile("m.csv", (EXAMPLES / "members.csv").read_bytes())
    response = client.post(reverse("admin:customers_member_import"), {"import_file": upload})
    assert response.status_code == 403
    assert Member.objects.count() == 0


def test_admin_member_import_preview_then_confirm(client, stores: dict) -> None:
    client.force_login(_staff("view_member", "import_member"))
    upload = SimpleUploadedFile("members.csv", (EXAMPLES / "members.csv").read_bytes())

    preview = client.post(
        reverse("admin:customers_member_import"), {"import_file": upload, "format": "0"}
    )

    assert preview.status_code == 200
    assert [row.import_type for row in preview.context["result"].rows] == ["new"] * 5
    assert Member.objects.count() == 0
    done = client.post(
        reverse("admin:customers_member_process_import"), preview.context["confirm_form"].initial
    )
    assert done.status_code == 302
    assert Member.objects.count() == 5


def test_admin_member_import_lists_every_bad_row_and_offers_no_confirm(client, stores) -> None:
    client.force_login(_staff("view_member", "import_member"))
    text = MEMBER_HEADER + "123,,,,,,,,\n13800138000,,,,abc,,,,\n13800138000,,,,,,,,\n"
    upload = SimpleUploadedFile("members.csv", text.encode("gb18030"))

    response = client.post(
        reverse("admin:customers_member_import"), {"import_file": upload, "format": "0"}
    )

    invalid = response.context["result"].invalid_rows
    assert [(row.number, sorted(row.field_specific_errors)) for row in invalid] == [
        (2, ["phone"]),
        (3, ["birth_year"]),
        (4, ["phone"]),
    ]
    assert "confirm_form" not in response.context
    assert Member.objects.count() == 0


def test_admin_import_with_bad_rows_says_nothing_was_imported(client, stores) -> None:
    """All or nothing: the page says the good rows were not imported either (import-export's
    own "correct these errors in your data where possible" read as if they had been)."""
    client.force_login(_staff("view_member", "import_member"))
    text = MEMBER_HEADER + "13800138000,王芳,,,,,,,\n123,,,,,,,,\n"
    pages = {}
    for language in ("en", "zh-hans"):
        upload = SimpleUploadedFile("members.csv", text.encode("utf-8-sig"))
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        pages[language] = client.post(
            reverse("admin:customers_member_import"), {"import_file": upload, "format": "0"}
        ).content.decode()

    assert "Nothing was imported: a file is imported whole or not at all." in pages["en"]
    assert "未导入任何数据：文件要么整体导入，要么完全不导入。" in pages["zh-hans"]
    assert "where possible" not in pages["en"]
    assert Member.objects.count() == 0


def test_admin_import_preview_names_a_phones_owner_only_to_users_who_see_phones(
    client, stores
) -> None:
    """A row giving member M2 the phone of another member: the preview named that member to
    an importer without `customers.view_phone`, telling them whose phone the number is. It
    still refuses the row, naming the owner only to those who may see phones."""
    owner = MemberFactory(phone="+8613800138000", member_no="OWNER-7")
    MemberIdentityFactory(member=owner, kind=Kind.PHONE, value="+8613800138000")
    MemberFactory(phone="+8613900139000", member_no="M2")
    text = MEMBER_HEADER + "13800138000,,M2,,,,,,\n"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    pages = {}
    for who, codenames in (
        ("importer", ("view_member", "import_member")),
        ("with phones", ("view_member", "import_member", "view_phone")),
    ):
        client.force_login(_staff(*codenames))
        upload = SimpleUploadedFile("members.csv", text.encode("utf-8"))
        pages[who] = client.post(
            reverse("admin:customers_member_import"), {"import_file": upload, "format": "0"}
        ).content.decode()

    assert "This phone belongs to another member, not to M2." in pages["importer"]
    assert "OWNER-7" not in pages["importer"]
    assert "This phone belongs to member OWNER-7, not to M2." in pages["with phones"]
    assert Member.objects.filter(member_no="M2").get().phone == "+8613900139000"


def test_admin_chat_import_needs_its_permission_and_works_with_it(client, stores: dict) -> None:
    client.force_login(_staff("view_communitymessage"))
    assert client.get(reverse("admin:customers_communitymessage_import")).status_code == 403
    assert client.get(reverse("admin:customers_communitymessage_changelist")).status_code == 200

    client.force_login(_staff("view_communitymessage", "import_communitymessage"))
    upload = SimpleUploadedFile("chat.csv", (EXAMPLES / "chat_messages.csv").read_bytes())
    preview = client.post(
        reverse("admin:customers_communitymessage_import"), {"import_file": upload, "format": "0"}
    )
    client.post(
        reverse("admin:customers_communitymessage_process_import"),
        preview.context["confirm_form"].initial,
    )
    assert CommunityMessage.objects.count() == 3


# --- members known only by a member card or a WeChat id ----------------------------------------


def test_members_card_only_and_wechat_only_rows_create_members_without_phone(stores) -> None:
    text = FULL_HEADER + ",赵敏,,female,,HZ0001,,,Ｃ０１,\n" + ",钱,,,,,,,,wxid_q\n"

    report = members_import(table=table(text))

    assert (report.errors, report.created) == ([], 2)
    assert set(Member.objects.values_list("name", "phone")) == {("赵敏", ""), ("钱", "")}
    assert identities() == {("", Kind.MEMBER_CARD, "C01"), ("", Kind.WECHAT, "wxid_q")}


def test_members_reimporting_a_card_or_wechat_id_updates_the_same_member(stores) -> None:
    first = members_import(table=table(FULL_HEADER + ",赵敏,,,,,,,C01,\n,钱,,,,,,,,wxid_q\n"))
    numbers = dict(
        MemberIdentity.objects.values_list("value", "member__member_no")
    )  # identity value → member number

    again = members_import(
        table=table(FULL_HEADER + ",赵敏,,,,HZ0002,,,C01,\n,钱多多,,,,,,1,,wxid_q\n")
    )
    unchanged = members_import(
        table=table(FULL_HEADER + ",赵敏,,,,HZ0002,,,C01,\n,钱多多,,,,,,1,,wxid_q\n")
    )

    assert (first.created, again.created, again.updated) == (2, 0, 2)
    assert (unchanged.updated, unchanged.unchanged) == (0, 2)
    assert Member.objects.count() == 2
    assert dict(MemberIdentity.objects.values_list("value", "member__member_no")) == numbers
    assert Member.objects.get(member_no=numbers["C01"]).home_store == stores["HZ0002"]
    qian = Member.objects.get(member_no=numbers["wxid_q"])
    assert (qian.name, qian.marketing_consent) == ("钱多多", True)


def test_members_card_row_later_gets_a_phone_and_a_wechat_id(stores) -> None:
    members_import(table=table(FULL_HEADER + ",赵敏,,,,,,,C01,\n"))
    member = Member.objects.get()

    report = members_import(table=table(FULL_HEADER + "13800138000,,,,,,,,C01,wxid_z\n"))
    # The phone is new and the card is known: a phone row never takes over a card silently.
    assert errors_of(report) == [(2, "member_card", "conflict")]

    report = members_import(table=table(FULL_HEADER + ",,,,,,,,C01,wxid_z\n"))
    assert (report.errors, report.updated) == ([], 1)
    report = members_import(table=table(FULL_HEADER + f"13800138000,,{member.member_no},,,,,,,\n"))
    assert (report.errors, report.updated) == ([], 1)
    member.refresh_from_db()
    assert member.phone == "+8613800138000"
    assert set(member.identities.values_list("kind", "value")) == {
        (Kind.MEMBER_CARD, "C01"),
        (Kind.WECHAT, "wxid_z"),
        (Kind.PHONE, "+8613800138000"),
    }
    assert Member.objects.count() == 1


def test_members_card_and_wechat_of_two_members_is_a_conflict(stores) -> None:
    members_import(table=table(FULL_HEADER + ",甲,,,,,,,C01,\n,乙,,,,,,,,wxid_b\n"))

    report = members_import(table=table(FULL_HEADER + ",,,,,,,,C01,wxid_b\n"))

    assert errors_of(report) == [(2, "wechat", "conflict")]
    assert report.errors[0].reason.startswith("WeChat id “wxid_b” belongs to another member")
    assert MemberIdentity.objects.count() == 2


def test_members_rows_without_any_identity_are_refused_and_nothing_is_written(stores) -> None:
    report = members_import(
        table=table(FULL_HEADER + ",甲,,,,,,,C01,\n,乙,,,,HZ0001,,,,\n,,,,,,,,,wxid_c\n")
    )

    assert [(e.row, e.column, e.code, e.reason) for e in report.errors] == [
        (
            3,
            "phone",
            "no_identity",
            "The row names no member: give a phone, a member card, a WeChat id or the "
            "member_no of an existing member.",
        )
    ]
    assert (Member.objects.count(), MemberIdentity.objects.count()) == (0, 0)


def test_members_duplicate_wechat_ids_in_the_file_are_reported(stores) -> None:
    report = members_import(table=table(FULL_HEADER + ",,,,,,,,,wxid_a\n,,,,,,,,,wxid_a\n"))
    assert errors_of(report) == [(3, "wechat", "duplicate")]
    assert Member.objects.count() == 0


def test_members_file_without_phone_column_imports_by_card(stores) -> None:
    report = members_import(table=table("member_card,name\nC7,孙\n"))
    assert (report.errors, report.created) == ([], 1)
    assert MemberIdentity.objects.get().value == "C7"


def test_members_wechat_export_round_trips(client, stores) -> None:
    members_import(table=table(FULL_HEADER + ",钱,,,,,,,,=wxid\n"))
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_member", "export_member", "view_phone"])
    )
    client.force_login(user)
    data = {"format": "0", "resource": "0"}
    data.update({f"memberresource_{name}": "on" for name in MemberResource().get_export_order()})

    response = client.post(reverse("admin:customers_member_export"), data)

    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(row["phone"], row["wechat"]) for row in rows] == [("", "'=wxid")]
    again = members_import(table=table_from_bytes(response.content))
    assert (again.errors, again.unchanged) == ([], 1)


def _export_all(client) -> bytes:
    client.force_login(_staff("view_member", "export_member", "view_phone"))
    data = {"format": "0", "resource": "0"}
    data.update({f"memberresource_{name}": "on" for name in MemberResource().get_export_order()})
    return client.post(reverse("admin:customers_member_export"), data).content


def test_export_with_erased_and_pos_card_only_members_imports_back(client, stores) -> None:
    """A member known by a POS card or a mini-program id alone, and an erased member, export
    with no phone, card or WeChat id: their rows name the member by number, so the whole
    export imports back (the file was refused, every row for nothing, for those rows)."""
    members_import(table=table(FULL_HEADER + "13800138000,王芳,,,,HZ0001,,1,,\n"))
    erased = Member.objects.get()
    member_erase(member=erased, by=None, requested_via="letter")
    till = MemberFactory(member_no="M77", phone="", home_store=stores["HZ0002"])
    MemberIdentityFactory(member=till, kind=Kind.POS_CARD, value="POS-1")
    exported = _export_all(client)

    report = members_import(table=table_from_bytes(exported))

    assert (report.errors, report.created, report.updated, report.unchanged) == ([], 0, 0, 2)
    assert Member.objects.count() == 2


def test_an_import_does_not_fill_in_an_erased_member_again(stores) -> None:
    members_import(table=table(FULL_HEADER + "13800138000,王芳,M1,female,1988,HZ0001,,1,,\n"))
    erased = Member.objects.get()
    member_erase(member=erased, by=None, requested_via="letter")

    rows = [
        "13900139000,王芳,M1,,,,,,,",  # a phone
        ",,M1,female,,,,,,",  # a personal field
        ",王芳,M1,,,,,,C1,",  # a name and a card
    ]
    reports = [members_import(table=table(FULL_HEADER + row + "\n")) for row in rows]

    assert [[(e.row, e.column, e.code) for e in report.errors] for report in reports] == [
        [(2, "member_no", "erased")],
        [(2, "member_no", "erased")],
        [(2, "member_no", "erased")],
    ]
    assert reports[0].errors[0].reason == (
        "The personal data of member M1 was erased; an import does not fill it in again. "
        "To record this person anew, leave member_no empty."
    )
    erased.refresh_from_db()
    assert (erased.name, erased.phone, erased.gender, erased.home_store.code) == (
        "",
        "",
        "unknown",
        "HZ0001",
    )
    assert MemberIdentity.objects.count() == 0


def test_a_masked_phone_on_an_erased_members_row_is_told_the_member_was_erased(stores) -> None:
    """An export made before the erasure by staff who may not see phones: the row's masked
    phone is not the erased member's (she has none), but what staff must learn is that M1 was
    erased."""
    members_import(table=table(FULL_HEADER + "13800138000,王芳,M1,,,,,,,\n"))
    member_erase(member=Member.objects.get(), by=None, requested_via="letter")

    report = members_import(table=table(FULL_HEADER + "138****8000,,M1,,,,,,,\n"))

    assert [(e.row, e.column, e.code, e.reason) for e in report.errors] == [
        (
            2,
            "member_no",
            "erased",
            "The personal data of member M1 was erased; an import does not fill it in again. "
            "To record this person anew, leave member_no empty.",
        )
    ]
    assert list(Member.objects.values_list("name", "phone", "is_erased")) == [("", "", True)]
    assert MemberIdentity.objects.count() == 0


def test_a_row_with_only_an_unknown_member_number_is_refused(stores) -> None:
    report = members_import(table=table(FULL_HEADER + ",甲,M404,,,,,,,\n"))
    assert [(e.row, e.column, e.code, e.reason) for e in report.errors] == [
        (
            2,
            "member_no",
            "no_identity",
            "No member has the number “M404”; a new member needs a phone, a member card or a "
            "WeChat id.",
        )
    ]
    assert Member.objects.count() == 0


def test_an_export_with_masked_phones_imports_back_and_keeps_the_phones(client, stores) -> None:
    """Staff who may not see phones export them masked; the file, edited and imported back,
    finds each member by number and keeps the stored phone (every row was refused: the
    masked phone was "not a valid mainland China mobile number")."""
    members_import(
        table=table(
            FULL_HEADER + "13800138000,王芳,M1,,,HZ0001,,1,C1,\n13900139000,李娜,M2,,,,,,,\n"
        )
    )
    client.force_login(_staff("view_member", "export_member"))
    data = {"format": "0", "resource": "0"}
    data.update({f"memberresource_{name}": "on" for name in MemberResource().get_export_order()})
    exported = client.post(reverse("admin:customers_member_export"), data).content.decode(
        "utf-8-sig"
    )
    assert "138****8000" in exported
    assert "13800138000" not in exported

    again = members_import(table=table(exported))
    edited = members_import(table=table(exported.replace("王芳", "王芳芳")))

    assert (again.errors, again.unchanged) == ([], 2)
    assert (edited.errors, edited.updated, edited.unchanged) == ([], 1, 1)
    assert sorted(Member.objects.values_list("member_no", "name", "phone")) == [
        ("M1", "王芳芳", "+8613800138000"),
        ("M2", "李娜", "+8613900139000"),
    ]


def test_a_masked_phone_must_be_the_mask_of_the_numbered_members_phone(stores) -> None:
    members_import(table=table(FULL_HEADER + "13800138000,王芳,M1,,,,,,,\n"))

    report = members_import(
        table=table(FULL_HEADER + "138****8000,王,,,,,,,C9,\n139****8000,王,M1,,,,,,,\n")
    )

    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (2, "phone", "masked_phone"),
        (3, "phone", "masked_phone"),
    ]
    assert [e.reason for e in report.errors] == [
        "“138****8000” is a masked phone, as an export shows phones to staff who may not see "
        "them: it names no member. Give the row's member_no (the stored phone is kept), or "
        "export with access to phones to import phones.",
        "“139****8000” is a masked phone and not that of member M1: a masked phone cannot be "
        "imported. Leave the cell empty to keep the stored phone, or export with access to "
        "phones to import phones.",
    ]
    assert list(Member.objects.values_list("name", "phone")) == [("王芳", "+8613800138000")]
    assert MemberIdentity.objects.filter(kind=Kind.MEMBER_CARD).count() == 0
