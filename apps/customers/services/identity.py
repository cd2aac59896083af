"""The unified member ID: resolve touchpoint identities to one member, merge duplicates.

`member_resolve` is what every touchpoint (POS till, mini-program, chat bot, import) calls with
whatever it saw of a shopper; `member_merge` is what HQ calls when two members turn out to be
one person.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.customers.models import (
    CommunityMessage,
    Member,
    MemberErasure,
    MemberIdentity,
    MemberMerge,
    MemberProfile,
    MemberTag,
    NpsAnswer,
)
from apps.stores.models import Order, Store
from linli.phones import phone_normalise

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Kind = MemberIdentity.Kind

# When identities given together belong to different members, the conflict names the owner of
# the identity that comes first in this order as "first member" (a phone is personal, a card
# may be shared in a family, a WeChat ID is the weakest link to a till sale).
KIND_PRIORITY: tuple[str, ...] = (
    Kind.PHONE,
    Kind.MEMBER_CARD,
    Kind.POS_CARD,
    Kind.MINI_PROGRAM,
    Kind.WECHAT,
)

MEMBER_NO_PREFIX = "M"
MEMBER_NO_DIGITS = 11
IDENTITY_VALUE_MAX_LENGTH = 128
RESOLVE_ATTEMPTS = 4
EVIDENCE_MAX_LENGTH = 255
NAME_MAX_LENGTH = 60


@dataclass(frozen=True)
class IdentityInput:
    """One way a touchpoint recognised a shopper: `kind` is a `MemberIdentity.Kind` value."""

    kind: str
    value: str


@dataclass(frozen=True)
class ResolveResult:
    member: Member
    created: bool
    attached: list[MemberIdentity] = field(default_factory=list)


class IdentityConflict(Exception):  # noqa: N818 - the domain word reads better than "...Error"
    """Identities given together belong to two (or more) different members.

    Nothing is written. `first_member` owns the highest-priority identity given (see
    KIND_PRIORITY); `member_numbers` lists every member involved, first member first.
    """

    def __init__(self, *, members: list[Member]) -> None:
        self.members = members
        self.first_member = members[0]
        self.member_numbers = [member.member_no for member in members]
        super().__init__(
            _("These identities belong to different members: %(numbers)s. Merge them first.")
            % {"numbers": ", ".join(self.member_numbers)}
        )


class MergeRefused(ValidationError):
    pass


def member_no_generate() -> str:
    """A new member number: "M" + 11 random digits (not guessable from a neighbour's number).

    Uniqueness is enforced by the database; callers retry on IntegrityError.
    """
    return f"{MEMBER_NO_PREFIX}{secrets.randbelow(10**MEMBER_NO_DIGITS):0{MEMBER_NO_DIGITS}d}"


def identity_value_normalise(*, kind: str, value: str) -> str:
    """The stored form of an identity value; raises ValidationError for unusable input.

    Phones become `+86…` (any common Chinese format); other kinds are NFKC-normalised (so
    full-width card numbers match) and stripped.
    """
    if kind not in Kind.values:
        raise ValidationError(
            _("Unknown identity kind “%(kind)s”.") % {"kind": kind}, code="invalid_kind"
        )
    if kind == Kind.PHONE:
        return phone_normalise(value)
    cleaned = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not cleaned:
        raise ValidationError(
            _("The %(kind)s value is empty.") % {"kind": Kind(kind).label}, code="empty"
        )
    if len(cleaned) > IDENTITY_VALUE_MAX_LENGTH:
        raise ValidationError(
            _("The %(kind)s value is longer than %(max)d characters.")
            % {"kind": Kind(kind).label, "max": IDENTITY_VALUE_MAX_LENGTH},
            code="too_long",
        )
    return cleaned


def identities_normalise(identities: Iterable[IdentityInput]) -> list[IdentityInput]:
    """Normalised, de-duplicated identities in priority order; ValidationError names the kind."""
    errors: dict[str, list[ValidationError]] = {}
    seen: dict[tuple[str, str], IdentityInput] = {}
    for identity in identities:
        try:
            value = identity_value_normalise(kind=identity.kind, value=identity.value)
        except ValidationError as error:
            errors.setdefault(str(identity.kind), []).extend(error.error_list)
            continue
        seen.setdefault((identity.kind, value), IdentityInput(kind=identity.kind, value=value))
    if errors:
        raise ValidationError(errors)
    return sorted(seen.values(), key=lambda item: KIND_PRIORITY.index(item.kind))


def member_resolve(
    *,
    identities: Iterable[IdentityInput],
    home_store: Store | None = None,
    name: str = "",
) -> ResolveResult:
    """Find the member who owns any of `identities`, or create one; attach the identities the
    member does not have yet. Returns `ResolveResult(member, created, attached)`.

    - A phone identity also matches `Member.phone`; the member's empty `phone`, `name` and
      `home_store` are filled from the input, never overwritten.
    - Identities owned by two different members raise `IdentityConflict` and write nothing:
      merging is a human decision (`member_merge`).
    - Race-safe: (kind, value) and the member phone are unique in the database; when a
      concurrent call wins the race, this one rolls back its savepoint and resolves again, so
      two simultaneous calls for the same new phone end with one member.
    """
    wanted = identities_normalise(identities)
    if not wanted:
        raise ValidationError(_("At least one identity is needed to find a member."))
    for attempt in range(1, RESOLVE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _resolve_once(
                    wanted=wanted, home_store=home_store, name=name.strip()[:NAME_MAX_LENGTH]
                )
        except IntegrityError:
            if attempt == RESOLVE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def member_for_identities(identities: Iterable[IdentityInput]) -> Member | None:
    """The member `member_resolve` would record for these identities, read-only: the owner
    of the highest-priority identity (phone first), or None when nobody owns any of them (or
    none is given). Writes nothing; ValidationError for a malformed identity."""
    wanted = identities_normalise(identities)
    if not wanted:
        return None
    owners = _owners_by_priority(wanted)
    return owners[0] if owners else None


def _owners_by_priority(wanted: list[IdentityInput]) -> list[Member]:
    """Members owning any wanted identity, ordered by the priority of what they own."""
    query = Q()
    for identity in wanted:
        query |= Q(kind=identity.kind, value=identity.value)
    owner_rank: dict[int, int] = {}
    rank_of = {(item.kind, item.value): rank for rank, item in enumerate(wanted)}
    for member_id, kind, value in MemberIdentity.objects.filter(query).values_list(
        "member_id", "kind", "value"
    ):
        rank = rank_of[(kind, value)]
        owner_rank[member_id] = min(rank, owner_rank.get(member_id, rank))
    phones = [item.value for item in wanted if item.kind == Kind.PHONE]
    if phones:
        for member_id, phone in Member.objects.filter(phone__in=phones).values_list("pk", "phone"):
            rank = rank_of[(Kind.PHONE, phone)]
            owner_rank[member_id] = min(rank, owner_rank.get(member_id, rank))
    if not owner_rank:
        return []
    members = Member.objects.in_bulk(list(owner_rank))
    return [
        members[member_id] for member_id in sorted(owner_rank, key=lambda pk: (owner_rank[pk], pk))
    ]


def _resolve_once(
    *, wanted: list[IdentityInput], home_store: Store | None, name: str
) -> ResolveResult:
    owners = _owners_by_priority(wanted)
    if len(owners) > 1:
        raise IdentityConflict(members=owners)
    phones = [item.value for item in wanted if item.kind == Kind.PHONE]
    created = not owners
    if created:
        member = Member.objects.create(
            member_no=member_no_generate(),
            phone=phones[0] if phones else "",
            name=name,
            home_store=home_store,
        )
    else:
        member = owners[0]
        changed: list[str] = []
        if not member.phone and phones:
            member.phone = phones[0]
            changed.append("phone")
        if not member.name and name:
            member.name = name
            changed.append("name")
        if member.home_store_id is None and home_store is not None:
            member.home_store = home_store
            changed.append("home_store")
        if changed:
            member.save(update_fields=[*changed, "updated_at"])
    owned = set(member.identities.values_list("kind", "value"))
    attached = MemberIdentity.objects.bulk_create(
        [
            MemberIdentity(member=member, kind=item.kind, value=item.value)
            for item in wanted
            if (item.kind, item.value) not in owned
        ]
    )
    return ResolveResult(member=member, created=created, attached=attached)


# --- merging ------------------------------------------------------------------------------------

# Relations of Member that member_merge handles explicitly. Any other relation (added later by
# another app) is re-pointed generically, so deleting the absorbed member never cascades data away.
_HANDLED_RELATIONS = {
    (Order, "member"),
    (MemberIdentity, "member"),
    (MemberTag, "member"),
    (NpsAnswer, "member"),
    (CommunityMessage, "member"),
    (MemberProfile, "member"),
    (MemberMerge, "kept"),
    (MemberErasure, "member"),
}

_FILLABLE_FIELDS = ("name", "birth_year", "home_store", "phone")


@dataclass(frozen=True)
class MergePreview:
    """What `member_merge(keep=keep, absorb=absorb)` would move, for a confirmation page."""

    keep: Member
    absorb: Member
    moves: dict[str, int]
    filled_fields: list[str]

    @property
    def filled_labels(self) -> list[str]:
        """The fields to fill as the page's reader calls them ("birth year", "出生年份"), not
        their code names."""
        return [str(Member._meta.get_field(name).verbose_name) for name in self.filled_fields]


def member_merge_preview(*, keep: Member, absorb: Member) -> MergePreview:
    """Counts of what would move from `absorb` to `keep`; reads only."""
    keep_tags = MemberTag.objects.filter(member=keep).values("tag_id")
    moves = {
        "orders": Order.objects.filter(member=absorb).count(),
        "identities": MemberIdentity.objects.filter(member=absorb).count(),
        "tags": MemberTag.objects.filter(member=absorb).exclude(tag_id__in=keep_tags).count(),
        "tags_combined": MemberTag.objects.filter(member=absorb, tag_id__in=keep_tags).count(),
        "nps_answers": NpsAnswer.objects.filter(member=absorb).count(),
        "messages": CommunityMessage.objects.filter(member=absorb).count(),
    }
    return MergePreview(
        keep=keep, absorb=absorb, moves=moves, filled_fields=_fields_to_fill(keep, absorb)
    )


def _fields_to_fill(keep: Member, absorb: Member) -> list[str]:
    filled = [
        name
        for name in _FILLABLE_FIELDS
        if getattr(keep, _attname(name)) in ("", None)
        and getattr(absorb, _attname(name)) not in ("", None)
    ]
    if keep.gender == Member.Gender.UNKNOWN and absorb.gender != Member.Gender.UNKNOWN:
        filled.append("gender")
    return filled


def _attname(name: str) -> str:
    return Member._meta.get_field(name).attname


def _member_snapshot(member: Member) -> dict[str, Any]:
    return {
        "member_no": member.member_no,
        "name": member.name,
        "phone": member.phone,
        "gender": member.gender,
        "birth_year": member.birth_year,
        "home_store_id": member.home_store_id,
        "joined_at": member.joined_at.isoformat(),
        "marketing_consent": member.marketing_consent,
        "identities": [
            {"kind": kind, "value": value}
            for kind, value in member.identities.order_by("pk").values_list("kind", "value")
        ],
    }


def _combined_evidence(first: str, second: str) -> str:
    parts = [part for part in (first.strip(), second.strip()) if part]
    if len(parts) == 2 and parts[0] == parts[1]:
        parts = parts[:1]
    combined = "; ".join(parts)
    if len(combined) > EVIDENCE_MAX_LENGTH:
        combined = combined[: EVIDENCE_MAX_LENGTH - 1] + "…"
    return combined


def member_merge(*, keep: Member, absorb: Member, by: AbstractBaseUser | None) -> MemberMerge:
    """Move everything of `absorb` to `keep`, record the merge, delete `absorb`.

    One transaction; both member rows are locked with SELECT … FOR UPDATE in primary-key order,
    so two merges touching the same members cannot deadlock or interleave.

    - Orders, identities, NPS answers, community messages and earlier merge records are
      re-pointed with set-wise UPDATEs; so is any relation to Member added later by other apps.
    - Tags: a tag only the absorbed member has moves; a tag both have stays once, on the kept
      member, with both evidences combined (their facts and their texts; source of the kept
      row wins).
    - The absorbed member's profile is deleted; the kept one is recomputed by the nightly run.
    - Empty fields of `keep` (name, birth year, gender, home store, phone) are filled from
      `absorb`; `joined_at` becomes the earlier of the two; `marketing_consent` stays as the
      kept member gave it (consent is never inferred from another record).

    Refuses (MergeRefused, nothing written): merging a member into itself, erased members,
    members that no longer exist.
    """
    if keep.pk == absorb.pk:
        raise MergeRefused(_("A member cannot be merged into itself."), code="same_member")
    with transaction.atomic():
        locked = {
            member.pk: member
            for member in Member.objects.select_for_update()
            .filter(pk__in=[keep.pk, absorb.pk])
            .order_by("pk")
        }
        if len(locked) != 2:
            raise MergeRefused(
                _("One of the members no longer exists (already merged?)."), code="missing"
            )
        keep, absorb = locked[keep.pk], locked[absorb.pk]
        erased = [member.member_no for member in (keep, absorb) if member.is_erased]
        if erased:
            raise MergeRefused(
                _("Erased members cannot be merged: %(numbers)s.") % {"numbers": ", ".join(erased)},
                code="erased",
            )
        snapshot = _member_snapshot(absorb)
        moved = _relations_move(keep=keep, absorb=absorb)
        _fields_fill(keep=keep, absorb=absorb)
        merge = MemberMerge.objects.create(
            kept=keep,
            absorbed_member_no=absorb.member_no,
            absorbed_snapshot=snapshot,
            moved=moved,
            merged_by=by,
            merged_at=timezone.now(),
        )
        absorb.delete()
    return merge


def _relations_move(*, keep: Member, absorb: Member) -> dict[str, int]:
    moved: dict[str, int] = {}
    moved["orders"] = Order.objects.filter(member=absorb).update(member=keep)
    moved["identities"] = MemberIdentity.objects.filter(member=absorb).update(member=keep)

    keep_tags = {row.tag_id: row for row in MemberTag.objects.filter(member=keep)}
    shared = list(MemberTag.objects.filter(member=absorb, tag_id__in=list(keep_tags)))
    for absorbed_tag in shared:  # a handful of tags per member, not a bulk path
        kept_tag = keep_tags[absorbed_tag.tag_id]
        kept_tag.evidence = _combined_evidence(kept_tag.evidence, absorbed_tag.evidence)
        kept_tag.evidence_facts = list(kept_tag.evidence_facts or []) + [
            fact
            for fact in absorbed_tag.evidence_facts or []
            if fact not in (kept_tag.evidence_facts or [])
        ]
        kept_tag.created_at = min(kept_tag.created_at, absorbed_tag.created_at)
        kept_tag.save(update_fields=["evidence", "evidence_facts", "created_at"])
    MemberTag.objects.filter(pk__in=[row.pk for row in shared]).delete()
    moved["tags"] = MemberTag.objects.filter(member=absorb).update(member=keep)
    moved["tags_combined"] = len(shared)

    moved["nps_answers"] = NpsAnswer.objects.filter(member=absorb).update(member=keep)
    moved["messages"] = CommunityMessage.objects.filter(member=absorb).update(member=keep)
    moved["earlier_merges"] = MemberMerge.objects.filter(kept=absorb).update(kept=keep)
    moved["profiles_dropped"] = MemberProfile.objects.filter(member=absorb).delete()[0]

    for relation in Member._meta.related_objects:
        model = relation.related_model
        field_name = relation.field.name
        if (model, field_name) in _HANDLED_RELATIONS or not isinstance(
            relation.field, models.ForeignKey
        ):
            continue
        if relation.many_to_many:
            continue
        count = model._default_manager.filter(**{field_name: absorb}).update(**{field_name: keep})
        if count:
            moved[f"{model._meta.label_lower}.{field_name}"] = count
    return moved


def _fields_fill(*, keep: Member, absorb: Member) -> None:
    filled = _fields_to_fill(keep, absorb)
    if "phone" in filled:
        # The phone is unique among members: free it on the absorbed row first.
        Member.objects.filter(pk=absorb.pk).update(phone="")
    for name in filled:
        setattr(keep, _attname(name), getattr(absorb, _attname(name)))
    if absorb.joined_at < keep.joined_at:
        keep.joined_at = absorb.joined_at
        filled.append("joined_at")
    if filled:
        keep.save(update_fields=[_attname(name) for name in filled] + ["updated_at"])
