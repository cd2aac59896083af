"""Member erasure on request: personal data goes, statistics stay, the act is recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.campaigns.models import BroadcastComment, GroupBuyJoin
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
from apps.stores.models import OrderFulfilment

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Stored in place of an erased member's chat text: a fixed marker, not a translated string,
# so every language shows the same data and keyword tagging finds nothing in it.
ERASED_TEXT = "[erased]"
REQUESTED_VIA_MAX_LENGTH = 80
# The fields erasure clears; the audit trail keeps that they changed, not what they held.
ERASED_FIELDS = MEMBER_PERSONAL_FIELDS


class ErasureRefused(ValidationError):
    pass


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
    - snapshots of members merged into this one are emptied (they hold the same person's data);
    - the member's audit trail keeps who changed what and when, but the values of the erased
      fields and the old name in each entry's title are replaced (`_audit_trail_redact`);
    - orders are kept and stay linked for statistics: the member is now anonymous;
    - `is_erased` is set and a `MemberErasure` row records who, when and via what.

    The member number stays: it is a pseudonym that orders, merges and the erasure refer to.
    Erasing an erased member is refused (ErasureRefused) and changes nothing.
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
