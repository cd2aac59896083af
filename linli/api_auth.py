"""DRF authentication for machines that hold a hashed token: `Authorization: <Keyword> <token>`.

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
from django.utils import timezone
from django.utils.functional import Promise
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
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
