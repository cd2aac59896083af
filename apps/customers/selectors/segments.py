"""Segments: which members a rule selects, as ONE member query (campaigns reuse it).

Criteria combine with AND; within the location criterion, a member qualifies when the home store
is one of the chosen stores OR lies in one of the chosen regions. Profile criteria (trust level,
recency, frequency, spend) only match members that have a profile, i.e. every member after the
nightly recompute. Erased members are never selected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.customers.models import Member, MemberTag, Segment

SAMPLE_SIZE = 20


@dataclass(frozen=True)
class SegmentRule:
    """A segment's criteria as plain values; empty tuples and None mean "no restriction"."""

    tags_any: tuple[int, ...] = ()
    tags_all: tuple[int, ...] = ()
    min_trust_level: int | None = None
    max_recency_days: int | None = None
    min_frequency_90d: int | None = None
    max_frequency_90d: int | None = None
    min_spend_90d: Decimal | None = None
    max_spend_90d: Decimal | None = None
    store_ids: tuple[int, ...] = ()
    region_ids: tuple[int, ...] = ()
    marketing_consent_required: bool = True


def _ids(values: Iterable[object]) -> tuple[int, ...]:
    return tuple(sorted({int(getattr(value, "pk", value)) for value in values}))


def segment_rule_of(
    *,
    tags_any: Iterable[object] = (),
    tags_all: Iterable[object] = (),
    stores: Iterable[object] = (),
    regions: Iterable[object] = (),
    **criteria: object,
) -> SegmentRule:
    """Build a rule from model instances or ids (form cleaned_data, campaign code, tests)."""
    return SegmentRule(
        tags_any=_ids(tags_any),
        tags_all=_ids(tags_all),
        store_ids=_ids(stores),
        region_ids=_ids(regions),
        **criteria,
    )


def segment_rule(*, segment: Segment) -> SegmentRule:
    """The saved segment's rule. Uses the prefetch cache when the segment was loaded with
    `prefetch_related("tags_any", "tags_all", "stores", "regions")`."""
    return segment_rule_of(
        tags_any=segment.tags_any.all(),
        tags_all=segment.tags_all.all(),
        stores=segment.stores.all(),
        regions=segment.regions.all(),
        min_trust_level=segment.min_trust_level,
        max_recency_days=segment.max_recency_days,
        min_frequency_90d=segment.min_frequency_90d,
        max_frequency_90d=segment.max_frequency_90d,
        min_spend_90d=segment.min_spend_90d,
        max_spend_90d=segment.max_spend_90d,
        marketing_consent_required=segment.marketing_consent_required,
    )


def segment_rule_members(*, rule: SegmentRule) -> QuerySet[Member]:
    """Members selected by `rule`: one SQL query (tag criteria are EXISTS subqueries, so no
    join fans out and no DISTINCT is needed)."""
    members = Member.objects.filter(is_erased=False)
    if rule.marketing_consent_required:
        members = members.filter(marketing_consent=True)
    if rule.tags_any:
        members = members.filter(
            Exists(MemberTag.objects.filter(member=OuterRef("pk"), tag_id__in=rule.tags_any))
        )
    for tag_id in rule.tags_all:
        members = members.filter(
            Exists(MemberTag.objects.filter(member=OuterRef("pk"), tag_id=tag_id))
        )
    profile_filters = {
        "profile__trust_level__gte": rule.min_trust_level,
        "profile__recency_days__lte": rule.max_recency_days,
        "profile__frequency_90d__gte": rule.min_frequency_90d,
        "profile__frequency_90d__lte": rule.max_frequency_90d,
        "profile__spend_90d__gte": rule.min_spend_90d,
        "profile__spend_90d__lte": rule.max_spend_90d,
    }
    members = members.filter(
        **{lookup: value for lookup, value in profile_filters.items() if value is not None}
    )
    if rule.store_ids or rule.region_ids:
        location = Q()
        if rule.store_ids:
            location |= Q(home_store_id__in=rule.store_ids)
        if rule.region_ids:
            location |= Q(home_store__region_id__in=rule.region_ids)
        members = members.filter(location)
    return members


def segment_members(*, segment: Segment) -> QuerySet[Member]:
    """Members of a saved segment, evaluated live (for campaigns and the admin)."""
    return segment_rule_members(rule=segment_rule(segment=segment))


@dataclass(frozen=True)
class SegmentSummary:
    count: int
    sample: list[Member] = field(default_factory=list)


def segment_rule_summary(*, rule: SegmentRule, sample_size: int = SAMPLE_SIZE) -> SegmentSummary:
    """Live count and the first `sample_size` members by member number (two queries)."""
    members = segment_rule_members(rule=rule)
    sample = list(
        members.select_related("home_store")
        .only("pk", "member_no", "name", "phone", "home_store__code", "home_store__name")
        .order_by("member_no")[:sample_size]
    )
    count = members.count() if len(sample) == sample_size else len(sample)
    return SegmentSummary(count=count, sample=sample)


def segment_summary(*, segment: Segment, sample_size: int = SAMPLE_SIZE) -> SegmentSummary:
    return segment_rule_summary(rule=segment_rule(segment=segment), sample_size=sample_size)
