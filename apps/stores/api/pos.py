"""POS ingestion API: `POST /api/v1/pos/orders`, authenticated by a store terminal token.

The till's store comes from its token, never from the body. Every error answer has the one
shape of `linli.errors` (detail, code, errors[index, field, code, message]). See docs/members.md
for the payload and the answers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.customers.models import MemberIdentity
from apps.customers.services.identity import IdentityInput
from apps.stores.models import IMPORTED_ORDER_KEY_PREFIX, Order, StoreTerminal
from apps.stores.selectors import order_key_used, order_member_no_for_terminal
from apps.stores.services.orders import (
    OrderKeyReused,
    PosInsufficientStock,
    PosLine,
    UnknownSkus,
    pos_order_record,
    reserved_key_message,
)
from apps.stores.services.stock import InsufficientStock
from apps.stores.terminal_auth import (
    STORE_CLOSED,
    IsStoreTerminal,
    TerminalAuthentication,
    replay_key,
)
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

MAX_LINES = 500
# Order.total / discount_total and OrderLine.line_total are numeric(12, 2): a larger amount is
# refused here (400) rather than by the database (500).
MAX_AMOUNT = Decimal("9999999999.99")
# A till's clock may run a little fast (as a device's: apps.devices.conf); a sale further in
# the future would stay on top of the owner's recent orders.
PLACED_AT_FUTURE_TOLERANCE = dt.timedelta(minutes=5)
# A till records in-store sales only. Group-buy orders come from an offer's joins and its
# settlement (with the offer's price, stock and pickup); mini-program orders are member pickup
# or delivery orders that consolidation buys for, posted by the mini-program backend to its own
# API (api/mini_program.py: the store's prices, no stock taken). Neither may be posted by a till.
POS_CHANNELS = (Order.Channel.POS,)


class CheckedDateTimeField(CheckedMomentField):
    """A date-time in the imports' range (`moment_check`) with a till's future tolerance,
    checked before any time-zone conversion (year 1 would overflow it)."""

    future_tolerance = PLACED_AT_FUTURE_TOLERANCE


class PosMemberSerializer(IdentityKindsSerializer):
    """Whatever identity the till saw; every key optional, several allowed; another key is
    `unknown_field`, its message naming the kinds this object takes."""


class PosLineSerializer(api_fields.RequestSerializer):
    sku = serializers.CharField(max_length=32)
    quantity = api_fields.IntegerField(
        min_value=1,
        max_value=100_000,
        error_messages={"min_value": gettext_lazy("Quantity must be a positive whole number.")},
    )
    unit_price = api_fields.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal(0))
    discount = api_fields.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal(0),
        default=Decimal("0.00"),
        help_text="Money off the whole line, at most quantity × unit_price (`too_large`).",
    )


class PosOrderSerializer(api_fields.RequestSerializer):
    idempotency_key = serializers.CharField(
        max_length=64,
        help_text=(
            "Unique per store; a retry with the same key and request returns the first "
            "result, with other lines or member it is refused (409 `idempotency_key_reused`)."
        ),
    )
    store_code = serializers.CharField(
        required=False, max_length=16, help_text="Optional; must be the token's store."
    )
    placed_at = CheckedDateTimeField(
        required=False,
        help_text="ISO 8601, from 2000 to 5 minutes from now; default: now.",
    )
    channel = serializers.ChoiceField(
        choices=Order.Channel.choices,
        default=Order.Channel.POS,
        help_text="Only `pos` (an in-store sale); others get `channel_not_allowed`.",
    )
    member = PosMemberSerializer(required=False)
    lines = PosLineSerializer(many=True, allow_empty=False, max_length=MAX_LINES)

    def validate_idempotency_key(self, value: str) -> str:
        if value.startswith(IMPORTED_ORDER_KEY_PREFIX):
            raise serializers.ValidationError(reserved_key_message())
        return value

    def validate_channel(self, value: str) -> str:
        if value not in POS_CHANNELS:
            raise serializers.ValidationError(
                _(
                    "A till records in-store sales only (channel “pos”): “%(channel)s” orders "
                    "come from group-buy offers or the mini-program, not from a till."
                )
                % {"channel": value},
                code="channel_not_allowed",
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Every line's discount within its amount (quantity × unit price), every line total,
        and the order's total and discount, within `MAX_AMOUNT`: each line's problem named on
        its index and field (`too_large`)."""
        too_large: dict[int, dict[str, list[str]]] = {}
        total = discount_total = Decimal(0)
        for index, line in enumerate(attrs["lines"]):
            amount = line["unit_price"] * line["quantity"]
            line_total = amount - line["discount"]
            if line["discount"] > amount:
                too_large.setdefault(index, {})["discount"] = [
                    _("The discount is larger than the line's amount (%(amount)s).")
                    % {"amount": amount}
                ]
            if line_total > MAX_AMOUNT:
                too_large.setdefault(index, {})["quantity"] = [
                    _("Quantity × unit price is larger than %(max)s.") % {"max": MAX_AMOUNT}
                ]
            total += line_total
            discount_total += line["discount"]
        if too_large:
            raise serializers.ValidationError({"lines": too_large}, code="too_large")
        if total > MAX_AMOUNT or discount_total > MAX_AMOUNT:
            raise serializers.ValidationError(
                {"lines": [_("The order total is larger than %(max)s.") % {"max": MAX_AMOUNT}]},
                code="too_large",
            )
        return attrs


class PosOrderLineResultSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = api_fields.IntegerField()
    unit_price = api_fields.DecimalField(max_digits=10, decimal_places=2)
    discount = api_fields.DecimalField(max_digits=10, decimal_places=2)
    line_total = api_fields.DecimalField(max_digits=12, decimal_places=2)


class PosWarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    member_numbers = serializers.ListField(child=serializers.CharField(), required=False)


class PosOrderResultSerializer(serializers.Serializer):
    order_id = api_fields.IntegerField()
    store_code = serializers.CharField()
    idempotency_key = serializers.CharField()
    channel = serializers.CharField()
    placed_at = api_fields.DateTimeField()
    member_no = serializers.CharField(
        allow_null=True,
        help_text=(
            "The member's number when the member is this store's (home store here, or an "
            "earlier order here; a member the sale made is this store's); null otherwise, "
            "even when an identity the till sent belongs to another store's member."
        ),
    )
    total = api_fields.DecimalField(max_digits=12, decimal_places=2)
    discount_total = api_fields.DecimalField(max_digits=12, decimal_places=2)
    lines = PosOrderLineResultSerializer(many=True)
    warnings = PosWarningSerializer(many=True)


def _result_body(order: Order, warnings: list[dict[str, object]]) -> dict[str, Any]:
    lines = order.lines.select_related("product").order_by("pk")
    return PosOrderResultSerializer(
        {
            "order_id": order.pk,
            "store_code": order.store.code,
            "idempotency_key": order.idempotency_key,
            "channel": order.channel,
            "placed_at": order.placed_at,
            "member_no": order_member_no_for_terminal(order),
            "total": order.total,
            "discount_total": order.discount_total,
            "lines": [
                {
                    "sku": line.product.sku,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "discount": line.discount,
                    "line_total": line.line_total,
                }
                for line in lines
            ],
            "warnings": warnings,
        }
    ).data


class PosOrderView(UniformErrorsMixin, APIView):
    authentication_classes = [TerminalAuthentication]
    permission_classes = [IsStoreTerminal]
    throttle_scope = "pos_orders"
    error_items = "lines"

    def terminal_replay(self, request: Request) -> bool:
        """A store no longer open for trade still answers a till's retry of a sale it recorded
        while open (the same key): `IsStoreTerminal` lets this request through."""
        key = replay_key(request, serializer=PosOrderSerializer)
        terminal: StoreTerminal = request.auth
        return key is not None and order_key_used(store=terminal.store, idempotency_key=key)

    @extend_schema(
        operation_id="pos_order_create",
        summary="Record a POS sale",
        description=(
            "Authenticated by a store terminal token (`Authorization: Terminal <token>`); the "
            "store is the token's. Creates the order, its lines and stock ledger rows in one "
            "transaction and resolves (or creates) the member from any identity the till saw. "
            "Only in-store sales: `channel` must be `pos` (group-buy and mini-program orders "
            "are refused with 400 `channel_not_allowed`). "
            "Retrying with the same `idempotency_key` and the same request (lines, channel, "
            "member) returns the first result with 200 and writes nothing; the key with other "
            "lines or another member is refused with 409 `idempotency_key_reused`. When the "
            "identities belong to two different members the sale is recorded on the owner "
            "of the highest-priority identity (phone, member card, POS card, mini-program, "
            "WeChat) and `warnings` carries an `identity_conflict` entry (naming only this "
            "store's members). Members are network-wide, but the answer names a member "
            "(`member_no`) only when the member is this store's: a phone or card of another "
            "store's member records the sale on that member and answers `member_no: null`."
        ),
        request=PosOrderSerializer,
        responses={
            201: PosOrderResultSerializer,
            200: OpenApiResponse(PosOrderResultSerializer, description="Retry: the first result."),
            400: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "`invalid` (field errors, `channel_not_allowed` among them) or "
                    "`unknown_sku`, naming each line."
                ),
            ),
            401: OpenApiResponse(
                ErrorSerializer, description="No, unknown or revoked terminal token."
            ),
            429: RATE_LIMITED_RESPONSE,
            403: OpenApiResponse(
                ErrorSerializer, description="`wrong_store`: the token belongs to another store."
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "`insufficient_stock` with the SKUs short, or `idempotency_key_reused`: "
                    "the key was used for an order with other lines, channel or member, or "
                    f"`{STORE_CLOSED}`: the store is not open for trade (preparing, suspended "
                    "or closed; `store_status` in the error) and the key is new — a retry of "
                    "a sale recorded while it was open still answers its first result."
                ),
            ),
        },
        examples=[
            OpenApiExample(
                "Sale with a member phone",
                request_only=True,
                value={
                    "idempotency_key": "till-1-20250701-0042",
                    "placed_at": "2025-07-01T18:32:05+08:00",
                    "channel": "pos",
                    "member": {"phone": "138-0013-8000"},
                    "lines": [
                        {
                            "sku": "FRU-0001",
                            "quantity": 2,
                            "unit_price": "12.80",
                            "discount": "1.00",
                        }
                    ],
                },
            )
        ],
        tags=["pos"],
    )
    def post(self, request: Request) -> Response:
        terminal: StoreTerminal = request.auth
        store = terminal.store
        claimed_store = request.data.get("store_code") if hasattr(request.data, "get") else None
        if claimed_store not in (None, "") and str(claimed_store) != store.code:
            detail = _("This token belongs to another store.")
            raise ApiError(
                status_code=status.HTTP_403_FORBIDDEN,
                code="wrong_store",
                detail=detail,
                errors=[
                    ErrorItem(index=None, field="store_code", code="wrong_store", message=detail)
                ],
            )
        serializer = PosOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        identities = [
            IdentityInput(kind=kind, value=value)
            for kind, value in (data.get("member") or {}).items()
            if kind in MemberIdentity.Kind.values
        ]
        try:
            result = pos_order_record(
                store=store,
                idempotency_key=data["idempotency_key"],
                lines=[
                    PosLine(
                        sku=line["sku"],
                        quantity=line["quantity"],
                        unit_price=line["unit_price"],
                        discount=line["discount"],
                    )
                    for line in data["lines"]
                ],
                identities=identities,
                placed_at=data.get("placed_at"),
                channel=data["channel"],
            )
        except OrderKeyReused as error:
            raise ApiError(
                status_code=status.HTTP_409_CONFLICT,
                code="idempotency_key_reused",
                detail=error.messages[0],
                errors=[
                    ErrorItem(
                        index=None,
                        field="idempotency_key",
                        code="idempotency_key_reused",
                        message=error.messages[0],
                    )
                ],
            ) from error
        except UnknownSkus as error:
            raise ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code="unknown_sku",
                detail=error.messages[0],
                errors=[
                    ErrorItem(
                        index=index,
                        field="sku",
                        code="unknown_sku",
                        message=_("Unknown SKU “%(sku)s”.") % {"sku": sku},
                        extra={"sku": sku},
                    )
                    for index, sku in error.lines
                ],
            ) from error
        except PosInsufficientStock as error:
            raise ApiError(
                status_code=status.HTTP_409_CONFLICT,
                code="insufficient_stock",
                detail=error.messages[0],
                errors=[
                    ErrorItem(
                        index=None,
                        field="lines",
                        code="insufficient_stock",
                        message=_("%(sku)s: %(requested)d requested, %(on_hand)d in stock.")
                        % shortage,
                        extra=shortage,
                    )
                    for shortage in error.shortages
                ],
            ) from error
        except InsufficientStock as error:
            # Stock was short at write time but not when re-read: report it all the same.
            raise ApiError(
                status_code=status.HTTP_409_CONFLICT,
                code="insufficient_stock",
                detail=error.messages[0],
            ) from error
        return Response(
            _result_body(result.order, result.warnings),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
