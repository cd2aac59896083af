"""Member erasure on request: personal data goes, statistics stay, the act is recorded."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.campaigns.models import BroadcastComment, GroupBuyJoin
from apps.campaigns.notifications.models import Notification
from apps.catalog.models import MemberSuggestion
from apps.customers.models import (
    MEMBER_PERSONAL_FIELDS,
    CommunityMessage,
    Member,
    MemberErasure,
    MemberIdentity,
    MemberMerge,
    MemberProfile,
    MemberTag,
    NpsAnswer,
)
from apps.procurement.models import AfterSalesCase
from apps.stores.models import OrderFulfilment, StockMovement
from linli.phones import phones_replaced_in

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet

# Stored in place of an erased member's chat text: a fixed marker, not a translated string,
# so every language shows the same data and keyword tagging finds nothing in it.
ERASED_TEXT = "[erased]"
REQUESTED_VIA_MAX_LENGTH = 80
# The fields erasure clears; the audit trail keeps that they changed, not what they held.
ERASED_FIELDS = MEMBER_PERSONAL_FIELDS
# What a writer puts after a surname to name a customer ("王女士", "李阿姨"): with the member's
# surname, as sure a pointer to her as her full name on her own order's case or note.
NAME_HONORIFICS = ("女士", "先生", "小姐", "阿姨", "大姐", "大哥", "大爷", "姐", "哥", "叔", "老师")
# Shorter names are left alone (a one-character name would blank that character everywhere),
# and so are shorter identity values, addresses and chat names (a card "88" is not "退款88元").
MIN_NAME_LENGTH = 2
MIN_VALUE_LENGTH = 4


class ErasureRefused(ValidationError):
    pass


# A same-city delivery still to be made: blanking its address and phone would strand a paid
# order, so the erasure waits for it (delivered, collected or cancelled).
OPEN_DELIVERY_STATUSES = (
    OrderFulfilment.Status.WAITING,
    OrderFulfilment.Status.READY,
    OrderFulfilment.Status.OUT_FOR_DELIVERY,
    OrderFulfilment.Status.FAILED,
)


def _open_deliveries_refuse(*, member: Member) -> None:
    """Refuse (`open_delivery`) while one of the member's orders is an open same-city delivery
    with the address they gave; the refusal names the orders."""
    open_orders = [
        reference or f"#{order_id}"
        for order_id, reference in OrderFulfilment.objects.filter(
            order__member=member, status__in=OPEN_DELIVERY_STATUSES
        )
        .exclude(delivery_address="")
        .order_by("order_id")
        .values_list("order_id", "order__reference")
    ]
    if open_orders:
        raise ErasureRefused(
            _(
                "Member %(number)s has deliveries still to be made (orders %(orders)s): their "
                "address and phone are needed until they are delivered or cancelled. Erase the "
                "member after that."
            )
            % {"number": member.member_no, "orders": ", ".join(open_orders)},
            code="open_delivery",
        )


def member_erase(
    *, member: Member, by: AbstractBaseUser | None, requested_via: str = ""
) -> MemberErasure:
    """Erase a member's personal data and record it. One transaction, member row locked.

    What happens:
    - name, phone → "", birth year → none, gender → unknown, marketing consent → off;
    - every identity (phone, cards, WeChat, mini-program) deleted, so no touchpoint can find
      the member again (a later purchase with the same phone makes a new member);
    - tags, the 360° profile and the nightly ranked suggestions deleted;
    - community messages: the rows stay linked (message counts per store and member stay
      right) but their text is replaced by "[erased]" — chat text is free-form personal data;
    - NPS answers: score and store stay (NPS per store stays right), comments are cleared;
    - group-buy joins keep member and quantity (成团率, live conversion and the review stay
      right) but lose the name the member wrote in the chat (`display_name`); broadcast
      comments keep their count but lose author and text ("[erased]");
    - the delivery details the member gave with an order (address, contact, phone, note) are
      emptied: the orders stay, their fulfilment status too;
    - messages to the member (SMS / WeChat / portal rows of the outbox: ready-for-pickup with
      its pickup code, receiving shortfalls, after-sales decisions, campaign previews) keep
      their row (kind, channel, status, times, store, campaign: the delivery counts) but title
      and body become "[erased]", and the member's phones are taken out of a gateway error;
    - text others typed about the member's orders — an after-sales case's description and
      decision note, the counter's delivery note, a stock movement's note (a cancellation's
      reason is copied there) — keeps everything but what names or reaches the member: her
      name (and surname + 女士/阿姨…), every phone number, her identity values, the delivery
      address and contact she gave, her chat names, each replaced by "[erased]"
      (`_texts_about_member_scrub`). Case kind, amounts, status, dates, remedy and who bears
      the cost are not touched, so after-sales figures and supplier quality stay;
    - snapshots of members merged into this one are emptied (they hold the same person's data);
    - the member's audit trail keeps who changed what and when, but the values of the erased
      fields and the old name in each entry's title are replaced (`_audit_trail_redact`);
    - orders are kept and stay linked for statistics: the member is now anonymous;
    - `is_erased` is set and a `MemberErasure` row records who, when and via what.

    The member number stays: it is a pseudonym that orders, merges and the erasure refer to.
    Erasing an erased member is refused (ErasureRefused) and changes nothing; so is erasing a
    member with a same-city delivery still to be made (`open_delivery`, the orders named):
    its address and phone are needed to deliver it.
    """
    with transaction.atomic():
        locked = Member.objects.select_for_update().filter(pk=member.pk).first()
        if locked is None:
            raise ErasureRefused(_("This member no longer exists."), code="missing")
        if locked.is_erased or MemberErasure.objects.filter(member=locked).exists():
            raise ErasureRefused(
                _("Member %(number)s is already erased.") % {"number": locked.member_no},
                code="already_erased",
            )
        _open_deliveries_refuse(member=locked)
        # Collected before anything is blanked: the texts others typed are scrubbed of them.
        identifiers = _member_identifiers(member=locked)
        _texts_about_member_scrub(member=locked, identifiers=identifiers)
        MemberIdentity.objects.filter(member=locked).delete()
        MemberTag.objects.filter(member=locked).delete()
        MemberProfile.objects.filter(member=locked).delete()
        MemberSuggestion.objects.filter(member_id=locked.pk).delete()
        CommunityMessage.objects.filter(member=locked).update(text=ERASED_TEXT)
        NpsAnswer.objects.filter(member=locked).update(comment="")
        # The 接龙 chat name is the member's name as the chat knows it: searching it in the
        # admin led back to the member number. A join with a member is counted by member, so
        # the KPIs and reviews stay as they were.
        GroupBuyJoin.objects.filter(member=locked).exclude(display_name="").update(display_name="")
        BroadcastComment.objects.filter(member=locked).update(author="", text=ERASED_TEXT)
        OrderFulfilment.objects.filter(order__member=locked).update(
            delivery_address="", delivery_contact="", delivery_phone="", member_note=""
        )
        MemberMerge.objects.filter(kept=locked).update(absorbed_snapshot={})
        locked.name = ""
        locked.phone = ""
        locked.birth_year = None
        locked.gender = Member.Gender.UNKNOWN
        locked.marketing_consent = False
        locked.is_erased = True
        locked.save(
            update_fields=[
                "name",
                "phone",
                "birth_year",
                "gender",
                "marketing_consent",
                "is_erased",
                "updated_at",
            ]
        )
        _audit_trail_redact(member=locked)
        erasure = MemberErasure.objects.create(
            member=locked,
            requested_via=requested_via.strip()[:REQUESTED_VIA_MAX_LENGTH],
            erased_by=by,
            erased_at=timezone.now(),
        )
    # The caller's instance must not keep showing the erased data.
    member.refresh_from_db()
    return erasure


def _audit_trail_redact(*, member: Member) -> None:
    """Replace the erased values in every audit entry of `member` (this erasure's own entry
    included: call it after the save). Entries are per HQ edit, so a member has few."""
    entries = list(LogEntry.objects.get_for_object(member))
    for entry in entries:
        entry.object_repr = str(member)
        changes = entry.changes if isinstance(entry.changes, dict) else {}
        for field in ERASED_FIELDS:
            if field in changes:
                changes[field] = [ERASED_TEXT, ERASED_TEXT]
        entry.changes = changes
        entry.changes_text = ""
    LogEntry.objects.bulk_update(entries, ["object_repr", "changes", "changes_text"])


def _member_identifiers(*, member: Member) -> list[str]:
    """What names or reaches `member` in text someone else typed, longest first: her name,
    phones and identity values, merged members' names and phones, the delivery addresses and
    contacts she gave, her chat names, and her surname with each of `NAME_HONORIFICS`."""
    names: set[str] = {member.name}
    values: set[str] = {member.phone}
    values.update(MemberIdentity.objects.filter(member=member).values_list("value", flat=True))
    for snapshot in MemberMerge.objects.filter(kept=member).values_list(
        "absorbed_snapshot", flat=True
    ):
        if isinstance(snapshot, dict):
            names.add(str(snapshot.get("name") or ""))
            values.add(str(snapshot.get("phone") or ""))
    for address, contact, phone in OrderFulfilment.objects.filter(order__member=member).values_list(
        "delivery_address", "delivery_contact", "delivery_phone"
    ):
        values.update((address, phone))
        names.add(contact)
    names.update(GroupBuyJoin.objects.filter(member=member).values_list("display_name", flat=True))
    names.update(BroadcastComment.objects.filter(member=member).values_list("author", flat=True))
    # A phone is also typed without its +86.
    values.update(value.removeprefix("+86") for value in list(values) if value.startswith("+86"))
    names = {name.strip() for name in names}
    surnames = {name[0] for name in names if len(name) >= MIN_NAME_LENGTH and _is_han(name[0])}
    names.update(surname + honorific for surname in surnames for honorific in NAME_HONORIFICS)
    known = {name for name in names if len(name) >= MIN_NAME_LENGTH}
    known.update(value.strip() for value in values if len(value.strip()) >= MIN_VALUE_LENGTH)
    return sorted(known, key=lambda text: (-len(text), text))


def _is_han(character: str) -> bool:
    return "\u4e00" <= character <= "\u9fff"


def _text_scrub(text: str, *, pattern: re.Pattern[str] | None) -> str:
    """`text` with each identifier `pattern` matches, then every mobile number, replaced by
    `ERASED_TEXT`. One pass of one alternation (longest first): a replacement is never matched
    again."""
    if not text:
        return text
    scrubbed = pattern.sub(ERASED_TEXT, text) if pattern is not None else text
    return phones_replaced_in(scrubbed, replacement=ERASED_TEXT)


def _texts_about_member_scrub(*, member: Member, identifiers: list[str]) -> None:
    """Messages to `member` blanked, and the texts staff and HQ typed about her orders
    scrubbed of `identifiers` and phone numbers (see `member_erase`). Only text columns are
    written: no count, amount, status or date changes. A member has few such rows; each
    model is one read and one bulk write."""
    pattern = re.compile("|".join(map(re.escape, identifiers))) if identifiers else None
    to_member = Notification.objects.filter(member=member)
    to_member.update(title=ERASED_TEXT, body=ERASED_TEXT)
    _rows_scrub(to_member.exclude(last_error=""), ["last_error"], pattern=pattern)
    _rows_scrub(
        AfterSalesCase.objects.filter(Q(member=member) | Q(order__member=member)).filter(
            ~Q(description="") | ~Q(decision_note="")
        ),
        ["description", "decision_note"],
        pattern=pattern,
    )
    _rows_scrub(
        OrderFulfilment.objects.filter(order__member=member).exclude(delivery_note=""),
        ["delivery_note"],
        pattern=pattern,
    )
    _rows_scrub(
        StockMovement.objects.filter(order__member=member).exclude(note=""),
        ["note"],
        pattern=pattern,
    )


def _rows_scrub(
    queryset: QuerySet[Any], fields: list[str], *, pattern: re.Pattern[str] | None
) -> None:
    """Scrub `fields` of the rows of `queryset` (`_text_scrub`), cut to each field's length
    ("[erased]" is longer than most names), and write the changed rows back in one go."""
    limits = {field: queryset.model._meta.get_field(field).max_length for field in fields}
    changed = []
    for row in queryset.only("pk", *fields).order_by("pk"):
        before = [getattr(row, field) for field in fields]
        for field in fields:
            scrubbed = _text_scrub(getattr(row, field), pattern=pattern)
            setattr(row, field, scrubbed[: limits[field]] if limits[field] else scrubbed)
        if [getattr(row, field) for field in fields] != before:
            changed.append(row)
    if changed:
        queryset.model.objects.bulk_update(changed, fields)
