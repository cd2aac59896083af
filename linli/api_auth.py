"""DRF authentication for machines that hold a hashed token: `Authorization: <Keyword> <token>`;
and DRF's session authentication with its CSRF refusal in the request's language
(`SessionAuthentication`, at the end).

POS terminals (`Terminal <token>`) and devices (`Device <token>`) authenticate the same way; each
app subclasses `HashedTokenAuthentication` and names its token-holding model there (this module
imports no app). A successful request has `request.auth` = the token holder and `request.user` =
AnonymousUser: a machine is not a person and gets no user permissions.

The holder is found by the SHA-256 of the presented token (`linli.tokens`), one lookup on a
unique index; the clear token is never stored. Comparing hashes is not a timing oracle worth
closing: learning how many leading characters of a stored SHA-256 match says nothing useful
about a 256-bit random token that would produce it.
"""

from __future__ import annotations

import abc
import datetime as dt
from typing import Any, ClassVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, Q, QuerySet
from django.middleware import csrf
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from linli.tokens import token_hash

REALM = "api"


class HashedTokenAuthentication(BaseAuthentication, abc.ABC):
    """`Authorization: <keyword> <token>` → `(AnonymousUser(), holder)`, or 401 with the reason.

    Subclasses set `keyword` and the messages, and implement `get_queryset()` (the model that
    holds `token_hash`, with whatever `select_related` the views need). A header with another
    keyword is not ours (None: the next authenticator may try); a malformed header, an unknown
    token or a holder `refusal()` names a reason for is a 401 with
    `WWW-Authenticate: <keyword> realm="api"`.

    When `last_used_field` is set, a successful request stamps it with a conditional UPDATE,
    at most once per `last_used_resolution` (a busy till must not write on every request).
    """

    keyword: ClassVar[str]
    malformed_header_message: ClassVar[str | Promise]
    invalid_characters_message: ClassVar[str | Promise]
    unknown_token_message: ClassVar[str | Promise]
    revoked_message: ClassVar[str | Promise]
    last_used_field: ClassVar[str | None] = None
    last_used_resolution: ClassVar[dt.timedelta] = dt.timedelta(minutes=1)

    @abc.abstractmethod
    def get_queryset(self) -> QuerySet[Any]:
        """The token holders (a model with `token_hash`, `revoked_at`)."""

    def refusal(self, holder: Any) -> str | Promise | None:
        """Why this known holder may not authenticate (None: it may). Default: revoked."""
        if holder.revoked_at is not None:
            return self.revoked_message
        return None

    def authenticate(self, request: Request) -> tuple[AnonymousUser, Model] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(self.malformed_header_message)
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(self.invalid_characters_message) from error
        holder = self.get_queryset().filter(token_hash=token_hash(token)).first()
        if holder is None:
            raise exceptions.AuthenticationFailed(self.unknown_token_message)
        reason = self.refusal(holder)
        if reason is not None:
            raise exceptions.AuthenticationFailed(reason)
        if self.last_used_field is not None:
            self._last_used_stamp(holder)
        return AnonymousUser(), holder

    def _last_used_stamp(self, holder: Model) -> None:
        field = self.last_used_field
        now = timezone.now()
        cutoff = now - self.last_used_resolution
        stale = Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": cutoff})
        type(holder)._default_manager.filter(stale, pk=holder.pk).update(**{field: now})

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer a missing or wrong token with 401 (and this challenge), not 403.
        return f'{self.keyword} realm="{REALM}"'


class HashedTokenScheme(OpenApiAuthenticationExtension):
    """Documents a `HashedTokenAuthentication` subclass in /api/schema/. Subclasses set
    `target_class` (dotted path), `name` and `description`; this base matches nothing."""

    description: ClassVar[str] = ""

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": self.description,
        }


# --- people with a session: the CSRF refusal in the request's language ---------------------------


def _csrf_reason(reason: str) -> str:
    """Django's reason for refusing a request's CSRF check (English only: its middleware's
    constants are not marked for translation), said in the request's language."""
    if reason == csrf.REASON_NO_CSRF_COOKIE:
        return _("the CSRF cookie (csrftoken) was not sent.")
    if reason == csrf.REASON_CSRF_TOKEN_MISSING:
        return _(
            "no CSRF token was sent: send the csrftoken cookie's value in the X-CSRFToken header."
        )
    if reason.startswith("CSRF token from"):  # incorrect, of the wrong length or characters
        return _("the CSRF token sent does not match the csrftoken cookie.")
    if reason.startswith(csrf.REASON_BAD_ORIGIN.split("%s")[0]):
        return _("the request's Origin is not one this site trusts.")
    if reason.startswith(csrf.REASON_NO_REFERER.split("-")[0]):
        return _("the request's Referer is missing or not one this site trusts.")
    return _("the request could not be verified.")


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication (a person signed in to the site, calling the API from its
    pages), whose CSRF refusal — DRF's "CSRF Failed: <Django's reason>", English whatever the
    request's language — is a 403 `permission_denied` with the reason in the request's
    language, as every other API error (`linli.errors`)."""

    def enforce_csrf(self, request: Request) -> None:
        check = authentication.CSRFCheck(lambda _request: None)
        check.process_request(request)  # reads the CSRF cookie into request.META
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(
                _("CSRF check failed: %(reason)s") % {"reason": _csrf_reason(reason)}
            )


class SessionAuthenticationScheme(SessionScheme):
    """Documents `SessionAuthentication` in /api/schema/ as drf-spectacular documents DRF's
    own (`cookieAuth`)."""

    target_class = "linli.api_auth.SessionAuthentication"
