"""The API's JSON parser: a bounded nesting depth, a 400 beyond it, and a body that is not
JSON refused in the request's language (DRF's own message is English only); and its multipart
parser, which refuses an unreadable multipart body in the request's language too.

`json` answers a deeply nested body with a RecursionError (a 500). This parser refuses
anything nested deeper than `MAX_JSON_DEPTH` as a `ParseError` (400, code `too_deep`). The
body's size is bounded before parsing: DRF reads it through `request.body`, which refuses more
than `DATA_UPLOAD_MAX_MEMORY_SIZE` bytes (`linli.errors` turns that into a 400 `too_large`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# No request of the API nests this deep (POS: order → lines → line → field is 3).
MAX_JSON_DEPTH = 32


def json_depth_exceeds(data: Any, *, limit: int) -> bool:
    """True when `data` nests lists/objects deeper than `limit` (iterative: no recursion)."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, Mapping):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        too_deep = ParseError(
            _("The JSON is nested more than %(depth)d levels deep.") % {"depth": MAX_JSON_DEPTH},
            code="too_deep",
        )
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise too_deep from error
        except ParseError as error:
            # DRF words this in English whatever the request's language ("JSON parse error -
            # Expecting value: …"): say it in the reader's language, with where it broke.
            raise _not_json(error) from error
        if json_depth_exceeds(data, limit=MAX_JSON_DEPTH):
            raise too_deep
        return data


def _not_json(error: ParseError) -> ParseError:
    """A translated ParseError for a body that is not JSON, naming the line and column when
    the decoder said where (DRF raises its own inside `except ValueError`)."""
    cause = error.__cause__ or error.__context__
    if isinstance(cause, json.JSONDecodeError):
        message = _("The request body is not valid JSON (line %(line)d, column %(column)d).") % {
            "line": cause.lineno,
            "column": cause.colno,
        }
    else:
        message = _("The request body is not valid JSON.")
    return ParseError(message)


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, whose refusal of a body Django cannot read as multipart (no or a
    bad boundary, a damaged part) — DRF's "Multipart form parse error - <Django's reason>",
    English whatever the request's language — is a 400 `parse_error` in the request's
    language. Django's limits (too many fields or files) are `linli.errors`'."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except ParseError as error:
            if not isinstance(error.__cause__ or error.__context__, MultiPartParserError):
                raise
            raise ParseError(_("The request body is not a readable multipart form.")) from error
