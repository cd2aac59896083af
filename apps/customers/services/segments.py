"""Writes for segments: create and change a segment's rule, validated in one place."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.customers.models import Segment
from apps.customers.selectors.segments import SegmentRule


def segment_rule_validate(*, rule: SegmentRule) -> None:
    """Raise ValidationError (keyed by field) when a range is empty (minimum above maximum)."""
    errors: dict[str, str] = {}
    pairs = [
        ("min_frequency_90d", "max_frequency_90d"),
        ("min_spend_90d", "max_spend_90d"),
    ]
    for low_name, high_name in pairs:
        low, high = getattr(rule, low_name), getattr(rule, high_name)
        if low is not None and high is not None and low > high:
            errors[high_name] = _("The maximum must not be below the minimum.")
    for name in ("min_spend_90d", "max_spend_90d"):
        value = getattr(rule, name)
        if value is not None and value < 0:
            errors[name] = _("Spend cannot be negative.")
    if errors:
        raise ValidationError(errors)


def _rule_apply(*, segment: Segment, rule: SegmentRule) -> None:
    segment.min_trust_level = rule.min_trust_level
    segment.max_recency_days = rule.max_recency_days
    segment.min_frequency_90d = rule.min_frequency_90d
    segment.max_frequency_90d = rule.max_frequency_90d
    segment.min_spend_90d = rule.min_spend_90d
    segment.max_spend_90d = rule.max_spend_90d
    segment.marketing_consent_required = rule.marketing_consent_required


@transaction.atomic
def segment_create(
    *,
    name: str,
    rule: SegmentRule,
    description: str = "",
    by: settings.AUTH_USER_MODEL | None = None,
) -> Segment:
    """Create a segment with `rule` (validated first; nothing is written when invalid)."""
    segment_rule_validate(rule=rule)
    segment = Segment(name=name, description=description, created_by=by)
    _rule_apply(segment=segment, rule=rule)
    segment.full_clean()
    segment.save()
    _relations_set(segment=segment, rule=rule)
    return segment


@transaction.atomic
def segment_rule_change(*, segment: Segment, rule: SegmentRule) -> Segment:
    """Replace a saved segment's rule (validated first; nothing is written when invalid)."""
    segment_rule_validate(rule=rule)
    _rule_apply(segment=segment, rule=rule)
    segment.full_clean()
    segment.save()
    _relations_set(segment=segment, rule=rule)
    return segment


def _relations_set(*, segment: Segment, rule: SegmentRule) -> None:
    segment.tags_any.set(rule.tags_any)
    segment.tags_all.set(rule.tags_all)
    segment.stores.set(rule.store_ids)
    segment.regions.set(rule.region_ids)
