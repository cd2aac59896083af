"""Mobile numbers and the member inside free text, redacted for staff without member data
(after-sales descriptions in the admin, docs/access.md)."""

from __future__ import annotations

import pytest

from linli.admin_helpers import member_text_redact
from linli.phones import phones_masked_in
from tests.factories import MemberFactory


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 13812345678 now", "call 138****5678 now"),
        ("+86 138-1234-5678", "138****5678"),
        ("0086 13912345678.", "139****5678."),
        ("电话：１３８１２３４５６７８。", "电话：138****5678。"),
        ("138 1234 5678 or 13912345678", "138****5678 or 139****5678"),
    ],
)
def test_phones_masked_in_masks_every_mobile_number_in_text(text: str, expected: str) -> None:
    assert phones_masked_in(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 1234567890123",  # longer than a phone number
        "12345678901",  # not a mobile prefix
        "batch 2026-12-05, 3 boxes",
        "",
    ],
)
def test_phones_masked_in_leaves_other_numbers(text: str) -> None:
    assert phones_masked_in(text) == text


@pytest.mark.django_db
def test_member_text_redact_replaces_the_member_and_masks_phones() -> None:
    member = MemberFactory(name="王小芳", member_no="M00123704")
    text = "王小芳 (M00123704, 13812345678) says 王小芳's berries were soft"
    assert member_text_redact(text, member=member) == (
        f"{member.masked_label} ({member.masked_label}, 138****5678) says "
        f"{member.masked_label}'s berries were soft"
    )
    assert member_text_redact("13812345678: soft", member=None) == "138****5678: soft"
