"""Error shapes shared by the API: every 4xx carries a reason a client developer can act on.

Every API view (POS terminals, devices, the group-buy and tracking APIs, and the views that
people reach with a user token or a session: stores, decisions, insight acceptance) answers
every 4xx in one shape:

    {"detail": "<one sentence for a person>",
     "code": "<what went wrong, for a program>",
     "errors": [{"index": 1, "field": "quantity", "code": "min_value", "message": "…"}, …]}

- `detail` and `code` are always there; `errors` is always a list, empty when the problem is
  the request as a whole (no token, wrong token, a store or device that is not the token's).
- Each error names where: `index` is the 0-based position in the request's list of items
  (POS `lines`, device `readings`) and `field` the key inside that item; `index` null means
  the error is about the request itself and `field` is the top-level key (a dotted path for a
  nested object: `member.phone`; `""` when no single field is to blame).
- An error may carry more keys that its code documents (`unknown_sku` → `sku`;
  `insufficient_stock` → `sku`, `requested`, `on_hand`; `rate_limited`, a 429 with
  `Retry-After`, → `scope`, `retry_after` in seconds).

It extends what DRF already answers (`{"detail": …}`) and mirrors the CSV import contract
(`RowError(row, column, code, reason)`), so a client that read `detail` keeps working. It is
the project's `EXCEPTION_HANDLER` (`uniform_exception_handler`), so no view can answer in
another shape; `UniformErrorsMixin` only lets a view name its list of items (`error_items`).
The schema documents these answers on every operation (`linli.schema.AutoSchema`). What
Django answers before any view (no route matches, a request it refuses as malformed) or instead
of one (an unhandled error) is in this shape too under `/api/` (`bad_request`,
`page_not_found`, `server_error`: the project's handlers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import exceptions, serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

CODE_INVALID = "invalid"
CODE_RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class ErrorItem:
    """One problem in a request: where (`index`, `field`), what (`code`), why (`message`)."""

    index: int | None
    field: str
    code: str
    message: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "field": self.field,
            "code": self.code,
            "message": str(self.message),
            **self.extra,
        }


def error_body(*, code: str, detail: str | Promise, errors: Iterable[ErrorItem] = ()) -> dict:
    return {
        "detail": str(detail),
        "code": code,
        "errors": [error.as_dict() for error in errors],
    }


class ApiError(exceptions.APIException):
    """Raise from a view to answer in the one shape: `ApiError(status_code=409,
    code="insufficient_stock", detail="…", errors=[ErrorItem(…)])`."""

    def __init__(
        self,
        *,
        status_code: int,
        code: str,
        detail: str | Promise,
        errors: Sequence[ErrorItem] = (),
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.error_code = code
        self.errors = list(errors)


# DRF's serializers answer a body of JSON `null` with this text, which DRF never marks for
# translation: `_message` says it in the request's language.
DRF_NO_DATA = "No data provided"


def _message(leaf: Any) -> tuple[str, str]:
    code = getattr(leaf, "code", None) or CODE_INVALID
    if code == "null" and str(leaf) == DRF_NO_DATA:
        return code, _("No data: send a JSON object.")
    return code, str(leaf)


def _messages(value: Any) -> list[tuple[str, str]]:
    """(code, message) pairs from a DRF error leaf (an ErrorDetail or a list of them)."""
    leaves = value if isinstance(value, list) else [value]
    return [_message(leaf) for leaf in leaves]


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _walk(value: Any, *, index: int | None, path: str) -> Iterable[ErrorItem]:
    """ErrorItems for a nested DRF error structure below `path` (dotted, inside one item)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                yield from _walk(inner, index=index, path=path)
            else:
                yield from _walk(inner, index=index, path=_join(path, key))
    elif isinstance(value, list) and any(isinstance(leaf, Mapping | list) for leaf in value):
        for position, inner in enumerate(value):
            yield from _walk(inner, index=index, path=_join(path, position))
    else:
        for code, message in _messages(value):
            yield ErrorItem(index=index, field=path, code=code, message=message)


def errors_from_validation(detail: Any, *, items: str | None = None) -> list[ErrorItem]:
    """Flatten DRF validation errors (`serializer.errors`, `ValidationError.detail`).

    `items` names the request's list of items (POS: `lines`): its errors get that item's
    `index` and the field inside it; an error about the list itself (empty, not a list) gets
    index None and field `items`. Everything else gets index None and its dotted path.
    """
    if not isinstance(detail, Mapping):
        return list(_walk(detail, index=None, path=""))
    found: list[ErrorItem] = []
    for key, value in detail.items():
        if items is not None and key == items:
            found.extend(_item_errors(value, items=items))
        elif key == api_settings.NON_FIELD_ERRORS_KEY:
            found.extend(_walk(value, index=None, path=""))
        else:
            found.extend(_walk(value, index=None, path=str(key)))
    return found


def _item_errors(value: Any, *, items: str) -> Iterable[ErrorItem]:
    """Errors under the list of items: keyed (or listed) by index, or about the list itself."""
    if not isinstance(value, Mapping | list) or not any(
        isinstance(inner, Mapping | list) for inner in _values(value)
    ):
        yield from _walk(value, index=None, path=items)
        return
    entries = value.items() if isinstance(value, Mapping) else enumerate(value)
    for position, inner in entries:
        if position == api_settings.NON_FIELD_ERRORS_KEY:
            yield from _walk(inner, index=None, path=items)
        else:
            yield from _walk(inner, index=int(position), path="")


def _values(value: Mapping | list) -> Iterable[Any]:
    return value.values() if isinstance(value, Mapping) else value


def _body_refusal(exc: Exception) -> exceptions.ParseError | None:
    """Django's refusals of a request body beyond its limits (it raises them while reading
    the body), as the API's 400s in the request's language: `too_large` (more bytes than
    DATA_UPLOAD_MAX_MEMORY_SIZE), `too_many_fields` (a form with more fields than
    DATA_UPLOAD_MAX_NUMBER_FIELDS), `too_many_files` (DATA_UPLOAD_MAX_NUMBER_FILES)."""
    if isinstance(exc, RequestDataTooBig):
        return exceptions.ParseError(
            _("The request body is larger than %(limit)d bytes.")
            % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
            code="too_large",
        )
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return exceptions.ParseError(
            ngettext(
                "The request has more than %(limit)d field.",
                "The request has more than %(limit)d fields.",
                limit,
            )
            % {"limit": limit},
            code="too_many_fields",
        )
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return exceptions.ParseError(
            ngettext(
                "The request has more than %(limit)d file.",
                "The request has more than %(limit)d files.",
                limit,
            )
            % {"limit": limit},
            code="too_many_files",
        )
    return None


def uniform_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with every answer rewritten into the one shape above: Django
    ValidationErrors from services become 400 `invalid`, a body beyond Django's limits a 400
    `too_large`, `too_many_fields` or `too_many_files` (`_body_refusal`)."""
    exc = _body_refusal(exc) or exc
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    # Django's own 404 and 403 (get_object_or_404, the access layer's store_or_403): DRF's
    # handler would turn them into its exceptions itself, too late for the rewriting below.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        response.data = error_body(code=exc.error_code, detail=exc.detail, errors=exc.errors)
    elif isinstance(exc, exceptions.ValidationError):
        items = getattr(context.get("view"), "error_items", None)
        errors = errors_from_validation(exc.detail, items=items)
        response.data = error_body(
            code=CODE_INVALID, detail=_problems_detail(context, len(errors)), errors=errors
        )
    elif isinstance(exc, exceptions.Throttled):
        response.data = _throttled_body(
            exc, scope=getattr(context.get("view"), "throttle_scope", "")
        )
    elif isinstance(exc, exceptions.NotAuthenticated) and _wrong_scheme(response, context):
        response.data = error_body(
            code=exc.default_code,
            detail=_("This operation does not take the credentials sent: send “%(header)s”.")
            % {"header": f"Authorization: {response['WWW-Authenticate'].split()[0]} <token>"},
        )
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = error_body(
            code=codes if isinstance(codes, str) else exc.default_code, detail=str(exc.detail)
        )
    return response


def _wrong_scheme(response: Response, context: dict[str, Any]) -> bool:
    """True when the request sent an Authorization header that no authenticator of the view
    takes (a device token at a till's operation, a till's at a person's): DRF says no
    credentials were provided, which misleads the client's developer."""
    request = context.get("request")
    return (
        request is not None
        and bool(request.META.get("HTTP_AUTHORIZATION", "").strip())
        and bool(response.get("WWW-Authenticate"))
    )


def _problems_detail(context: dict[str, Any], count: int) -> str:
    """The sentence over a 400 `invalid`: a write says nothing was stored; a read (a list's
    query parameters) stores nothing anyway, so it does not say so."""
    request = context.get("request")
    if request is not None and request.method in SAFE_METHODS:
        return ngettext(
            "%(count)d problem in the request.", "%(count)d problems in the request.", count
        ) % {"count": count}
    return ngettext(
        "%(count)d problem in the request; nothing was stored.",
        "%(count)d problems in the request; nothing was stored.",
        count,
    ) % {"count": count}


def _throttled_body(exc: exceptions.Throttled, *, scope: str | None) -> dict:
    """429 `rate_limited`: this token sent more than its scope's rate (linli/throttle.py).
    The wait is also in the `Retry-After` header."""
    wait = exc.wait or 1
    detail = ngettext(
        "Too many requests from this token; try again in %(wait)d second.",
        "Too many requests from this token; try again in %(wait)d seconds.",
        wait,
    ) % {"wait": wait}
    return error_body(
        code=CODE_RATE_LIMITED,
        detail=detail,
        errors=[
            ErrorItem(
                index=None,
                field="",
                code=CODE_RATE_LIMITED,
                message=detail,
                extra={"scope": scope or "", "retry_after": wait},
            )
        ],
    )


class UniformErrorsMixin:
    """For an APIView whose request has a list of items: `error_items` names it (e.g.
    `"lines"`), so field errors inside it carry the item's index. The handler is the project's
    default already (settings `EXCEPTION_HANDLER`); naming it here keeps the view's answers in
    the one shape even if that default changed."""

    error_items: str | None = None

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return uniform_exception_handler


class ErrorItemSerializer(serializers.Serializer):
    """One problem. Some codes add keys (`unknown_sku`: `sku`; `insufficient_stock`: `sku`,
    `requested`, `on_hand`)."""

    index = serializers.IntegerField(
        allow_null=True, help_text="0-based position in the request's list of items, or null."
    )
    field = serializers.CharField(help_text="Key inside the item, or the top-level key.")
    code = serializers.CharField()
    message = serializers.CharField()


@extend_schema_serializer(many=False)  # never a list, even on a list view's error answers
class ErrorSerializer(serializers.Serializer):
    """Every 4xx of the API: a sentence, a code, and each problem with where it is (`index`
    in the request's list of items, `field`)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = ErrorItemSerializer(many=True)


RATE_LIMITED_RESPONSE = OpenApiResponse(
    ErrorSerializer,
    description=(
        "`rate_limited`: this token sent more than its scope's rate (errors[0] has `scope` "
        "and `retry_after`); the `Retry-After` header says in how many seconds to try again."
    ),
)


# --- answers Django gives before (or instead of) a view: the same shape under /api/ -------------
#
# A path no route matches (an unknown path, an id beyond the database's integer range, which the
# `<id:…>` converter refuses), an unhandled error, and a request Django refuses as malformed or
# suspicious outside DRF's handler (a SuspiciousOperation such as an unknown Host header, a
# BadRequest) never reach DRF's handler: Django answers them with its HTML pages. Under `/api/`
# a client reads JSON, so these handlers (the project's `handler400`, `handler404` and
# `handler500`, linli/urls.py) answer there in the one shape, in the request's language;
# elsewhere they are Django's own pages.

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    # The path the URLconf routes, without the prefix a site mounted below one (SCRIPT_NAME)
    # has in `request.path`.
    return request.path_info.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Under /api/: a body beyond Django's limits by its own code (`_body_refusal`), anything
    else 400 `parse_error` with DRF's generic "Malformed request.", never the exception's own
    message — Django's are its internals (a Host header's value, a parser's state), and an
    API view names a problem through DRF's exceptions, not `BadRequest` (docs/access.md)."""
    if _is_api(request):
        refusal = _body_refusal(exception) or exceptions.ParseError()
        return JsonResponse(error_body(code=_code(refusal), detail=str(refusal.detail)), status=400)
    return defaults.bad_request(request, exception)


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        not_found = exceptions.NotFound()
        return JsonResponse(
            error_body(code=not_found.default_code, detail=not_found.detail), status=404
        )
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        failed = exceptions.APIException()
        return JsonResponse(error_body(code="server_error", detail=failed.detail), status=500)
    return defaults.server_error(request)
