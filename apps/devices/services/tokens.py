"""Device tokens: issued (or rotated) and revoked here; shown once, stored hashed."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.devices.models import Device
from linli.tokens import token_generate, token_hash, token_prefix


def device_token_issue(*, device: Device) -> str:
    """Give the device a new token and return it in clear — the only time it exists in clear.

    Rotation is the same call: the new hash replaces the old one, so the previous token stops
    working at once (it becomes unknown). Clears a revocation.
    """
    token = token_generate()
    now = timezone.now()
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(
            token_hash=token_hash(token),
            token_prefix=token_prefix(token),
            token_issued_at=now,
            revoked_at=None,
        )
    device.token_hash = token_hash(token)
    device.token_prefix = token_prefix(token)
    device.token_issued_at = now
    device.revoked_at = None
    return token


def device_token_revoke(*, device: Device) -> bool:
    """Revoke the device's token. The hash is kept so the API can answer "revoked".

    Idempotent: returns False (and changes nothing) when there is no live token.
    """
    now = timezone.now()
    changed = Device.objects.filter(
        pk=device.pk, token_hash__isnull=False, revoked_at__isnull=True
    ).update(revoked_at=now)
    if changed:
        device.revoked_at = now
    return bool(changed)
