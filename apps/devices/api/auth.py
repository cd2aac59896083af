"""DRF authentication for devices: `Authorization: Device <token>`, scoped to the token's device.

Sets `request.auth` to the Device (with its store); the user stays anonymous (a device is not a
person). The mechanics (hash lookup, 401 with a challenge) are `linli.api_auth`'s. A device's
`last_seen_at` is stamped by reading ingestion (a batch, even an empty one, is a heartbeat), not
here: `GET /me` does not count as being seen.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.devices.models import Device
from linli.api_auth import HashedTokenAuthentication, HashedTokenScheme


class DeviceTokenAuthentication(HashedTokenAuthentication):
    keyword = "Device"
    malformed_header_message = _("Invalid Authorization header: expected 'Device <token>'.")
    invalid_characters_message = _("The token has invalid characters.")
    unknown_token_message = _("Unknown device token.")
    revoked_message = _("This device token has been revoked.")

    def get_queryset(self) -> QuerySet[Device]:
        return Device.objects.select_related("store")

    def refusal(self, holder: Device) -> str | Promise | None:
        reason = super().refusal(holder)
        if reason is None and not holder.is_active:
            return _("This device is deactivated.")
        return reason


class IsDevice(BasePermission):
    message = _("A device token is required.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, Device)


class DeviceTokenScheme(HashedTokenScheme):
    target_class = "apps.devices.api.auth.DeviceTokenAuthentication"
    name = "deviceToken"
    description = "`Device <token>` — the token issued for this device in the admin."
