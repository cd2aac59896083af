"""NPS (net promoter score) per store and per region, computed with SQL aggregates.

NPS = % promoters (score 9–10) − % detractors (score 0–6), from −100 to +100; passives (7–8)
count in the total only. No answers → no NPS (None), not zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, ExpressionWrapper, F, FloatField, Q, QuerySet, Value

from apps.customers.models import NpsAnswer
from apps.stores.models import Region, Store

PROMOTER_MIN = 9
DETRACTOR_MAX = 6
ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class NpsFigure:
    key: int | None
    code: str
    label: str
    answers: int
    promoters: int
    passives: int
    detractors: int
    nps: Decimal | None


def _window(
    answers: QuerySet[NpsAnswer] | None, since: dt.datetime | None, until: dt.datetime | None
) -> QuerySet[NpsAnswer]:
    answers = NpsAnswer.objects.all() if answers is None else answers
    if since is not None:
        answers = answers.filter(answered_at__gte=since)
    if until is not None:
        answers = answers.filter(answered_at__lt=until)
    return answers


def _aggregates() -> dict[str, object]:
    return {
        "answer_count": Count("id"),
        "promoter_count": Count("id", filter=Q(score__gte=PROMOTER_MIN)),
        "detractor_count": Count("id", filter=Q(score__lte=DETRACTOR_MAX)),
    }


def _score_expression() -> ExpressionWrapper:
    return ExpressionWrapper(
        (F("promoter_count") - F("detractor_count")) * Value(100.0) / F("answer_count"),
        output_field=FloatField(),
    )


def _figure(row: dict[str, object], *, key: str, code: str, label: str) -> NpsFigure:
    answers = int(row["answer_count"] or 0)
    promoters = int(row["promoter_count"] or 0)
    detractors = int(row["detractor_count"] or 0)
    score = row.get("nps")
    return NpsFigure(
        key=row.get(key),  # type: ignore[arg-type]
        code=str(row.get(code) or ""),
        label=str(row.get(label) or ""),
        answers=answers,
        promoters=promoters,
        passives=answers - promoters - detractors,
        detractors=detractors,
        nps=(
            None
            if not answers or score is None
            else Decimal(str(score)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
        ),
    )


def nps_by_store(
    *,
    answers: QuerySet[NpsAnswer] | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[NpsFigure]:
    """One figure per store that has answers in the window, by store code. One query."""
    rows = (
        _window(answers, since, until)
        .values("store_id", "store__code", "store__name")
        .annotate(**_aggregates())
        .annotate(nps=_score_expression())
        .order_by("store__code")
    )
    return [_figure(row, key="store_id", code="store__code", label="store__name") for row in rows]


def nps_by_region(
    *,
    answers: QuerySet[NpsAnswer] | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[NpsFigure]:
    """One figure per region (all answers of its stores pooled), by region code. One query."""
    rows = (
        _window(answers, since, until)
        .values("store__region_id", "store__region__code", "store__region__name")
        .annotate(**_aggregates())
        .annotate(nps=_score_expression())
        .order_by("store__region__code")
    )
    return [
        _figure(
            row, key="store__region_id", code="store__region__code", label="store__region__name"
        )
        for row in rows
    ]


def _single(answers: QuerySet[NpsAnswer], *, key: int, code: str, label: str) -> NpsFigure:
    row = answers.aggregate(**_aggregates())
    count = row["answer_count"] or 0
    row["nps"] = (row["promoter_count"] - row["detractor_count"]) * 100.0 / count if count else None
    row.update({"key": key, "code": code, "label": label})
    return _figure(row, key="key", code="code", label="label")


def nps_for_store(
    *, store: Store, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> NpsFigure:
    """This store's figure (zero answers → `nps=None`). One query."""
    return _single(
        _window(None, since, until).filter(store=store),
        key=store.pk,
        code=store.code,
        label=store.name,
    )


def nps_for_region(
    *, region: Region, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> NpsFigure:
    """The region's figure, all its stores pooled. One query."""
    return _single(
        _window(None, since, until).filter(store__region=region),
        key=region.pk,
        code=region.code,
        label=region.name,
    )


def store_nps_answers(*, store: Store, member_id: int | None = None, limit: int = 20) -> list:
    """Latest answers at this store (optionally one member's), newest first."""
    answers = NpsAnswer.objects.filter(store=store)
    if member_id is not None:
        answers = answers.filter(member_id=member_id)
    return list(answers.order_by("-answered_at", "-pk")[:limit])
