"""DRF authentication for store terminals: `Authorization: Terminal <token>`.

A successful request has `request.auth` = the `StoreTerminal` (with its store) and
`request.user` = AnonymousUser: a till is not a person and gets no user permissions.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.stores.models import StoreTerminal
from linli.tokens import token_hash

KEYWORD = "Terminal"
# last_used_at is for humans ("is this till still posting?"): one write a minute is plenty.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TerminalAuthentication(BaseAuthentication):
    keyword = KEYWORD

    def authenticate(self, request: Request) -> tuple[AnonymousUser, StoreTerminal] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Invalid terminal header: use “Terminal <token>”.")
            )
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(_("Invalid terminal token.")) from error
        terminal = (
            StoreTerminal.objects.select_related("store", "store__region")
            .filter(token_hash=token_hash(token))
            .first()
        )
        if terminal is None:
            raise exceptions.AuthenticationFailed(_("Invalid terminal token."))
        if not terminal.is_active:
            raise exceptions.AuthenticationFailed(_("This terminal token has been revoked."))
        now = timezone.now()
        StoreTerminal.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION),
            pk=terminal.pk,
        ).update(last_used_at=now)
        return AnonymousUser(), terminal

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when the header is missing or wrong.
        return f'{self.keyword} realm="api"'


class IsStoreTerminal(BasePermission):
    """Only requests authenticated by an active store terminal token."""

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, StoreTerminal)


class TerminalAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the scheme in /api/schema/."""

    target_class = "apps.stores.api.auth.TerminalAuthentication"
    name = "terminalToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Store terminal token, issued in the admin: `Terminal <token>`.",
        }
