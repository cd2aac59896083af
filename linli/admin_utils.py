"""Admin pieces for big tables: a paginator that does not count millions of rows, a date
hierarchy that does not scan them, exact searches on indexed keys, and truncated text columns.

A changelist costs what its queries cost. Django's defaults each read the whole table:
the paginator's `COUNT(*)`, the date hierarchy's `SELECT DISTINCT date_trunc(...)`, and
`icontains` searches across joins. The pieces below replace them with index probes, so a
list over 750 000 orders opens as fast as one over 300 (bench/bench_admin_changelists.py).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from linli.params import is_ascii_number

# Up to this many rows a list is counted exactly (a capped count reads at most this many);
# beyond it the count is PostgreSQL's estimate.
EXACT_COUNT_LIMIT = 10_000
# Text longer than this is cut in list columns (the change page shows it whole).
TRUNCATE_AT = 40


def _postgres_table_estimate(queryset: QuerySet) -> int:
    """The planner's row estimate for the model's table (pg_class.reltuples, kept by
    autovacuum/ANALYZE); -1 when the table was never analysed."""
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else -1


def _postgres_plan_rows(queryset: QuerySet) -> int:
    """The planner's estimate of how many rows `queryset` returns (EXPLAIN, nothing run)."""
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """A paginator whose count reads at most EXACT_COUNT_LIMIT + 1 rows.

    Small results are counted exactly. An unfiltered list over a big PostgreSQL table takes
    the table's row estimate (one catalogue lookup); a filtered one counts up to the limit
    and, past it, takes the planner's estimate for the filtered query. An estimate can be
    off by a few percent: the last pages may then be short or empty, which the admin shows
    as such. On other databases a result past the limit is counted exactly.
    """

    exact_limit = EXACT_COUNT_LIMIT
    # Set by `count`: True when the count is PostgreSQL's estimate, not a count of the rows.
    count_is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        is_postgres = connections[queryset.db].vendor == "postgresql"
        if is_postgres and not queryset.query.where:
            estimate = _postgres_table_estimate(queryset)
            if estimate > self.exact_limit:
                self.count_is_estimate = True
                return estimate
        capped = queryset.order_by()[: self.exact_limit + 1].count()
        if capped <= self.exact_limit:
            return capped
        if is_postgres:
            self.count_is_estimate = True
            return max(_postgres_plan_rows(queryset), capped)
        return super().count

    @property
    def count_shown(self) -> str:
        """The count as the changelist's note shows it (templates/admin/change_list.html): an
        estimate says so — "about 23,010", "约 23,010" — so that a list right after an import,
        before PostgreSQL's statistics caught up, does not look as if rows were lost; an exact
        count is shown as Django shows it."""
        return count_shown(self.count, estimate=self.count_is_estimate)


def count_shown(count: int, *, estimate: bool) -> str:
    """`count` as text, marked as an estimate when it is one ("about 23,010")."""
    if estimate:
        return _("about %(count)s") % {"count": f"{count:,}"}
    return str(count)


# --- searching by keys ---------------------------------------------------------------------


def exact_key_search(
    queryset: QuerySet,
    term: str,
    *,
    fields: Iterable[str] = (),
    integer_fields: Iterable[str] = (),
    related: dict[str, tuple[QuerySet, Callable[[str], Q]]] | None = None,
    related_limit: int = 200,
) -> QuerySet:
    """Rows whose key equals `term`: `fields` compared as text, `integer_fields` when the term
    is a number, and `related` foreign keys (`"store_id": (Store.objects, lambda t: Q(code=t))`)
    resolved first to at most `related_limit` ids with a small query each.

    Every comparison is an equality on an indexed column of the listed table, so the
    database combines index scans instead of joining and scanning millions of rows (an OR
    across joined tables cannot use the joined tables' indexes).
    """
    term = term.strip()
    if not term:
        return queryset
    condition = Q(pk__in=[])
    for field in fields:
        condition |= Q(**{field: term})
    if is_ascii_number(term) and len(term) <= 18:
        for field in integer_fields:
            condition |= Q(**{field: int(term)})
    for key, (candidates, match) in (related or {}).items():
        ids = list(candidates.filter(match(term)).values_list("pk", flat=True)[:related_limit])
        if ids:
            condition |= Q(**{f"{key}__in": ids})
    return queryset.filter(condition)


# --- date hierarchy without DISTINCT over the table ----------------------------------------


def _months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    months = []
    current = first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    return months


def date_range(queryset: QuerySet, field_name: str) -> tuple[Any, Any]:
    """The first and last value of `field_name` in `queryset`: two `ORDER BY … LIMIT 1`
    queries, each an index probe (PostgreSQL does not turn one MIN/MAX aggregate over a
    join into index probes)."""
    values = queryset.exclude(**{f"{field_name}__isnull": True}).values_list(field_name, flat=True)
    first = values.order_by(field_name).first()
    last = values.order_by(f"-{field_name}").first() if first is not None else None
    return first, last


def date_hierarchy_periods(
    bounds: tuple[Any, Any], *, kind: str, is_datetime: bool
) -> list[dt.date]:
    """The years, months or days (`kind`) between the first and the last value (`bounds`),
    instead of a DISTINCT over every row. A period inside the range without rows is listed
    too (and shows an empty list when chosen)."""
    first, last = bounds
    if first is None or last is None:
        return []
    if is_datetime:
        first = timezone.localtime(first).date() if timezone.is_aware(first) else first.date()
        last = timezone.localtime(last).date() if timezone.is_aware(last) else last.date()
    if kind == "year":
        return [dt.date(year, 1, 1) for year in range(first.year, last.year + 1)]
    if kind == "month":
        return _months_between(first, last)
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


class PeriodsQuerySetView:
    """What Django's `date_hierarchy` template tag reads from `cl.queryset`: the first/last
    aggregate and `dates()` / `datetimes()`, answered from one `date_range`."""

    def __init__(self, queryset: QuerySet, field_name: str) -> None:
        self._queryset = queryset
        self._field_name = field_name

    @cached_property
    def _bounds(self) -> tuple[Any, Any]:
        return date_range(self._queryset, self._field_name)

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if not args and set(kwargs) == {"first", "last"}:
            first, last = self._bounds
            return {"first": first, "last": last}
        return self._queryset.aggregate(*args, **kwargs)

    def _periods(self, kind: str, *, is_datetime: bool) -> list[Any]:
        periods = date_hierarchy_periods(self._bounds, kind=kind, is_datetime=is_datetime)
        if not is_datetime:
            return periods
        zone = timezone.get_current_timezone()
        return [dt.datetime(p.year, p.month, p.day, tzinfo=zone) for p in periods]

    def dates(self, field_name: str, kind: str, order: str = "ASC") -> list[dt.date]:
        return self._periods(kind, is_datetime=False)

    def datetimes(self, field_name: str, kind: str, *args: Any, **kwargs: Any) -> list[Any]:
        return self._periods(kind, is_datetime=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queryset, name)


def fast_date_hierarchy_changelist(changelist_class: type) -> type:
    """A ChangeList class whose date hierarchy reads MIN/MAX instead of every row.

    After the ChangeList has fetched its rows, `cl.queryset` is read only by the
    `date_hierarchy` template tag; it gets a view that answers `dates()` / `datetimes()`
    from the range (see `date_hierarchy_periods`).
    """

    class FastDateHierarchyChangeList(changelist_class):  # type: ignore[misc, valid-type]
        def get_results(self, request: Any) -> None:
            super().get_results(request)
            if self.date_hierarchy:
                self.queryset = PeriodsQuerySetView(self.queryset, self.date_hierarchy)

    return FastDateHierarchyChangeList


class FastDateHierarchyMixin:
    """A date hierarchy from the first and last dates instead of a DISTINCT over the table."""

    def get_changelist(self, request: Any, **kwargs: Any) -> type:
        changelist = super().get_changelist(request, **kwargs)  # type: ignore[misc]
        return fast_date_hierarchy_changelist(changelist)


class BigTableAdminMixin(FastDateHierarchyMixin):
    """For changelists over tables that grow without bound (orders, lines, ledgers, readings,
    notifications): no full count, neither of the result nor of the whole table, and a date
    hierarchy that reads two index entries."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False


# --- wide text columns ---------------------------------------------------------------------


def truncated_text(value: Any, *, length: int = TRUNCATE_AT) -> str:
    """`value` as text cut to `length` characters (with an ellipsis), the whole text in the
    tooltip; short text unchanged."""
    text = "" if value is None else str(value)
    short = Truncator(text).chars(length)
    if short == text:
        return text
    return format_html('<span class="truncated" title="{}">{}</span>', text, short)


def truncated(
    field_name: str,
    *,
    model: type[models.Model] | None = None,
    description: Any = None,
    length: int = TRUNCATE_AT,
) -> Callable[[Any], str]:
    """A list column showing `field_name` cut to `length` characters, the whole text in the
    cell's tooltip (the change page shows it whole). Pass `model` (or `description`) so the
    column keeps the field's translated name."""
    if description is None and model is not None:
        description = model._meta.get_field(field_name).verbose_name

    @admin.display(description=description or field_name, ordering=field_name)
    def column(obj: Any) -> str:
        return truncated_text(getattr(obj, field_name), length=length)

    column.__name__ = f"{field_name}_truncated"
    # Read by the member masking mixin (linli.admin_helpers) to find the text shown here.
    column.field_name = field_name  # type: ignore[attr-defined]
    return column
