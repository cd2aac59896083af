"""Text and numbers read straight from a request (a search box, a hidden field, a path segment)
rather than through a form.

A form's `CharField` refuses a NUL character (`ProhibitNullCharactersValidator`) and an
`IntegerField` refuses "²" or "١"; a view that reads `request.GET["q"]` itself gets neither check.
PostgreSQL text cannot hold a NUL (the query fails with `DataError`, a 500), and `str.isdigit()`
accepts superscripts and other scripts' digits that `int()` then refuses (a `ValueError`, a 500).
Views read such values through these helpers instead; a page of a list is cut by `Paginator`
below, whose page number (`?page=`) is ASCII digits too.
"""

from __future__ import annotations

import re
import uuid

from django.core import paginator
from django.core.exceptions import BadRequest, ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.http import QueryDict
from django.utils.translation import gettext_lazy

_ASCII_DIGITS = re.compile(r"[0-9]+")
# Django's and DRF's own message for a NUL character (the same msgid): translated in the
# project's catalogue, which comes first — DRF's zh_Hans text for it says "empty string".
NULL_CHARACTERS = gettext_lazy("Null characters are not allowed.")
_no_null_characters = ProhibitNullCharactersValidator(message=NULL_CHARACTERS)


def checked_text(value: str) -> str:
    """`value` unchanged, or `BadRequest` (the 400 page) when it holds a NUL character: no
    person types one, and no query or row may carry it."""
    try:
        _no_null_characters(value)
    except ValidationError as error:
        raise BadRequest(error.messages[0]) from error
    return value


def text_param(data: QueryDict, name: str, *, max_length: int) -> str:
    """`data[name]` (a request's GET or POST) cut to `max_length` and stripped; "" when absent.
    A value with a NUL character is a `BadRequest` (`checked_text`)."""
    return checked_text(data.get(name, ""))[:max_length].strip()


def is_ascii_number(value: str | None) -> bool:
    """True when `value` is one or more ASCII digits 0-9, the only digits a number in a URL or a
    form is written with. `str.isdigit()` also accepts "²", which `int()` refuses, and "١"
    (Arabic-Indic one), which `int()` reads as 1."""
    return value is not None and _ASCII_DIGITS.fullmatch(value) is not None


class Paginator(paginator.Paginator):
    """Django's, whose page number counts only in ASCII digits: `int()` reads `?page=２`
    (full-width) or `?page=٢` (Arabic-Indic) as 2; here it is not a number, so `get_page` shows
    the first page, as for `?page=abc`. Portal pages cut their lists with this one."""

    def validate_number(self, number: object) -> int:
        if isinstance(number, str) and not number.isascii():
            raise paginator.PageNotAnInteger(self.error_messages["invalid_page"])
        return super().validate_number(number)


def form_key(value: object) -> uuid.UUID | None:
    """A form's one-time key (the hidden field `key` the loss, loss batch, after-sales and
    inspection scoring forms carry so a double tap writes once), or None when missing or not a
    UUID."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# A post without a valid key writes nothing: unguarded, a client that dropped the hidden
# field (or a page cached from before keys) would write once per tap. The form comes back
# with this error, what was typed and a fresh key, so one more submit writes once.
FORM_KEY_MISSING = gettext_lazy(
    "Nothing was saved: this form was sent without its one-time key (the page may be out of "
    "date). Check what is filled in and submit it again."
)
