"""The API's OpenAPI schema class (settings `DEFAULT_SCHEMA_CLASS`): drf-spectacular's, with the
error answers every view can give documented in the one shape of `linli.errors`.

Every view answers its errors through `linli.errors.uniform_exception_handler`, so an operation
whose `@extend_schema` (or lack of one) names no 401, 403, 404 or 400 still gives them in that
shape; this class adds what the view left out, and never replaces what it declared:

- 401 on every operation (no, unknown or revoked credentials);
- 403 on views reached by people (a user token or a session): the caller may not do this at
  this store (machine tokens are scoped by their token and get 401 or the view's own codes);
- 404 when the path names an object (unknown, or not the caller's: the same answer);
- 400 when the operation takes a body, or reads numbers from its query string (a list's
  filters, `limit`, `offset`: ASCII digits only, `linli.api_query`).
- 415 when the operation reads a body (a request serializer) of a media type it cannot parse.

A request body's object (`linli.api_fields.RequestSerializer`, and each one nested in it) is
`additionalProperties: false`: a key it does not name is refused (`unknown_field`).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiResponse

from linli.api_auth import HashedTokenAuthentication
from linli.api_fields import RequestSerializer
from linli.errors import ErrorSerializer

BODY_METHODS = ("POST", "PUT", "PATCH")


class AutoSchema(SpectacularAutoSchema):
    def _error_responses(self) -> dict[str, OpenApiResponse]:
        responses = {
            "401": OpenApiResponse(
                ErrorSerializer,
                description=(
                    "`not_authenticated` / `authentication_failed`: no, unknown or revoked "
                    "credentials."
                ),
            )
        }
        if self._reached_by_people():
            responses["403"] = OpenApiResponse(
                ErrorSerializer,
                description="`permission_denied`: the caller may not do this at this store.",
            )
        if "{" in self.path:
            responses["404"] = OpenApiResponse(
                ErrorSerializer,
                description="`not_found`: unknown, or not the caller's (the same answer).",
            )
        if self.method in BODY_METHODS:
            responses["400"] = OpenApiResponse(
                ErrorSerializer,
                description=(
                    "`invalid` (each problem in `errors`), `parse_error`, `too_large`, `too_deep`."
                ),
            )
            if self.get_request_serializer() is not None:
                responses["415"] = OpenApiResponse(
                    ErrorSerializer,
                    description=(
                        "`unsupported_media_type`: the body is not `application/json` (nor "
                        "form data, where the operation reads it)."
                    ),
                )
        elif self._takes_query_parameters():
            responses["400"] = OpenApiResponse(
                ErrorSerializer,
                description=(
                    "`invalid`: a query parameter (a filter, `limit`, `offset`) that cannot be "
                    "read, named in `errors` (numbers: the digits 0-9 only)."
                ),
            )
        return responses

    def _takes_query_parameters(self) -> bool:
        return self.method == "GET" and bool(
            self._get_filter_parameters() or self._get_pagination_parameters()
        )

    def _reached_by_people(self) -> bool:
        authenticators = getattr(self.view, "authentication_classes", ())
        return any(
            not issubclass(authenticator, HashedTokenAuthentication)
            for authenticator in authenticators
        )

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        if isinstance(force_instance(serializer), RequestSerializer):
            schema["additionalProperties"] = False
        return schema

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, error in self._error_responses().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(error, code, direction=direction)
        return responses
