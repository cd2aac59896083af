"""REST API for devices: `Authorization: Device <token>`, scoped to the token's device.

Alert evaluation runs in a Celery task enqueued after the readings commit, not in the request:
ingestion is the hot path (thousands of readings a second across all stores) and must stay
fast and independent of the rules, which read history (the 7-day energy baseline) and write
alerts, notifications and broadcasts. A device coming back online with a buffered backlog
posts several batches; each enqueues an evaluation, and evaluation is idempotent (at most one
active alert per device and kind, enforced by the database), so duplicates and redeliveries
are harmless. If the broker is down the readings are still stored and the request answers
201 (`linli.enqueue` logs the lost enqueue); the next batch evaluates again, and the
"devices: pending alert evaluations" sweep evaluates every device whose last batch was never
evaluated (`Device.alerts_evaluated_at` older than `last_seen_at`).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.devices.api.auth import DeviceTokenAuthentication, IsDevice
from apps.devices.models import TEMPERATURE_MAX_C, TEMPERATURE_MIN_C, Device
from apps.devices.selectors import device_thresholds
from apps.devices.services import (
    MAX_PROBLEMS_REPORTED,
    ReadingProblem,
    ReadingsRejected,
    device_readings_ingest,
    readings_parse,
)
from apps.devices.services.ingest import ENERGY_MAX_WH
from apps.devices.tasks import device_alerts_evaluate_task
from linli import api_fields
from linli.enqueue import enqueue_on_commit
from linli.errors import (
    CODE_INVALID,
    RATE_LIMITED_RESPONSE,
    ApiError,
    ErrorItem,
    ErrorSerializer,
    UniformErrorsMixin,
)


class ReadingSerializer(api_fields.RequestSerializer):
    """Documentation only: validation is done set-wise by the ingestion service (which refuses
    an unknown key as `unknown_field` too)."""

    recorded_at = api_fields.DateTimeField(help_text="ISO 8601 with a time zone.")
    temperature_c = api_fields.FloatField(
        allow_null=True, required=False, min_value=TEMPERATURE_MIN_C, max_value=TEMPERATURE_MAX_C
    )
    energy_wh = api_fields.FloatField(
        allow_null=True,
        required=False,
        min_value=0,
        max_value=ENERGY_MAX_WH,
        help_text="Energy used since the previous reading.",
    )
    door_open = serializers.BooleanField(allow_null=True, required=False)


class ReadingBatchSerializer(api_fields.RequestSerializer):
    serial = serializers.CharField(required=False, help_text="Optional: must be this device's.")
    readings = ReadingSerializer(many=True)


def _readings_required() -> ErrorItem:
    return ErrorItem(index=None, field="readings", code="required", message=_("Required."))


def _reading_errors(problems: list[ReadingProblem]) -> list[ErrorItem]:
    """The first `MAX_PROBLEMS_REPORTED` problems of the readings, as error items."""
    return [
        ErrorItem(
            index=problem.index, field=problem.field, code=problem.code, message=problem.message
        )
        for problem in problems[:MAX_PROBLEMS_REPORTED]
    ]


def _batch_invalid(errors: list[ErrorItem], *, count: int, detail: str | None = None) -> ApiError:
    """400 `invalid` listing `errors`; `count` problems in all (the readings' beyond
    `MAX_PROBLEMS_REPORTED` are counted, not listed)."""
    return ApiError(
        status_code=status.HTTP_400_BAD_REQUEST,
        code=CODE_INVALID,
        detail=detail
        or ngettext(
            "%(count)d problem in the batch; nothing was stored.",
            "%(count)d problems in the batch; nothing was stored.",
            count,
        )
        % {"count": count},
        errors=errors,
    )


class DeviceReadingsView(UniformErrorsMixin, APIView):
    """`POST /api/v1/devices/readings` — a batch of readings from the authenticated device.

    201 with `{"received", "accepted", "duplicates"}`. Errors in the one shape of `linli.errors`
    (`{"detail", "code", "errors": [{index, field, code, message}]}`): 400 `invalid` when any
    reading is bad, the serial is not text or the body has a key it does not know
    (`unknown_field`), every such problem in the one answer; nothing stored. 401 for a
    missing, unknown or revoked token, 403 `wrong_device` when the body names another device.
    """

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]
    throttle_scope = "device"

    @extend_schema(
        request=ReadingBatchSerializer,
        responses={
            201: inline_serializer(
                "ReadingBatchResult",
                {
                    "received": api_fields.IntegerField(),
                    "accepted": api_fields.IntegerField(),
                    "duplicates": api_fields.IntegerField(),
                },
            ),
            400: ErrorSerializer,
            401: ErrorSerializer,
            429: RATE_LIMITED_RESPONSE,
            403: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        # The body is not validated by `ReadingBatchSerializer` (which documents it), as the
        # other writes' bodies are, because its answers could not stay the same: the readings
        # are checked set-wise by the ingestion service (`readings_parse`, the hot path), whose
        # codes DRF does not give (`not_an_object`, `no_time_zone`, the retention window's
        # `too_old`) and whose problems beyond `MAX_PROBLEMS_REPORTED` are counted in `detail`
        # but not listed, where the uniform handler counts what it lists; a body that is no
        # object, or whose only problem is the serial, has its own `detail`; and a serial of
        # another device is a 403 before the readings are checked but after the body's shape,
        # an order one validation pass does not have. So the view checks the shape, then the
        # serial, then lets the service check the readings.
        device: Device = request.auth
        data = request.data
        if not isinstance(data, dict):
            raise _batch_invalid(
                [_readings_required()],
                count=1,
                detail=_("Send a JSON object with a 'readings' list."),
            )
        # Every problem of the body in one 400, in the order `RequestSerializer` gives: the
        # serial's, the readings', each unknown key. The readings are checked here only when
        # the body has another problem; else `device_readings_ingest` checks them, once the
        # serial is known to be this device's (another device's is a 403 before them).
        serial = data.get("serial")
        serial_problems = []
        if serial is not None and not isinstance(serial, str):
            serial_problems.append(
                ErrorItem(
                    index=None,
                    field="serial",
                    code=CODE_INVALID,
                    message=_("The serial must be text."),
                )
            )
        unknown = [
            ErrorItem(
                index=None,
                field=key,
                code=api_fields.UNKNOWN_FIELD,
                message=api_fields.UNKNOWN_FIELD_MESSAGE,
            )
            for key in api_fields.unknown_keys(data, ReadingBatchSerializer().fields)
        ]
        if "readings" not in data:
            problems = [*serial_problems, _readings_required(), *unknown]
            raise _batch_invalid(
                problems,
                count=len(problems),
                detail=_("Send a JSON object with a 'readings' list."),
            )
        if serial_problems or unknown:
            try:
                readings_parse(readings=data["readings"])
            except ReadingsRejected as rejected:
                readings = rejected.problems
            else:
                readings = []
            problems = [*serial_problems, *_reading_errors(readings), *unknown]
            raise _batch_invalid(
                problems,
                count=len(serial_problems) + len(readings) + len(unknown),
                detail=_("The serial must be text.") if problems == serial_problems else None,
            )
        if serial is not None and serial != device.serial:
            detail = _("This token belongs to device %(serial)s, not %(other)s.") % {
                "serial": device.serial,
                "other": serial,
            }
            raise ApiError(
                status_code=status.HTTP_403_FORBIDDEN,
                code="wrong_device",
                detail=detail,
                errors=[ErrorItem(index=None, field="serial", code="wrong_device", message=detail)],
            )
        try:
            result = device_readings_ingest(device=device, readings=data["readings"])
        except ReadingsRejected as rejected:
            raise _batch_invalid(
                _reading_errors(rejected.problems), count=len(rejected.problems)
            ) from rejected
        enqueue_on_commit(device_alerts_evaluate_task, device.pk)
        return Response(
            {
                "received": result.received,
                "accepted": result.accepted,
                "duplicates": result.duplicates,
            },
            status=status.HTTP_201_CREATED,
        )


class DeviceMeView(UniformErrorsMixin, APIView):
    """`GET /api/v1/devices/me` — who this token is, and the thresholds that apply."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]
    throttle_scope = "device"

    @extend_schema(
        responses={
            200: inline_serializer(
                "DeviceMe",
                {
                    "serial": serializers.CharField(),
                    "name": serializers.CharField(),
                    "kind": serializers.CharField(),
                    "store": serializers.CharField(),
                    "min_temperature_c": api_fields.FloatField(allow_null=True),
                    "max_temperature_c": api_fields.FloatField(allow_null=True),
                    "minutes_out_of_range": api_fields.IntegerField(),
                    "silent_after_minutes": api_fields.IntegerField(),
                },
            ),
            401: ErrorSerializer,
            429: RATE_LIMITED_RESPONSE,
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
