"""How a terminal API (the brand's mini-program backend, a chat bot) names the member it acts
for: the body's identity fields (`member_no`, `phone`, `wechat_openid`, `mini_program_openid`,
`display_name`) and their resolution through the unified member ID.

Shared by the group-buy API (`apps.campaigns.api.broadcasts`) and the mini-program order API
(`apps.stores.api.mini_program`): an app may not import another app's api package, so the one
definition lives here, beside the identity service it calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import serializers, status

from apps.customers.models import Member, MemberIdentity
from apps.customers.services.identity import IdentityConflict, IdentityInput, member_resolve
from linli.errors import ApiError, ErrorItem
from linli.phones import phone_normalise

if TYPE_CHECKING:
    from apps.stores.models import Store

# The body's identity keys and the unified member ID's kinds they name.
IDENTITY_KEYS = (
    ("phone", MemberIdentity.Kind.PHONE),
    ("wechat_openid", MemberIdentity.Kind.WECHAT),
    ("mini_program_openid", MemberIdentity.Kind.MINI_PROGRAM),
)
MEMBER_KEYS = ("member_no", *(key for key, _kind in IDENTITY_KEYS))


class MemberIdentitySerializer(serializers.Serializer):
    """Who is acting: a member number, a phone, a WeChat or mini-program openid (resolved
    through the unified member ID, creating the member at this store if new), and/or a display
    name (used alone when the person is not a member)."""

    member_no = serializers.CharField(required=False, max_length=20)
    phone = serializers.CharField(required=False, max_length=40)
    wechat_openid = serializers.CharField(required=False, max_length=128)
    mini_program_openid = serializers.CharField(required=False, max_length=128)
    display_name = serializers.CharField(required=False, max_length=60, allow_blank=True)

    def validate_phone(self, value: str) -> str:
        try:
            return phone_normalise(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error


def member_from(data: dict[str, Any], *, store: Store) -> Member | None:
    """The member the body names, or None (display name only). An unknown member number is a
    400 `unknown_member`; identities of two members pick the phone's owner, as the POS does.
    A new phone or openid makes a member whose home store is `store` (call it inside the
    transaction of the write it is for, so a refused write leaves no member behind)."""
    if data.get("member_no"):
        member = Member.objects.filter(member_no=data["member_no"], is_erased=False).first()
        if member is None:
            message = _("No member has this number.")
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
