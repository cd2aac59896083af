"""NPS answers: one score (0–10) and an optional comment per member and store visit."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.customers.models import Member, NpsAnswer
from apps.stores.models import Store

SCORE_MIN = 0
SCORE_MAX = 10
COMMENT_MAX_LENGTH = 2000


def nps_answer_record(
    *,
    member: Member,
    store: Store,
    score: int,
    comment: str = "",
    answered_at: dt.datetime | None = None,
) -> NpsAnswer:
    """Record one answer. ValidationError (nothing written) for a score outside 0–10, a
    non-integer score, an over-long comment or an erased member."""
    errors: dict[str, str] = {}
    if isinstance(score, bool) or not isinstance(score, int):
        errors["score"] = _("The score must be a whole number from 0 to 10.")
    elif not SCORE_MIN <= score <= SCORE_MAX:
        errors["score"] = _("The score must be from 0 to 10, not %(score)d.") % {"score": score}
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        errors["comment"] = _("The comment is longer than %(max)d characters.") % {
            "max": COMMENT_MAX_LENGTH
        }
    if Member.objects.filter(pk=member.pk, is_erased=True).exists():
        errors["member"] = _("An erased member cannot answer.")
    if errors:
        raise ValidationError(errors)
    return NpsAnswer.objects.create(
        member=member,
        store=store,
        score=score,
        comment=comment,
        answered_at=answered_at or timezone.now(),
    )
