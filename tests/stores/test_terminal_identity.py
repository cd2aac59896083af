"""The identity objects shared by the terminal APIs (apps.stores.terminal_identity)."""

from __future__ import annotations

from apps.customers.models import MemberIdentity
from apps.stores.terminal_identity import IdentityKindsSerializer


def test_the_identity_kinds_object_takes_exactly_the_unified_member_ids_kinds():
    """The object declares a field per kind: a new kind of `MemberIdentity` must be added
    there too, or the POS and tracking `member`s (which extend it) would refuse it."""
    assert list(IdentityKindsSerializer().fields) == list(MemberIdentity.Kind.values)
