"""DRF authentication for store terminals: `Authorization: Terminal <token>`.

A successful request has `request.auth` = the `StoreTerminal` (with its store) and
`request.user` = AnonymousUser: a till is not a person and gets no user permissions.
The mechanics (hash lookup, 401 with a challenge) are `linli.api_auth`'s.

A store that is not open for trade (`Store.is_trading`: preparing, suspended or closed) does not
sell: its terminals may still read (GET), but every write — a sale, a group-buy join, a comment,
a viewer report, a batch of tracking events — is refused here, in `IsStoreTerminal`, with 409
`store_closed`, before the view runs. One exception keeps a till's retry queue honest: a view
may define `terminal_replay(request) -> bool`, true when the request repeats one recorded while
the store was open (the same idempotency key); such a request goes on to the view, which answers
it as any retry (the first result, or 409 `idempotency_key_reused`) and writes nothing new.
Such a view reads the body's key with `replay_key`, which checks it with the view's own
serializer's field first: a key the view would refuse (missing, blank, too long, with a NUL
character) is the same 400 naming `idempotency_key` whatever the store's status, not a 409.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apps.stores.models import Store, StoreTerminal
from linli.api_auth import HashedTokenAuthentication, HashedTokenScheme
from linli.errors import ApiError, ErrorItem

STORE_CLOSED = "store_closed"


class TerminalAuthentication(HashedTokenAuthentication):
    keyword = "Terminal"
    malformed_header_message = _("Invalid terminal header: use “Terminal <token>”.")
    invalid_characters_message = _("Invalid terminal token.")
    unknown_token_message = _("Invalid terminal token.")
    revoked_message = _("This terminal token has been revoked.")
    # last_used_at is for humans ("is this till still posting?"): one write a minute is plenty.
    last_used_field = "last_used_at"

    def get_queryset(self) -> QuerySet[StoreTerminal]:
        return StoreTerminal.objects.select_related("store", "store__region")


def store_closed_error(store: Store) -> ApiError:
    """409 `store_closed`: the store is not open for trade (its status in `store_status`)."""
    detail = gettext(
        "Store %(store)s is not open for trade (%(status)s): its terminals cannot record "
        "sales, group-buy joins or other changes."
    ) % {"store": store.code, "status": store.get_status_display()}
    return ApiError(
        status_code=status.HTTP_409_CONFLICT,
        code=STORE_CLOSED,
        detail=detail,
        errors=[
            ErrorItem(
                index=None,
                field="",
                code=STORE_CLOSED,
                message=detail,
                extra={"store_status": store.status},
            )
        ],
    )


def replay_key(request: Request, *, serializer: type[serializers.Serializer]) -> str | None:
    """The body's `idempotency_key` for `terminal_replay` to look up, as the view's request
    `serializer` reads it; None when the body is not an object (the view refuses it).

    The permission asks before the view's serializer runs, so the key is checked here by that
    serializer's own field: a key it refuses is the 400 `invalid` naming `idempotency_key`
    the view gives at an open store (a NUL character, which PostgreSQL text cannot hold, is
    `null_characters_not_allowed`), whatever the store's status — a malformed request, not a
    store that is closed."""
    data = request.data
    if not isinstance(data, Mapping):
        return None
    # DRF has no public call that validates one field of a serializer, so this repeats, for
    # the key alone, what `Serializer.to_internal_value` does for each field: the field reads
    # its value (`get_value`), checks it (`run_validation`), then the serializer's
    # `validate_<field>` (here `validate_idempotency_key`, e.g. the POS's reserved prefix)
    # checks the result; a refusal is listed under the field's name. Running the whole
    # serializer instead would check every line twice, and a body with another problem would
    # give no key to look up. Not repeated, since these keys need neither: `SkipField` (the key
    # is required, without a default) and a Django ValidationError from `validate_<field>`.
    # tests/stores/test_terminal_replay_key.py holds this equal to the serializer's own answer.
    reader = serializer()
    field = reader.fields["idempotency_key"]
    check = getattr(reader, f"validate_{field.field_name}", None)
    try:
        key = field.run_validation(field.get_value(data))
        return check(key) if check is not None else key
    except serializers.ValidationError as refused:
        raise serializers.ValidationError({field.field_name: refused.detail}) from refused


class IsStoreTerminal(BasePermission):
    """Only requests authenticated by an active store terminal token; a write only while the
    terminal's store is open for trade (else 409 `store_closed`), save the view's replays of
    what was recorded before (`terminal_replay`, see the module docstring)."""

    def has_permission(self, request: Request, view: object) -> bool:
        terminal = request.auth
        if not isinstance(terminal, StoreTerminal):
            return False
        if request.method in SAFE_METHODS or terminal.store.is_trading:
            return True
        replay = getattr(view, "terminal_replay", None)
        if replay is not None and replay(request):
            return True
        raise store_closed_error(terminal.store)


class TerminalAuthenticationScheme(HashedTokenScheme):
    target_class = "apps.stores.terminal_auth.TerminalAuthentication"
    name = "terminalToken"
    description = "Store terminal token, issued in the admin: `Terminal <token>`."
