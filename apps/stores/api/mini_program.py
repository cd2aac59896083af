"""Mini-program order API, for the brand's WeChat mini-program backend, authenticated by the
store's terminal token (`Authorization: Terminal <token>`):

- `POST /api/v1/mini-program/orders` — a member's paid order for pickup or same-city delivery
  (idempotent by key)
- `GET  /api/v1/mini-program/orders/<reference>` — its status, lines, total, pickup code and
  delivery status
- `POST /api/v1/mini-program/orders/<reference>/cancel` — the member cancels it

The store is the token's, never the body's: another store's order is a 404 exactly like an
unknown reference. Every error answer has the one shape of `linli.errors`. The writes are
`apps.procurement.services.mini_program`'s. See docs/pickup.md "Mini-program orders".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.procurement.selectors.mini_program import (
    mini_program_expected_ready_on,
    mini_program_order,
)
from apps.procurement.selectors.pickup import OPEN_STATUSES
from apps.procurement.selectors.receiving import order_line_units_arrived
from apps.procurement.services import mini_program as service
from apps.procurement.services.pickup import PickupRefused
from apps.stores.models import Order, OrderFulfilment, StoreTerminal
from apps.stores.selectors import order_key_used, order_member_no_for_terminal
from apps.stores.terminal_auth import IsStoreTerminal, TerminalAuthentication, replay_key
from apps.stores.terminal_identity import (
    MEMBER_CHANGED_DESCRIPTION,
    MEMBER_KEYS,
    MemberIdentitySerializer,
    member_from,
)
from linli import api_fields
from linli.errors import (
    RATE_LIMITED_RESPONSE,
    ApiError,
    ErrorItem,
    ErrorSerializer,
    UniformErrorsMixin,
)

# Refusal code → HTTP status: 400 for what the request itself got wrong, 409 for what the
# store, the catalogue or an earlier request stands against now.
REFUSAL_STATUS = {
    service.UNKNOWN_SKU: status.HTTP_400_BAD_REQUEST,
    service.NOT_AVAILABLE: status.HTTP_409_CONFLICT,
    service.STORE_CLOSED: status.HTTP_409_CONFLICT,
    service.PRICE_CHANGED: status.HTTP_409_CONFLICT,
    service.KEY_REUSED: status.HTTP_409_CONFLICT,
    service.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    "not_cancellable": status.HTTP_409_CONFLICT,
    "out_for_delivery": status.HTTP_409_CONFLICT,
}
FULFILMENTS = (Order.Fulfilment.PICKUP, Order.Fulfilment.DELIVERY)


def _not_found() -> ApiError:
    return ApiError(
        status_code=status.HTTP_404_NOT_FOUND,
        code="not_found",
        detail=_("No such mini-program order at this terminal's store."),
    )


class MiniProgramLineSerializer(api_fields.RequestSerializer):
    sku = serializers.CharField(max_length=32)
    quantity = api_fields.IntegerField(min_value=1, max_value=service.QUANTITY_MAX)


class MiniProgramDeliverySerializer(api_fields.RequestSerializer):
    address = serializers.CharField(max_length=service.ADDRESS_MAX_LENGTH)
    contact_name = serializers.CharField(max_length=service.CONTACT_MAX_LENGTH)
    phone = api_fields.PhoneField()

    def validate_address(self, value: str) -> str:
        return " ".join(value.split())


class MiniProgramOrderRequestSerializer(MemberIdentitySerializer):
    idempotency_key = serializers.CharField(
        max_length=service.KEY_MAX_LENGTH,
        help_text=(
            "Unique per store (e.g. the WeChat Pay out_trade_no); a retry with the same key and "
            "request returns the first order, with another request it is refused (409 "
            "`idempotency_key_reused`)."
        ),
    )
    lines = MiniProgramLineSerializer(many=True, allow_empty=False, max_length=service.LINES_MAX)
    fulfilment = serializers.ChoiceField(choices=FULFILMENTS)
    delivery = MiniProgramDeliverySerializer(
        required=False, help_text="Required for `delivery`; ignored for `pickup`."
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=service.NOTE_MAX_LENGTH, default=""
    )
    expected_total = api_fields.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal(0),
        help_text="The total the member saw and paid; another total today is `price_changed`.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        if not any(attrs.get(key) for key in MEMBER_KEYS):
            errors["mini_program_openid"] = [
                _("Name the member: a mini-program openid, WeChat openid, phone or member number.")
            ]
        skus = [line["sku"] for line in attrs["lines"]]
        repeated = sorted({sku for sku in skus if skus.count(sku) > 1})
        if repeated:
            errors["lines"] = [
                _("Each SKU once per order (add up its quantity): %(skus)s.")
                % {"skus": ", ".join(repeated)}
            ]
        if attrs["fulfilment"] == Order.Fulfilment.DELIVERY and not attrs.get("delivery"):
            errors["delivery"] = [
                _("A delivery order needs the address, the contact's name and their phone.")
            ]
        if errors:
            raise serializers.ValidationError(errors, code="required")
        return attrs


class MiniProgramCancelRequestSerializer(api_fields.RequestSerializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=service.REASON_MAX_LENGTH, default=""
    )


class MiniProgramOrderLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = api_fields.IntegerField()
    unit_price = api_fields.DecimalField(
        max_digits=10, decimal_places=2, help_text="The list price."
    )
    discount = api_fields.DecimalField(
        max_digits=10, decimal_places=2, help_text="The promotion's discount on the line."
    )
    line_total = api_fields.DecimalField(max_digits=12, decimal_places=2)
    short_quantity = api_fields.IntegerField(
        help_text="Units that did not arrive from the supplier (handed over: the rest)."
    )


class MiniProgramDeliveryResultSerializer(serializers.Serializer):
    address = serializers.CharField()
    contact_name = serializers.CharField()
    phone = serializers.CharField()


class MiniProgramOrderSerializer(serializers.Serializer):
    reference = serializers.CharField()
    order_id = api_fields.IntegerField()
    store_code = serializers.CharField()
    member_no = serializers.CharField(
        allow_null=True,
        help_text="The member's number when the member is this store's (home store here, an "
        "earlier order here, or made a member by this order); null otherwise, as the POS "
        "answers.",
    )
    status = serializers.ChoiceField(choices=Order.Status.choices)
    fulfilment = serializers.ChoiceField(choices=FULFILMENTS)
    fulfilment_status = serializers.ChoiceField(
        choices=OrderFulfilment.Status.choices,
        allow_null=True,
        help_text="Pickup: waiting → ready → collected; delivery: waiting → ready → "
        "out_for_delivery → delivered (or failed); cancelled.",
    )
    pickup_code = serializers.CharField(
        allow_null=True,
        help_text="The 6-digit code the member shows at the counter (or to the rider); null "
        "once the order is collected, delivered or cancelled.",
    )
    placed_at = api_fields.DateTimeField()
    ready_at = api_fields.DateTimeField(allow_null=True)
    completed_at = api_fields.DateTimeField(allow_null=True)
    expected_ready_on = api_fields.DateField(
        allow_null=True,
        help_text="The day the member can expect the order ready (local date): the latest "
        "delivery date of its lines — a line's purchase order's once it is on one, else the "
        "one consolidation will give it (the daily 22:00 cut-off after payment plus the "
        "preferred offer's lead time). Null for a cancelled order.",
    )
    total = api_fields.DecimalField(max_digits=12, decimal_places=2)
    discount_total = api_fields.DecimalField(max_digits=12, decimal_places=2)
    lines = MiniProgramOrderLineSerializer(many=True)
    delivery = MiniProgramDeliveryResultSerializer(allow_null=True)
    note = serializers.CharField()


def _order_body(order: Order) -> dict[str, Any]:
    """The order as the mini-program shows it (`order` from `mini_program_order`)."""
    record: OrderFulfilment | None = getattr(order, "fulfilment_record", None)
    is_delivery = order.fulfilment == Order.Fulfilment.DELIVERY
    return MiniProgramOrderSerializer(
        {
            "reference": order.reference,
            "order_id": order.pk,
            "store_code": order.store.code,
            "member_no": order_member_no_for_terminal(order),
            "status": order.status,
            "fulfilment": order.fulfilment,
            "fulfilment_status": record.status if record else None,
            "pickup_code": (
                record.pickup_code if record and record.status in OPEN_STATUSES else None
            ),
            "placed_at": order.placed_at,
            "ready_at": record.ready_at if record else None,
            "completed_at": record.completed_at if record else None,
            "expected_ready_on": mini_program_expected_ready_on(order=order),
            "total": order.total,
            "discount_total": order.discount_total,
            "lines": [
                {
                    "sku": line.product.sku,
                    "name": line.product.name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "discount": line.discount,
                    "line_total": line.line_total,
                    "short_quantity": line.quantity - order_line_units_arrived(line),
                }
                for line in order.lines.all()
            ],
            "delivery": (
                {
                    "address": record.delivery_address,
                    "contact_name": record.delivery_contact,
                    "phone": record.delivery_phone,
                }
                if record and is_delivery
                else None
            ),
            "note": record.member_note if record else "",
        }
    ).data


def _refusal(error: service.MiniProgramOrderRefused | PickupRefused) -> ApiError:
    code = error.code or "invalid"
    message = error.messages[0]
    items: list[ErrorItem]
    if code in (service.UNKNOWN_SKU, service.NOT_AVAILABLE):
        items = [
            ErrorItem(index=index, field="sku", code=code, message=message, extra={"sku": sku})
            for index, sku in error.lines
        ]
    elif code == service.PRICE_CHANGED and error.quote is not None:
        quote = error.quote
        items = [
            ErrorItem(
                index=None,
                field="expected_total",
                code=code,
                message=message,
                extra={"total": str(quote.total)},
            ),
            *(
                ErrorItem(
                    index=index,
                    field="unit_price",
                    code=code,
                    message=_("%(sku)s: ¥%(price)s each today.")
                    % {"sku": line.product.sku, "price": line.unit_price},
                    extra={
                        "sku": line.product.sku,
                        "quantity": line.quantity,
                        "list_price": str(line.list_price),
                        "discount_percent": line.discount_percent,
                        "unit_price": str(line.unit_price),
                        "line_total": str(line.line_total),
                    },
                )
                for index, line in enumerate(quote.lines)
            ),
        ]
    elif code == service.KEY_REUSED:
        items = [ErrorItem(index=None, field="idempotency_key", code=code, message=message)]
    else:
        items = []
    return ApiError(
        status_code=REFUSAL_STATUS.get(code, status.HTTP_400_BAD_REQUEST),
        code=code,
        detail=message,
        errors=items,
    )


def _loaded(request: Request, reference: str) -> Order:
    terminal: StoreTerminal = request.auth
    order = mini_program_order(store_id=terminal.store_id, reference=reference)
    if order is None:
        raise _not_found()
    return order


COMMON_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="No, unknown or revoked terminal token."),
    429: RATE_LIMITED_RESPONSE,
}
NOT_FOUND_RESPONSE = OpenApiResponse(
    ErrorSerializer,
    description="`not_found`: no mini-program order with this reference at the token's store "
    "(another store's order gets the same answer).",
)


class MiniProgramOrdersView(UniformErrorsMixin, APIView):
    authentication_classes = [TerminalAuthentication]
    permission_classes = [IsStoreTerminal]
    throttle_scope = "mini_program_orders"
    error_items = "lines"

    def terminal_replay(self, request: Request) -> bool:
        """A store no longer open for trade still answers a retry of an order placed while it
        was open (its key is used at this store): `IsStoreTerminal` lets it through."""
        key = replay_key(request, serializer=MiniProgramOrderRequestSerializer)
        terminal: StoreTerminal = request.auth
        return key is not None and order_key_used(
            store=terminal.store,
            idempotency_key=service.mini_program_order_key(idempotency_key=key),
        )

    @extend_schema(
        operation_id="mini_program_order_create",
        summary="Place a member's paid mini-program order",
        description=(
            "The member's order at the token's store, paid in WeChat Pay, for `pickup` or "
            "same-city `delivery` (with `delivery`: address, contact name, phone). Prices are "
            "the store's today — the list price less the deepest planned price promotion or "
            "broadcast covering the product there — never the client's: `expected_total` is "
            "the total the member saw and paid, and another total is 409 `price_changed` with "
            "the current lines and total. Only active products that a supplier offers "
            "(consolidation buys them: nothing is taken from the shelf). Written paid in one "
            "transaction with its lines and 6-digit pickup code; the next consolidation run "
            "(the daily 22:00 one at the latest) puts it on a purchase order. The member is "
            "named by `mini_program_openid`, `wechat_openid`, `phone` or `member_no` (resolved "
            "through the unified member ID; a new openid or phone makes a member of this "
            "store). Retrying with the same `idempotency_key` and the same request returns "
            "the first order with 200 and writes nothing; the same key with another request "
            "is 409 `idempotency_key_reused`."
        ),
        request=MiniProgramOrderRequestSerializer,
        responses={
            201: MiniProgramOrderSerializer,
            200: OpenApiResponse(MiniProgramOrderSerializer, description="Retry: the first order."),
            400: OpenApiResponse(
                ErrorSerializer,
                description="`invalid` (field errors: a missing member, delivery details, a "
                "repeated SKU, a quantity outside 1–99, more than 50 lines), `unknown_sku` "
                "(each line named, with its `sku`) or `unknown_member`.",
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description="`price_changed` (an `expected_total` item with today's `total`, "
                "then one item per line with `sku`, `quantity`, `list_price`, "
                "`discount_percent`, `unit_price`, `line_total`), `not_available` (inactive or "
                "no supplier offer; each line named, with its `sku`), `store_closed` (the "
                "store is not open for trade; `store_status` in the error; a retry of an order "
                "recorded while it was open is still answered), `idempotency_key_reused`, or "
                f"{MEMBER_CHANGED_DESCRIPTION}.",
            ),
            **COMMON_ERRORS,
        },
        examples=[
            OpenApiExample(
                "Delivery for a member known by her mini-program openid",
                request_only=True,
                value={
                    "idempotency_key": "wxpay-4200001234202607011234567890",
                    "mini_program_openid": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
                    "display_name": "李阿姨",
                    "lines": [{"sku": "FRU-0001", "quantity": 2}],
                    "fulfilment": "delivery",
                    "delivery": {
                        "address": "翠苑一区 12 幢 3 单元 402",
                        "contact_name": "李阿姨",
                        "phone": "138-0013-8000",
                    },
                    "note": "请放门口",
                    "expected_total": "25.60",
                },
            ),
            OpenApiExample(
                "Pickup",
                request_only=True,
                value={
                    "idempotency_key": "wxpay-4200001234202607011234567891",
                    "phone": "138-0013-8000",
                    "lines": [{"sku": "FRU-0001", "quantity": 1}],
                    "fulfilment": "pickup",
                    "expected_total": "12.80",
                },
            ),
        ],
        tags=["mini-program"],
    )
    def post(self, request: Request) -> Response:
        terminal: StoreTerminal = request.auth
        store = terminal.store
        serializer = MiniProgramOrderRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        delivery = data.get("delivery")
        try:
            # One transaction: a refused order leaves no member made from a new openid either.
            with transaction.atomic():
                member = member_from(data, store=store)
                assert member is not None  # noqa: S101 - the serializer requires an identity
                result = service.mini_program_order_place(
                    store=store,
                    member=member,
                    idempotency_key=data["idempotency_key"],
                    lines=[
                        service.LineRequest(sku=line["sku"], quantity=line["quantity"])
                        for line in data["lines"]
                    ],
                    fulfilment=data["fulfilment"],
                    expected_total=data["expected_total"],
                    delivery=(
                        service.DeliveryDetails(
                            address=delivery["address"],
                            contact=delivery["contact_name"],
                            phone=delivery["phone"],
                        )
                        if delivery
                        else service.NO_DELIVERY
                    ),
                    note=data["note"].strip(),
                )
        except service.MiniProgramOrderRefused as error:
            raise _refusal(error) from error
        body = _order_body(_loaded(request, result.order.reference))
        return Response(body, status=status.HTTP_201_CREATED if result.created else 200)


class MiniProgramOrderView(UniformErrorsMixin, APIView):
    authentication_classes = [TerminalAuthentication]
    permission_classes = [IsStoreTerminal]
    throttle_scope = "mini_program_orders"

    @extend_schema(
        operation_id="mini_program_order_state",
        summary="A mini-program order's state",
        description="Status, lines, total, the pickup code the member collects with, and the "
        "delivery status of one of the token's store's mini-program orders.",
        responses={200: MiniProgramOrderSerializer, 404: NOT_FOUND_RESPONSE, **COMMON_ERRORS},
        tags=["mini-program"],
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response(_order_body(_loaded(request, reference)))


class MiniProgramOrderCancelView(UniformErrorsMixin, APIView):
    authentication_classes = [TerminalAuthentication]
    permission_classes = [IsStoreTerminal]
    throttle_scope = "mini_program_orders"

    def terminal_replay(self, request: Request) -> bool:
        """A cancellation undoes an order recorded while the store was open: a store that has
        stopped trading (suspended, closed) still lets its members cancel and be refunded, so
        `IsStoreTerminal` lets it through for this store's mini-program orders (another
        store's or an unknown reference goes on to the view's 404)."""
        return True

    @extend_schema(
        operation_id="mini_program_order_cancel",
        summary="The member cancels a mini-program order",
        description=(
            "Cancels the order before it is handed over, as the store's **Cancel order** "
            "does: before consolidation it is simply cancelled; once on a purchase order not "
            "yet confirmed, the purchase order is reduced; once confirmed, an exception is "
            "recorded for HQ. The pickup code is freed and the member told. Refund the "
            "member's WeChat Pay payment when the answer's `status` is `cancelled`. An order "
            "already cancelled answers 200 as it is (a retry is safe). A store not open for "
            "trade still lets its members cancel."
        ),
        request=MiniProgramCancelRequestSerializer,
        responses={
            200: MiniProgramOrderSerializer,
            400: OpenApiResponse(ErrorSerializer, description="`invalid`: `reason` too long."),
            404: NOT_FOUND_RESPONSE,
            409: OpenApiResponse(
                ErrorSerializer,
                description="`not_cancellable` (collected or delivered) or `out_for_delivery` "
                "(the rider has it: the store decides).",
            ),
            **COMMON_ERRORS,
        },
        examples=[
            OpenApiExample(
                "The member changed her mind", request_only=True, value={"reason": "买多了"}
            )
        ],
        tags=["mini-program"],
    )
    def post(self, request: Request, reference: str) -> Response:
        terminal: StoreTerminal = request.auth
        _loaded(request, reference)
        serializer = MiniProgramCancelRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            service.mini_program_order_cancel(
                store=terminal.store,
                reference=reference,
                reason=serializer.validated_data["reason"],
            )
        except (service.MiniProgramOrderRefused, PickupRefused) as error:
            raise _refusal(error) from error
        return Response(_order_body(_loaded(request, reference)))
