"""Reads for the owner portal's member pages: a store's members, one member as the store sees them.

A store's members are those whose home store it is or who bought there; erased members are
left out (there is nothing left to show). Callers check access first (`apps.stores.access`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.db.models import F, FilteredRelation, Max, Prefetch, Q, QuerySet

from apps.customers.models import Member, MemberIdentity, MemberProfile, MemberTag, NpsAnswer
from apps.stores.models import Order, OrderLine, Store
from linli.phones import phone_mask

_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_LAST_FOUR = re.compile(r"^\d{4}$")
RECENT_ORDERS = 10
RECENT_NPS_ANSWERS = 10


def identity_mask(*, kind: str, value: str) -> str:
    """Identities as an owner sees them: phones `138****8000`, other IDs only their last 4."""
    if kind == MemberIdentity.Kind.PHONE:
        return phone_mask(value)
    if len(value) <= 4:
        return "*" * len(value)
    return "****" + value[-4:]


def name_masked(name: str) -> str:
    """A chat name for someone without MEMBER_DATA: its first character, the rest starred
    ("李阿姨" → "李**"); a one-character name shows as "*"."""
    name = name.strip()
    if len(name) <= 1:
        return "*" if name else ""
    return name[0] + "*" * (len(name) - 1)


def store_members(*, store: Store, query: str = "") -> QuerySet[Member]:
    """This store's members, most recent visitor first, with `last_visit_here` (their latest
    order at this store, or None) and the profile joined in.

    `query` matches a name (contains), a member number (exact or prefix), a member or POS
    card number (exact: members imported by card have no name or phone) or, when it is 4
    digits, the last 4 digits of the phone.
    """
    bought_here = Order.objects.filter(store=store, member__isnull=False).values("member_id")
    members = Member.objects.filter(is_erased=False).filter(
        Q(home_store=store) | Q(pk__in=bought_here)
    )
    text = query.strip().translate(_FULL_WIDTH_DIGITS)
    if text:
        carded = MemberIdentity.objects.filter(
            kind__in=[MemberIdentity.Kind.MEMBER_CARD, MemberIdentity.Kind.POS_CARD],
            value=unicodedata.normalize("NFKC", text),
        ).values("member_id")
        condition = Q(name__icontains=text) | Q(member_no__istartswith=text) | Q(pk__in=carded)
        if _LAST_FOUR.match(text):
            condition |= Q(phone__endswith=text)
        members = members.filter(condition)
    # Only this store's orders are joined (the join's own condition, on the (store,
    # placed_at) index): joining every order of these members at every store and filtering
    # inside the aggregate read and grouped all of them (1.4 s a page on the demo).
    return (
        members.select_related("profile")
        .annotate(
            orders_here=FilteredRelation("orders", condition=Q(orders__store=store)),
            last_visit_here=Max("orders_here__placed_at"),
        )
        .order_by(F("last_visit_here").desc(nulls_last=True), "member_no")
    )


@dataclass(frozen=True)
class ShownIdentity:
    kind: str
    kind_label: str
    masked_value: str


@dataclass
class StoreMemberPage:
    """One member as the owner of `store` sees them: nothing from other stores."""

    member: Member
    profile: MemberProfile | None
    identities: list[ShownIdentity]
    tags: list[MemberTag]
    recent_orders: list[Order]
    nps_answers: list[NpsAnswer]
    # "What to offer next time": filled from co-purchase rules once the decision engine has
    # them; empty until then (never invented).
    offers: list[object] = field(default_factory=list)


def store_member_page(*, store: Store, member_no: str) -> StoreMemberPage | None:
    """The member page, or None when `member_no` is not one of this store's members.

    A fixed number of queries whatever the member's history: member + profile, identities,
    tags (+ tag), recent orders at this store (+ lines + products), NPS answers at this store.
    """
    bought_here = Order.objects.filter(store=store, member__isnull=False).values("member_id")
    member = (
        Member.objects.filter(is_erased=False, member_no=member_no)
        .filter(Q(home_store=store) | Q(pk__in=bought_here))
        .select_related("profile", "home_store")
        .first()
    )
    if member is None:
        return None
    try:
        profile = member.profile
    except MemberProfile.DoesNotExist:
        profile = None
    identities = [
        ShownIdentity(
            kind=identity.kind,
            kind_label=identity.get_kind_display(),
            masked_value=identity_mask(kind=identity.kind, value=identity.value),
        )
        for identity in MemberIdentity.objects.filter(member=member).order_by("kind", "pk")
    ]
    tags = list(MemberTag.objects.filter(member=member).select_related("tag").order_by("tag__name"))
    recent_orders = list(
        Order.objects.filter(store=store, member=member)
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("pk"))
        )
        .order_by("-placed_at", "-pk")[:RECENT_ORDERS]
    )
    nps_answers = list(
        NpsAnswer.objects.filter(store=store, member=member).order_by("-answered_at", "-pk")[
            :RECENT_NPS_ANSWERS
        ]
    )
    return StoreMemberPage(
        member=member,
        profile=profile,
        identities=identities,
        tags=tags,
        recent_orders=recent_orders,
        nps_answers=nps_answers,
    )
