"""Serializer fields the API shares: dates and checked moments, mainland mobile numbers, and
number fields, all reading ASCII digits only (every API serializer uses these, not DRF's own);
and `RequestSerializer`, the base of every request body's serializer, which refuses keys it does
not know (`unknown_field`) at every nesting level."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import QueryDict
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.utils import html, humanize_datetime

from linli.imports.contract import FUTURE_TOLERANCE, CellError, moment_check, moment_latest
from linli.phones import phone_normalise

# --- dates and times: ASCII digits only ----------------------------------------------------------
#
# DRF reads a date or a date-time with Django's `parse_date` / `parse_datetime`, whose fallback
# pattern's `\d` matches any script's digits: "２０２６-１２-０１T10:00" (full-width) is read as
# 2026-12-01 10:00. As with a number, the moment meant is then not certain: a 400 `invalid` with
# the field's own message. Every date or date-time a request body sends is one of these.


def _ascii_moment_check(
    field: serializers.DateField | serializers.DateTimeField, data: object
) -> None:
    if isinstance(data, str) and not data.isascii():
        if isinstance(field, serializers.DateTimeField):
            formats = humanize_datetime.datetime_formats(
                getattr(field, "input_formats", None) or api_settings.DATETIME_INPUT_FORMATS
            )
        else:
            formats = humanize_datetime.date_formats(
                getattr(field, "input_formats", None) or api_settings.DATE_INPUT_FORMATS
            )
        field.fail("invalid", format=formats)


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, refusing digits other than ASCII 0-9 (400 `invalid`)."""

    def to_internal_value(self, value: object) -> dt.datetime:
        _ascii_moment_check(self, value)
        return super().to_internal_value(value)


class DateField(serializers.DateField):
    """DRF's DateField, refusing digits other than ASCII 0-9 (400 `invalid`)."""

    def to_internal_value(self, value: object) -> dt.date:
        _ascii_moment_check(self, value)
        return super().to_internal_value(value)


# Every API serializer's dates and date-times are one of these (tests/linli/test_api_fields.py
# walks them all; `ModelSerializer` below generates them for a model's date fields).
ASCII_MOMENT_FIELDS = (DateTimeField, DateField)


class CheckedMomentField(DateTimeField):
    """A date-time in the imports' range (`moment_check`: not before 2000, not after now +
    `future_tolerance`), checked before any time-zone conversion; without an offset it is
    the site's local time. Year 1 would overflow a conversion (DRF's own check of a naive
    moment converts it to UTC), so a naive moment is only given its zone (no arithmetic)
    before the range check, and converted after it: 400 `too_early`, never a 500."""

    future_tolerance: dt.timedelta = FUTURE_TOLERANCE

    def enforce_timezone(self, value: dt.datetime) -> dt.datetime:
        if timezone.is_aware(value):
            aware = value
        else:
            zone = getattr(self, "timezone", None) or self.default_timezone()
            aware = value.replace(tzinfo=zone)
        try:
            moment_check(
                aware,
                value=value.isoformat(),
                latest=moment_latest(tolerance=self.future_tolerance),
            )
        except CellError as problem:
            raise serializers.ValidationError(problem.reason, code=problem.code) from problem
        return super().enforce_timezone(value)


class PhoneField(serializers.CharField):
    """A mainland mobile number in any form a till or bot sends (`138 0013 8000`, `+86…`),
    returned normalised (`+8613800138000`) by the project's one check (`phone_normalise`);
    more than `max_length` (40) characters as sent is 400 `max_length`, anything else that is no
    such number 400 `invalid` with its message. Every API serializer's phone is one of these
    (tests/linli/test_api_fields.py walks them all)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> str:
        value = super().to_internal_value(data)
        # DRF runs the field's validators (its MaxLengthValidator) on what this returns, the
        # normalised 14 characters: the length the schema advertises is checked here, on the
        # text as sent, before it is read (and quoted in the `invalid` message).
        if self.max_length is not None and len(value) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        try:
            return phone_normalise(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages, code="invalid") from error


# --- numbers: ASCII digits only ------------------------------------------------------------------
#
# Python's int(), Decimal() and float() read any Unicode decimal digit: "١٢" (Arabic-Indic),
# "１２" (full-width), "১২" (Bengali) are all 12, and DRF's number fields pass a string straight
# to them. A till or bot that sends such a string has a bug or is probing; either way the number
# it meant is not certain, so the API refuses it as it refuses "twelve" (400, the field's own
# `invalid` message). JSON numbers are ASCII by definition and are unaffected. Every API
# serializer takes its number fields from here (tests/linli/test_api_fields.py walks them all).


def _ascii_number_check(field: serializers.Field, data: object) -> None:
    if isinstance(data, str) and not data.isascii():
        field.fail("invalid")


class IntegerField(serializers.IntegerField):
    """DRF's IntegerField, refusing digits other than ASCII 0-9 (400 `invalid`)."""

    def to_internal_value(self, data: object) -> int:
        _ascii_number_check(self, data)
        return super().to_internal_value(data)


class BigIntegerField(serializers.BigIntegerField):
    """DRF's BigIntegerField (a model's 64-bit ids), refusing digits other than ASCII 0-9."""

    def to_internal_value(self, data: object) -> int:
        _ascii_number_check(self, data)
        return super().to_internal_value(data)


class DecimalField(serializers.DecimalField):
    """DRF's DecimalField, refusing digits other than ASCII 0-9 (400 `invalid`)."""

    def to_internal_value(self, data: object) -> Decimal:
        _ascii_number_check(self, data)
        return super().to_internal_value(data)


class FloatField(serializers.FloatField):
    """DRF's FloatField, refusing digits other than ASCII 0-9 (400 `invalid`)."""

    def to_internal_value(self, data: object) -> float:
        _ascii_number_check(self, data)
        return super().to_internal_value(data)


ASCII_NUMBER_FIELDS = (IntegerField, BigIntegerField, DecimalField, FloatField)


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer whose generated number, date and date-time fields are the ones
    above."""

    serializer_field_mapping = {
        model_field: {
            serializers.IntegerField: IntegerField,
            serializers.BigIntegerField: BigIntegerField,
            serializers.DecimalField: DecimalField,
            serializers.FloatField: FloatField,
            serializers.DateTimeField: DateTimeField,
            serializers.DateField: DateField,
        }.get(field, field)
        for model_field, field in serializers.ModelSerializer.serializer_field_mapping.items()
    }


# --- request bodies: unknown keys are refused ---------------------------------------------------
#
# DRF drops a key no field reads: a till that misspells `discount` as `discont` would get a 201
# with no discount applied. Every request body's serializer (and each nested one) derives from
# `RequestSerializer`, so such a key is a 400 `invalid` whose errors name each unknown key's path
# with the code `unknown_field` — the code and message the device readings' own check
# (apps.devices.services.ingest) gives through `unknown_keys` and `UNKNOWN_FIELD_MESSAGE`.

UNKNOWN_FIELD = "unknown_field"
UNKNOWN_FIELD_MESSAGE = gettext_lazy("Unknown field.")
# A browser form posted with a session carries Django's CSRF token as a field of its own.
CSRF_FORM_FIELD = "csrfmiddlewaretoken"


def unknown_keys(data: Mapping[Any, Any], known: Iterable[str]) -> list[str]:
    """The keys of `data` that are not in `known`, as text, sorted."""
    known = set(known)
    return sorted(str(key) for key in data if key not in known)


def form_field_name(key: str) -> str:
    """The field a form key names: DRF's form syntax writes a nested field's keys under its name,
    `lines[0]sku` for a list of objects and `member.phone` for an object, so the name ends at
    the first `[` or `.`."""
    return re.split(r"[\[.]", key, maxsplit=1)[0]


# What DRF's form syntax reads after a nested field's name (the patterns of its
# `parse_html_dict` and `parse_html_list`): `.key` for an object or a mapping, `[index]…` for a
# list.
FORM_OBJECT_KEY = re.compile(r"\.(.+)$")
FORM_LIST_KEY = re.compile(r"\[([0-9]+)\](.*)$")


def _form_key_refusal(
    key: str, fields: Mapping[str, serializers.Field], known: set[str]
) -> tuple[str, str | Promise | None] | None:
    """Why a key of a form body is refused: None when it names a field this object takes, else
    (the key to name, a message or None for the object's `unknown_field_message`).

    A key counts only where DRF reads it: `x.y` for a nested object or a mapping
    (`member.phone`), `x[0]…` for a list of objects (`lines[0]sku`), `x` or `x[0]` for a list of
    values, and `x` alone for any other field. DRF drops any other key, so it is refused: an
    unknown name by that name (`till[0]x` is `till`; no name, `.x`, by the key); a known one
    by the whole key (`idempotency_key.x`, `member` alone), and when the field is nested, with
    a message saying how to send it (`member.<key>`, `lines[0]<key>`), since the name alone is
    no unknown field."""
    name = form_field_name(key)
    if name not in known:
        # A key that starts with `.` or `[` (`lines[0].discount` gives a line `.discount`) has
        # no name: it is named as sent.
        return (name or key, None)
    field = fields.get(name)
    rest = key[len(name) :]
    if isinstance(field, serializers.DictField | serializers.Serializer):
        if FORM_OBJECT_KEY.match(rest):
            return None
        hint = _("“%(field)s” is an object: send each of its keys as “%(field)s.<key>”.")
    elif isinstance(field, serializers.ListSerializer):
        if FORM_LIST_KEY.match(rest):
            return None
        hint = _(
            "“%(field)s” is a list of objects: send each item's keys as “%(field)s[0]<key>”, "
            "“%(field)s[1]<key>” and so on."
        )
    elif isinstance(field, serializers.ListField):
        if rest == "" or FORM_LIST_KEY.match(rest):
            return None
        hint = _(
            "“%(field)s” is a list: send it as “%(field)s”, or as “%(field)s[0]”, "
            "“%(field)s[1]” and so on."
        )
    else:
        return None if rest == "" else (key, None)
    return (key, hint % {"field": name})


# The base of every API request body's serializer and of each object nested in one. A subclass may
# give a more helpful `unknown_field_message` (POS `member`: the identity kinds it takes). The
# schema marks these objects `additionalProperties: false` (linli.schema); the docstring below is
# what the schema says of a subclass that has none of its own.
class RequestSerializer(serializers.Serializer):
    """A key this object does not name is refused: 400 `invalid`, one error per such key with
    the code `unknown_field`, beside the body's other errors; nothing is stored."""

    def unknown_field_message(self) -> str | Promise:
        return UNKNOWN_FIELD_MESSAGE

    def to_internal_value(self, data: Any) -> Any:
        # Each unknown key → its message, None for `unknown_field_message`.
        unknown: dict[str, str | Promise | None] = {}
        if isinstance(data, Mapping):
            known = {name for name, field in self.fields.items() if not field.read_only}
            if isinstance(data, QueryDict):
                known.add(CSRF_FORM_FIELD)
            if html.is_html_input(data):  # a form or multipart body, or an object nested in one
                refusals = (_form_key_refusal(str(key), self.fields, known) for key in data)
                unknown = dict(sorted(filter(None, refusals), key=itemgetter(0)))
            else:
                unknown = dict.fromkeys(unknown_keys(data, known))
        errors: dict[str, Any] = {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as invalid:
            if not unknown or not isinstance(invalid.detail, Mapping):
                raise
            errors.update(invalid.detail)
        if unknown:
            refusal = serializers.ValidationError(
                {
                    key: [message or self.unknown_field_message()]
                    for key, message in unknown.items()
                },
                code=UNKNOWN_FIELD,
            )
            errors.update(refusal.detail)
            raise serializers.ValidationError(errors)
        return value


class EmptyRequestSerializer(RequestSerializer):
    """An operation that reads no body (an insight card's acceptance): a body, if sent, is an
    empty object; any key in it is `unknown_field`."""
