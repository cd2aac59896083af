"""How a terminal API names a member: the identity objects its bodies take, and their
resolution through the unified member ID.

- `MemberIdentitySerializer`: the member a mini-program backend or a chat bot acts for
  (`member_no`, `phone`, `wechat_openid`, `mini_program_openid`, `display_name`), shared by the
  group-buy API (`apps.campaigns.api.broadcasts`) and the mini-program order API
  (`apps.stores.api.mini_program`), resolved by `member_from`.
- `IdentityKindsSerializer`: whatever identity a till or a mini-program saw, keyed by the unified
  member ID's kinds, the base of the POS `member` (`apps.stores.api.pos`) and of the tracking
  events' `member` (`apps.campaigns.api.tracking`, which adds `member_no`).

An app may not import another app's api package (the import contracts in pyproject.toml), and
`linli` imports no app (these objects name `MemberIdentity`'s kinds), so the one definition of
each lives here, beside the terminal authentication (`terminal_auth`).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers, status

from apps.customers.models import Member, MemberIdentity
from apps.customers.services.identity import IdentityConflict, IdentityInput, member_resolve
from apps.customers.services.members import member_lock
from apps.stores.models import Store
from apps.stores.selectors import store_member_by_number
from linli import api_fields
from linli.errors import ApiError, ErrorItem

# The body's identity keys and the unified member ID's kinds they name.
IDENTITY_KEYS = (
    ("phone", MemberIdentity.Kind.PHONE),
    ("wechat_openid", MemberIdentity.Kind.WECHAT),
    ("mini_program_openid", MemberIdentity.Kind.MINI_PROGRAM),
)
MEMBER_KEYS = ("member_no", *(key for key, _kind in IDENTITY_KEYS))
# The 409s of `member_from`, for the OpenAPI descriptions of the views that call it.
MEMBER_CHANGED_DESCRIPTION = (
    "`member_erased` or `member_merged`: the member the body names was erased, or merged into "
    "another, while the request was handled; nothing was written, and the request sent again "
    "resolves the identity afresh (an erased member's phone or openid makes a new member, her "
    "number is `unknown_member`)"
)


class MemberIdentitySerializer(api_fields.RequestSerializer):
    """Who is acting: a member number (of this store's members only), a phone, a WeChat or
    mini-program openid (resolved through the unified member ID, creating the member at this
    store if new), and/or a display name (used alone when the person is not a member)."""

    member_no = serializers.CharField(required=False, max_length=20)
    phone = api_fields.PhoneField(required=False)
    wechat_openid = serializers.CharField(required=False, max_length=128)
    mini_program_openid = serializers.CharField(required=False, max_length=128)
    display_name = serializers.CharField(required=False, max_length=60, allow_blank=True)


class IdentityKindsSerializer(api_fields.RequestSerializer):
    """One or more identities, keyed by the unified member ID's kinds (`MemberIdentity.Kind`,
    tests/stores/test_terminal_identity.py holds them equal): every key optional, several
    allowed; another key is `unknown_field`, its message naming the kinds this object takes
    (a subclass's added fields too). A phone is normalised (`PhoneField`: 400 `invalid` when it
    is no mainland mobile number, `max_length` beyond 40 characters)."""

    phone = api_fields.PhoneField(required=False)
    member_card = serializers.CharField(required=False, max_length=128)
    wechat = serializers.CharField(required=False, max_length=128)
    mini_program = serializers.CharField(required=False, max_length=128)
    pos_card = serializers.CharField(required=False, max_length=128)

    def unknown_field_message(self) -> str:
        return _("Unknown identity kind; use one of: %(kinds)s.") % {
            "kinds": ", ".join(self.fields)
        }


def member_from(data: dict[str, Any], *, store: Store) -> Member | None:
    """The member the body names, or None (display name only).

    Members are network-wide, but a terminal names one by number only if the member is this
    store's (`store_member_by_number`: home store here, or bought here); any other number — of
    nobody, or of another store's member — is the same 400 `unknown_member`, so a terminal can
    neither act in another store's member's name nor learn that the number exists. A phone or
    openid is resolved network-wide (a member may shop anywhere; a new one makes a member whose
    home store is `store`); identities of two members pick the phone's owner, as the POS does.
    Call it inside the transaction of the write it is for, so a refused write leaves no member
    behind; it must be the write's first lock.

    The member's row is locked until that transaction ends (`member_lock`), and re-read: the
    member was found without a lock, and an erasure committed since must not get the write's
    address, phone, note or chat name stored on the erased member. Erased meanwhile: 409
    `member_erased`; merged into another meanwhile: 409 `member_merged`. Nothing is written
    either way, and the same request sent again resolves the identity afresh (a phone or
    openid of an erased member then makes a new member, her number is `unknown_member`; a
    merged member's identities name the member kept)."""
    member = _member_named(data, store=store)
    if member is None:
        return None
    locked = member_lock(member_id=member.pk)
    if locked is None:
        raise _changed_meanwhile(
            "member_merged",
            _(
                "This member was merged into another while the request was handled; nothing "
                "was written. Send the request again."
            ),
        )
    if locked.is_erased:
        raise _changed_meanwhile(
            "member_erased",
            _(
                "This member's personal data was erased while the request was handled; "
                "nothing was written."
            ),
        )
    return locked


def _changed_meanwhile(code: str, message: str) -> ApiError:
    return ApiError(
        status_code=status.HTTP_409_CONFLICT,
        code=code,
        detail=message,
        errors=[ErrorItem(index=None, field="", code=code, message=message)],
    )


def _member_named(data: dict[str, Any], *, store: Store) -> Member | None:
    """The member the body names, found without a lock (`member_from` locks it)."""
    if data.get("member_no"):
        member = store_member_by_number(store=store, member_no=data["member_no"])
        if member is None:
            message = _("No member of this store has this number.")
            raise ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code="unknown_member",
                detail=message,
                errors=[
                    ErrorItem(index=None, field="member_no", code="unknown_member", message=message)
                ],
            )
        return member
    identities = [
        IdentityInput(kind=kind, value=data[key]) for key, kind in IDENTITY_KEYS if data.get(key)
    ]
    if not identities:
        return None
    try:
        return member_resolve(
            identities=identities, home_store=store, name=data.get("display_name", "")
        ).member
    except IdentityConflict as conflict:
        return conflict.first_member
