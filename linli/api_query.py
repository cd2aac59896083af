"""Numbers the API reads from a query string: ASCII digits only.

The request body's numbers go through `linli.api_fields`; a query string's numbers are read by
django-filter (number filters, a foreign key's id) and by the pagination (`limit`, `offset`),
which pass the text to `int()` or `Decimal()`, and those read any script's digits: `?region=１２`
(full-width) or `?limit=١٢` (Arabic-Indic) is 12. As in a body, the number meant is then not
certain, so such a parameter is a 400 `invalid` naming it, in the one error shape of
`linli.errors`. Settings name the backend and the pagination below as the API's defaults, so
every list view gets them (`tests/linli/test_api_query.py` walks the API's views).

Beyond that, filters are read as django-filter reads them (a filter's "abc" was already a 400).
The pagination is stricter than DRF's, which reads a `limit` of "abc", "0" or "-5" as the
default page size and such an `offset` as 0, so a caller's mistake went unnoticed: here a
`limit` that is not a whole number of 1 or more, or an `offset` that is not one of 0 or more,
is a 400 `invalid` naming it too (an empty one is as if absent); a `limit` above `MAX_LIMIT`
is cut to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from rest_framework import pagination, serializers
from rest_framework.request import Request

from linli.params import is_ascii_number

ASCII_DIGITS_ONLY = _("Write the number with the digits 0-9.")
LIMIT_NOT_A_NUMBER = _("Give a whole number of 1 or more.")
OFFSET_NOT_A_NUMBER = _("Give a whole number of 0 or more.")

_NUMBER_MODEL_FIELDS = (models.IntegerField, models.DecimalField, models.FloatField)


def field_reads_number(field: forms.Field) -> bool:
    """True when the form field turns its text into a number: an integer, decimal or float
    field (django-filter's CSV and `__in` fields are subclasses), a range of them, or a choice
    of model rows by a numeric key (a foreign key's id)."""
    if isinstance(field, forms.IntegerField):  # DecimalField and FloatField subclass it
        return True
    if isinstance(field, forms.ModelChoiceField):  # ModelMultipleChoiceField too
        model = field.queryset.model
        key = model._meta.get_field(field.to_field_name) if field.to_field_name else model._meta.pk
        return isinstance(key, _NUMBER_MODEL_FIELDS)
    if isinstance(field, forms.MultiValueField):  # django-filter's RangeField and friends
        return any(field_reads_number(inner) for inner in field.fields)
    return False


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _texts(inner)


class AsciiNumbersForm(forms.Form):
    """A filter form whose number fields refuse text that is not ASCII (`invalid`)."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, field in self.fields.items():
            if name in self.errors or not field_reads_number(field):
                continue
            raw = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
            if any(not text.isascii() for text in _texts(raw)):
                self.add_error(name, DjangoValidationError(ASCII_DIGITS_ONLY, code="invalid"))
        return cleaned


class FilterSet(filters.FilterSet):
    """The base of every API FilterSet (and of the ones `filterset_fields` builds)."""

    def get_form_class(self) -> type[forms.Form]:
        form = super().get_form_class()
        return type(form.__name__, (AsciiNumbersForm, form), {})


class DjangoFilterBackend(filters.DjangoFilterBackend):
    """The API's filter backend (settings `DEFAULT_FILTER_BACKENDS`): FilterSets built on
    `FilterSet` above; a view's own `filterset_class` must derive from it too."""

    filterset_base = FilterSet

    def get_filterset_class(self, view: Any, queryset: Any = None) -> type[FilterSet] | None:
        filterset_class = super().get_filterset_class(view, queryset)
        if filterset_class is not None and not issubclass(filterset_class, FilterSet):
            raise TypeError(
                f"{filterset_class.__qualname__} must derive from linli.api_query.FilterSet"
            )
        return filterset_class


def refuse_non_ascii_numbers(request: Request, name: str) -> None:
    """A 400 `invalid` naming `name` when any of its values in the query string is not ASCII."""
    if any(not value.isascii() for value in request.query_params.getlist(name)):
        raise serializers.ValidationError({name: [ASCII_DIGITS_ONLY]}, code="invalid")


# The largest number PostgreSQL's bigint holds, and so the largest LIMIT or OFFSET a query takes.
BIGINT_MAX = 2**63 - 1


def whole_number(digits: str) -> int:
    """ASCII digits read as a number, at most `BIGINT_MAX`: one too long for the database counts
    as huge. `int()` alone refuses text of more than 4300 digits (a ValueError, so a 500)."""
    significant = digits.lstrip("0") or "0"
    if len(significant) > len(str(BIGINT_MAX)):
        return BIGINT_MAX
    return min(int(significant), BIGINT_MAX)


def _refuse_unless_whole_number(request: Request, name: str, *, minimum: int, message: str) -> None:
    """A 400 `invalid` naming `name` when one of its non-empty values is not ASCII digits
    whose value is at least `minimum`."""
    refuse_non_ascii_numbers(request, name)
    for value in request.query_params.getlist(name):
        if value and not (is_ascii_number(value) and whole_number(value) >= minimum):
            raise serializers.ValidationError({name: [message]}, code="invalid")


# The most rows one page holds: a larger `limit` is cut to it (DRF's `max_limit`; the answer's
# `next` link goes on). Without it a limit beyond PostgreSQL's bigint reached the query's
# LIMIT and failed there (a 500).
MAX_LIMIT = 1000


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """DRF's, with `limit` (1 or more) and `offset` (0 or more) whole numbers in ASCII digits,
    anything else a 400 `invalid` naming the parameter (settings `DEFAULT_PAGINATION_CLASS`),
    and `limit` at most `MAX_LIMIT`."""

    max_limit = MAX_LIMIT

    # Read here rather than by DRF, whose `int()` fails on a value of more than 4300 digits
    # (then its limit was the default page size, not the maximum); the last value counts, as
    # in DRF.
    def get_limit(self, request: Request) -> int | None:
        _refuse_unless_whole_number(
            request, self.limit_query_param, minimum=1, message=LIMIT_NOT_A_NUMBER
        )
        value = request.query_params.get(self.limit_query_param)
        return min(whole_number(value), self.max_limit) if value else self.default_limit

    def get_offset(self, request: Request) -> int:
        _refuse_unless_whole_number(
            request, self.offset_query_param, minimum=0, message=OFFSET_NOT_A_NUMBER
        )
        value = request.query_params.get(self.offset_query_param)
        return whole_number(value) if value else 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
            self.offset_query_param: {"minimum": 0},
        }
        for parameter in parameters:
            if parameter["name"] in bounds:
                parameter["schema"] = {**parameter["schema"], **bounds[parameter["name"]]}
        return parameters
