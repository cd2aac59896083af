"""REST API for devices: `Authorization: Device <token>`, scoped to the token's device.

Alert evaluation runs in a Celery task enqueued after the readings commit, not in the request:
ingestion is the hot path (thousands of readings a second across all stores) and must stay
fast and independent of the rules, which read history (the 7-day energy baseline) and write
alerts, notifications and broadcasts. A device coming back online with a buffered backlog
posts several batches; each enqueues an evaluation, and evaluation is idempotent (at most one
active alert per device and kind, enforced by the database), so duplicates and redeliveries
are harmless. If the broker is down the readings are still stored (the enqueue is `robust`),
and the next batch — or the silent-device sweep — evaluates again.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.devices.models import Device
from apps.devices.selectors import device_for_token, device_thresholds
from apps.devices.services import ReadingsRejected, device_readings_ingest
from apps.devices.tasks import device_alerts_evaluate_task

KEYWORD = "Device"


class DeviceTokenAuthentication(BaseAuthentication):
    """`Authorization: Device <token>`. Sets `request.auth` to the Device; the user stays
    anonymous (a device is not a person). Unknown or revoked tokens get 401 with the reason."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, Device] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Invalid Authorization header: expected 'Device <token>'.")
            )
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(_("The token has invalid characters.")) from error
        check = device_for_token(token=token)
        if not check.is_valid:
            raise exceptions.AuthenticationFailed(check.reason)
        return AnonymousUser(), check.device

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer a missing token with 401 (and this challenge), not 403.
        return KEYWORD


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.devices.api.views.DeviceTokenAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Device <token>` — the token issued for this device in the admin.",
        }


class IsDevice(BasePermission):
    message = "A device token is required."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return isinstance(request.auth, Device)


class ReadingSerializer(serializers.Serializer):
    """Documentation only: validation is done set-wise by the ingestion service."""

    recorded_at = serializers.DateTimeField(help_text="ISO 8601 with a time zone.")
    temperature_c = serializers.FloatField(
        allow_null=True, required=False, min_value=-60, max_value=80
    )
    energy_wh = serializers.FloatField(allow_null=True, required=False, min_value=0)
    door_open = serializers.BooleanField(allow_null=True, required=False)


class ReadingBatchSerializer(serializers.Serializer):
    serial = serializers.CharField(required=False, help_text="Optional: must be this device's.")
    readings = ReadingSerializer(many=True)


class DeviceReadingsView(APIView):
    """`POST /api/v1/devices/readings` — a batch of readings from the authenticated device.

    201 with `{"received", "accepted", "duplicates"}`; 400 with `{"detail", "errors": [{index,
    field, message}]}` when any reading is bad (nothing stored); 401 for a missing, unknown or
    revoked token; 403 when the body names another device.
    """

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]

    @extend_schema(
        request=ReadingBatchSerializer,
        responses={
            201: inline_serializer(
                "ReadingBatchResult",
                {
                    "received": serializers.IntegerField(),
                    "accepted": serializers.IntegerField(),
                    "duplicates": serializers.IntegerField(),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        device: Device = request.auth
        data = request.data
        if not isinstance(data, dict) or "readings" not in data:
            return Response(
                {
                    "detail": _("Send a JSON object with a 'readings' list."),
                    "errors": [{"index": None, "field": "readings", "message": _("Required.")}],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        serial = data.get("serial")
        if serial is not None and serial != device.serial:
            raise exceptions.PermissionDenied(
                _("This token belongs to device %(serial)s, not %(other)s.")
                % {"serial": device.serial, "other": serial}
            )
        try:
            result = device_readings_ingest(device=device, readings=data["readings"])
        except ReadingsRejected as rejected:
            return Response(
                {
                    "detail": _("%(count)d problem(s) in the batch; nothing was stored.")
                    % {"count": len(rejected.problems)},
                    "errors": [problem.as_dict() for problem in rejected.problems[:100]],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        transaction.on_commit(partial(device_alerts_evaluate_task.delay, device.pk), robust=True)
        return Response(
            {
                "received": result.received,
                "accepted": result.accepted,
                "duplicates": result.duplicates,
            },
            status=status.HTTP_201_CREATED,
        )


class DeviceMeView(APIView):
    """`GET /api/v1/devices/me` — who this token is, and the thresholds that apply."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]

    @extend_schema(
        responses={
            200: inline_serializer(
                "DeviceMe",
                {
                    "serial": serializers.CharField(),
                    "name": serializers.CharField(),
                    "kind": serializers.CharField(),
                    "store": serializers.CharField(),
                    "min_temperature_c": serializers.FloatField(allow_null=True),
                    "max_temperature_c": serializers.FloatField(allow_null=True),
                    "minutes_out_of_range": serializers.IntegerField(),
                    "silent_after_minutes": serializers.IntegerField(),
                },
            )
        }
    )
    def get(self, request: Request) -> Response:
        device: Device = request.auth
        thresholds = device_thresholds(device=device)
        return Response(
            {
                "serial": device.serial,
                "name": device.name,
                "kind": device.kind,
                "store": device.store.code,
                "min_temperature_c": thresholds.min_temperature_c,
                "max_temperature_c": thresholds.max_temperature_c,
                "minutes_out_of_range": thresholds.minutes_out_of_range,
                "silent_after_minutes": device.silent_after_minutes,
            }
        )
