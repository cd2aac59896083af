"""Tracking events API: `POST /api/v1/campaigns/events`, a batch of up to 500 exposure, click
and order events, authenticated by a store terminal token (`Authorization: Terminal <token>`).

The terminal's store comes from its token; every event must name one of that store's store
campaigns, and a member number only one of that store's members (docs/members.md). The batch
is all-or-nothing (see `apps.campaigns.services.tracking`): any problem answers 4xx in the
`linli.errors` shape with each event's index, and nothing is recorded.
Idempotent by `event_id`: sending a batch again answers 200 with every event a duplicate.
The body is bounded (`MAX_BODY_BYTES`) before it is parsed. See docs/reviews.md.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.campaigns.models import TrackingEvent
from apps.campaigns.services.tracking import (
    EVENT_ID_MAX_LENGTH,
    IDENTITY_KEYS,
    MAX_EVENTS,
    MEMBER_NO_KEY,
    OCCURRED_AT_FUTURE_TOLERANCE,
    TrackingBatchInvalid,
    TrackingEventInput,
    tracking_events_record,
)
from apps.stores.models import StoreTerminal
from apps.stores.terminal_auth import STORE_CLOSED, IsStoreTerminal, TerminalAuthentication
from apps.stores.terminal_identity import IdentityKindsSerializer
from linli import api_fields
from linli.api_fields import CheckedMomentField
from linli.errors import (
    RATE_LIMITED_RESPONSE,
    ApiError,
    ErrorItem,
    ErrorSerializer,
    UniformErrorsMixin,
)
from linli.parsers import BoundedJSONParser

# 500 events of a few hundred bytes each fit well inside this; a larger body is refused
# before it is parsed.
MAX_BODY_BYTES = 512 * 1024


class TrackingJSONParser(BoundedJSONParser):
    """BoundedJSONParser that reads at most `MAX_BODY_BYTES` (400 `too_large` beyond)."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_BODY_BYTES:
            raise ParseError(
                _("The request body is larger than %(limit)d bytes.") % {"limit": MAX_BODY_BYTES},
                code="too_large",
            )
        return super().parse(io.BytesIO(body), media_type, parser_context)


class OccurredAtField(CheckedMomentField):
    """A date-time from 2000 to 5 minutes from now (`moment_check`), checked before any
    time-zone conversion (year 1 would overflow it); without an offset it is local time."""

    future_tolerance = OCCURRED_AT_FUTURE_TOLERANCE


class TrackingMemberSerializer(IdentityKindsSerializer):
    """The shopper's identity: one or more of the POS member's identity kinds, read as at the
    till, and a member number. Another key is `unknown_field`, its message naming the kinds;
    a `member` that is not an object is `not_a_dict`."""

    # The POS member's fields (`IdentityKindsSerializer`) and `member_no`. A `member` that is
    # not an object keeps the code it had when it was a mapping of text (`not_a_dict`, DRF's
    # message), which senders handle; the POS `member` has always answered `invalid` there.
    default_error_messages = {
        "not_a_dict": serializers.DictField.default_error_messages["not_a_dict"],
    }

    member_no = serializers.CharField(required=False, max_length=128)

    def get_fields(self) -> dict[str, serializers.Field]:
        # The member number first, as in `IDENTITY_KEYS` (the order the kinds resolve in),
        # in the unknown-kind message and the schema.
        fields = super().get_fields()
        return {MEMBER_NO_KEY: fields.pop(MEMBER_NO_KEY), **fields}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, Mapping):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return super().to_internal_value(data)


class TrackingEventSerializer(api_fields.RequestSerializer):
    event_id = serializers.CharField(
        max_length=EVENT_ID_MAX_LENGTH,
        help_text="The sender's unique id for this event; a resend with the same id is a no-op.",
    )
    kind = serializers.ChoiceField(choices=TrackingEvent.Kind.choices)
    store_campaign = api_fields.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="A store campaign id of the token's store."
    )
    occurred_at = OccurredAtField(help_text="ISO 8601, from 2000 to 5 minutes from now.")
    member = TrackingMemberSerializer(
        required=False,
        help_text=(
            "Optional identity of the shopper: one or more of "
            + ", ".join(IDENTITY_KEYS)
            + ". A phone, card or openid nobody holds records the event without a member; a "
            "member_no must be one of the token's store's members (home store there, or "
            "bought there), else the event is refused (unknown_member)."
        ),
    )
    sku = serializers.CharField(required=False, max_length=32, help_text="Optional product.")
    order_id = api_fields.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="Optional order (this store's)."
    )


class TrackingBatchSerializer(api_fields.RequestSerializer):
    events = TrackingEventSerializer(many=True, allow_empty=False, max_length=MAX_EVENTS)


class TrackingBatchResultSerializer(serializers.Serializer):
    recorded = api_fields.IntegerField(help_text="Events stored by this request.")
    duplicates = api_fields.IntegerField(help_text="Events whose event_id was already stored.")


class TrackingEventsView(UniformErrorsMixin, APIView):
    authentication_classes = [TerminalAuthentication]
    permission_classes = [IsStoreTerminal]
    throttle_scope = "campaign_events"
    parser_classes = [TrackingJSONParser]
    error_items = "events"

    @extend_schema(
        operation_id="campaign_events_create",
        summary="Record a batch of campaign tracking events",
        description=(
            "Authenticated by a store terminal token (`Authorization: Terminal <token>`). Up to "
            f"{MAX_EVENTS} exposure, click and order events of the token's store's campaigns. "
            "All-or-nothing: any invalid event answers 4xx naming every problem by index, and "
            "nothing is stored. Idempotent by `event_id`: a resent event counts as a duplicate."
        ),
        request=TrackingBatchSerializer,
        responses={
            200: TrackingBatchResultSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="`invalid`, `unknown_sku`, `unknown_order`, `unknown_member`, "
                "`too_large`, …, "
                "each problem with the event's index.",
            ),
            401: OpenApiResponse(
                ErrorSerializer, description="No, unknown or revoked terminal token."
            ),
            429: RATE_LIMITED_RESPONSE,
            403: OpenApiResponse(
                ErrorSerializer,
                description="`wrong_store`: an event names a store campaign that is not the "
                "token's store's (with the event's index).",
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description=f"`{STORE_CLOSED}`: the terminal's store is not open for trade "
                "(preparing, suspended or closed; `store_status` in the error).",
            ),
        },
        examples=[
            OpenApiExample(
                "An exposure and a click",
                request_only=True,
                value={
                    "events": [
                        {
                            "event_id": "mp-7f3a-0001",
                            "kind": "exposure",
                            "store_campaign": 42,
                            "occurred_at": "2026-07-01T20:01:00+08:00",
                            "member": {"mini_program": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"},
                        },
                        {
                            "event_id": "mp-7f3a-0002",
                            "kind": "click",
                            "store_campaign": 42,
                            "occurred_at": "2026-07-01T20:01:30+08:00",
                            "sku": "FRU-0001",
                        },
                    ]
                },
            ),
            OpenApiExample("Answer", response_only=True, value={"recorded": 2, "duplicates": 0}),
        ],
        tags=["campaigns"],
    )
    def post(self, request: Request) -> Response:
        terminal: StoreTerminal = request.auth
        serializer = TrackingBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        events = [
            TrackingEventInput(
                event_id=event["event_id"],
                kind=event["kind"],
                store_campaign_id=event["store_campaign"],
                occurred_at=event["occurred_at"],
                member=dict(event.get("member") or {}),
                sku=event.get("sku", ""),
                order_id=event.get("order_id"),
            )
            for event in serializer.validated_data["events"]
        ]
        try:
            recorded, duplicates, errors = tracking_events_record(
                store=terminal.store, events=events
            )
        except TrackingBatchInvalid as error:
            raise ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code=error.error_code,
                detail=error.messages[0],
            ) from error
        if errors:
            wrong_store = any(error.code == "wrong_store" for error in errors)
            raise ApiError(
                status_code=status.HTTP_403_FORBIDDEN
                if wrong_store
                else status.HTTP_400_BAD_REQUEST,
                code="wrong_store" if wrong_store else "invalid",
                detail=ngettext(
                    "%(count)d problem in the batch; nothing was stored.",
                    "%(count)d problems in the batch; nothing was stored.",
                    len(errors),
                )
                % {"count": len(errors)},
                errors=[
                    ErrorItem(
                        index=error.index, field=error.field, code=error.code, message=error.message
                    )
                    for error in errors
                ],
            )
        return Response(
            TrackingBatchResultSerializer({"recorded": recorded, "duplicates": duplicates}).data,
            status=status.HTTP_200_OK,
        )
