"""Chinese mobile numbers: one normalised form (+86…) in storage, masked everywhere it is shown."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_SEPARATORS = re.compile(r"[\s\-().]")
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def phone_normalise(raw: str) -> str:
    """Return `+86` followed by the 11-digit mobile number, or raise ValidationError.

    Accepts the forms tills and spreadsheets produce: `138 0013 8000`, `138-0013-8000`,
    `+86 138…`, `0086138…`, `86138…`, with full-width digits too.
    """
    value = _SEPARATORS.sub("", str(raw or "").strip())
    value = value.translate(str.maketrans("０１２３４５６７８９＋", "0123456789+"))
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    if not _MAINLAND_MOBILE.match(value):
        raise ValidationError(
            _("“%(value)s” is not a valid mainland China mobile number."),
            code="invalid_phone",
            params={"value": raw},
        )
    return "+86" + value


def phone_mask(phone: str | None) -> str:
    """`+8613800138000` → `138****8000`; anything shorter is masked whole."""
    if not phone:
        return ""
    digits = phone[3:] if phone.startswith("+86") else phone
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


# A mainland mobile number inside free text: 11 digits (half- or full-width) starting 1[3-9],
# spaced or dashed as people type them, with an optional +86 / 0086 / 86 in front.
_DIGIT = "[0-9０-９]"
_MOBILE_IN_TEXT = re.compile(
    rf"(?<![0-9０-９])(?:(?:\+|＋|00)?86[\s-]?)?[1１][3-9３-９]{_DIGIT}(?:[\s-]?{_DIGIT}){{8}}"
    rf"(?![0-9０-９])"
)


def phones_masked_in(text: str) -> str:
    """`text` with every mainland mobile number in it masked (`138****1234`)."""

    def masked(match: re.Match[str]) -> str:
        try:
            return phone_mask(phone_normalise(match.group()))
        except ValidationError:
            return "*" * len(match.group())

    return _MOBILE_IN_TEXT.sub(masked, text or "")


def phones_replaced_in(text: str, *, replacement: str) -> str:
    """`text` with every mainland mobile number in it (as `phones_masked_in` finds them)
    replaced by `replacement`: for text whose phones must go, not just be masked (erasure)."""
    return _MOBILE_IN_TEXT.sub(replacement, text or "")


def phone_for_viewer(phone: str | None, *, user: object) -> str:
    """The phone as this viewer may see it: whole with `customers.view_phone`, masked otherwise."""
    has_perm = getattr(user, "has_perm", None)
    if has_perm is not None and has_perm("customers.view_phone"):
        return (phone or "").removeprefix("+86")
    return phone_mask(phone)
