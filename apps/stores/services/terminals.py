"""POS terminal tokens, issued and revoked."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.stores.models import (
    Store,
    StoreTerminal,
)
from linli.tokens import token_generate, token_hash, token_prefix

logger = logging.getLogger(__name__)


def terminal_issue(*, store: Store, name: str) -> tuple[StoreTerminal, str]:
    """Create a terminal for `store` and return it with its token.

    The token is returned here and nowhere else: only its SHA-256 hash and an 8-character
    prefix are stored, so it must be shown to the person installing the till right away.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("A terminal needs a name.")})
    token = token_generate()
    terminal = StoreTerminal.objects.create(
        store=store, name=name, token_hash=token_hash(token), token_prefix=token_prefix(token)
    )
    return terminal, token


def terminal_revoke(*, terminal: StoreTerminal, by: settings.AUTH_USER_MODEL | None) -> bool:
    """Revoke the terminal's token; from now on it authenticates nothing.

    Idempotent: revoking a revoked terminal changes nothing and returns False (the first
    revocation time is kept). `by` is logged; the admin log records the action too.
    """
    revoked = StoreTerminal.objects.filter(pk=terminal.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        logger.info(
            "store terminal %s (%s…) revoked by %s",
            terminal.pk,
            terminal.token_prefix,
            getattr(by, "pk", None),
        )
    terminal.refresh_from_db(fields=["revoked_at"])
    return bool(revoked)
