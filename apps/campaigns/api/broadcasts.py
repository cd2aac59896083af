"""Group-buy API for a mini-program or chat bot, authenticated by a store terminal token
(`Authorization: Terminal <token>`):

- `GET  /api/v1/group-buys/offers/<offer_id>` — an offer's state
- `POST /api/v1/group-buys/offers/<offer_id>/joins` — join it (idempotent by key)
- `POST /api/v1/broadcasts/<broadcast_id>/comments` — leave a comment
- `POST /api/v1/broadcasts/<broadcast_id>/viewers` — report the stream's concurrent viewers

A terminal acts only on its own store's broadcasts: another store's offer or broadcast is a 404
exactly like an unknown id. Every error answer has the one shape of `linli.errors`. See
docs/group-buys.md.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.campaigns.models import Broadcast, GroupBuyJoin, GroupBuyOffer
from apps.campaigns.selectors.broadcasts import group_buy_join_key_used, offer_progress
from apps.campaigns.services.broadcasts import (
    AUTHOR_MAX_LENGTH,
    COMMENT_MAX_LENGTH,
    VIEWERS_MAX,
    BroadcastRefused,
    broadcast_comment_add,
    broadcast_viewers_report,
)
from apps.campaigns.services.group_buys import (
    KEY_MAX_LENGTH,
    KEY_REUSED,
    QUANTITY_MAX,
    GroupBuyRefused,
    group_buy_join,
)
from apps.customers.models import Member
from apps.stores.models import Store, StoreTerminal
from apps.stores.selectors import store_knows_member

# The campaigns API's one terminal authentication (same tokens as the POS API; an app may not
# import another app's api package, so campaigns declares its own once, in api/tracking.py).
from apps.stores.terminal_auth import (
    STORE_CLOSED,
    IsStoreTerminal,
    TerminalAuthentication,
    replay_key,
)
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

# Refusal code → HTTP status: the request was fine, the offer cannot take it now.
REFUSAL_STATUS = {
    "sold_out": status.HTTP_409_CONFLICT,
    "closed": status.HTTP_409_CONFLICT,
    "insufficient_stock": status.HTTP_409_CONFLICT,
    "ended": status.HTTP_409_CONFLICT,
    KEY_REUSED: status.HTTP_409_CONFLICT,
    "not_live": status.HTTP_409_CONFLICT,
}


def _not_found() -> ApiError:
    return ApiError(
        status_code=status.HTTP_404_NOT_FOUND,
        code="not_found",
        detail=_("No such offer or broadcast at this terminal's store."),
    )


def _refusal(error: DjangoValidationError, *, field: str = "") -> ApiError:
    code = error.code or "invalid"
    message = error.messages[0]
    return ApiError(
        status_code=REFUSAL_STATUS.get(code, status.HTTP_400_BAD_REQUEST),
        code=code,
        detail=message,
        errors=[ErrorItem(index=None, field=field, code=code, message=message)],
    )


def _display_name(data: dict[str, Any], *, member: Member | None, store: Store) -> str:
    """The name the join shows on the store's pages: the one sent, else the member's own name
    when the member is this store's (another store's member's name is not this store's to
    show: a guessed phone must not reveal it)."""
    sent = data.get("display_name", "")
    if sent or member is None:
        return sent
    return member.name if store_knows_member(store=store, member=member) else ""


def _member_no_shown(join: GroupBuyJoin, *, data: dict[str, Any], store: Store) -> str | None:
    """The join's member number as the answer gives it: when the caller sent it, or the
    member was this store's before this join (a member the join made is this store's);
    otherwise null — the answer reveals nothing beyond what the caller sent."""
    if not join.member_id:
        return None
    member = join.member
    if data.get("member_no") == member.member_no or store_knows_member(
        store=store, member=member, excluding_order_id=join.order_id
    ):
        return member.member_no
    return None


class JoinRequestSerializer(MemberIdentitySerializer):
    quantity = api_fields.IntegerField(min_value=1, max_value=QUANTITY_MAX)
    idempotency_key = serializers.CharField(
        max_length=KEY_MAX_LENGTH,
        help_text=(
            "Unique per offer; a retry with the same key and request returns the first join, "
            "with another quantity or person it is refused (409 `idempotency_key_reused`)."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            not any(attrs.get(key) for key in MEMBER_KEYS)
            and not attrs.get("display_name", "").strip()
        ):
            raise serializers.ValidationError(
                {
                    "display_name": [
                        _("Name the person: a member number, phone, openid or display name.")
                    ]
                },
                code="required",
            )
        return attrs


class OfferStateSerializer(serializers.Serializer):
    offer_id = api_fields.IntegerField()
    broadcast_id = api_fields.IntegerField()
    sku = serializers.CharField()
    product = serializers.CharField()
    price = api_fields.DecimalField(max_digits=10, decimal_places=2)
    threshold_kind = serializers.ChoiceField(choices=GroupBuyOffer.ThresholdKind.choices)
    threshold = api_fields.IntegerField()
    cap = api_fields.IntegerField()
    presale = serializers.BooleanField(
        help_text="A pre-order (以销定产): joins take no stock; the supplier brings the goods."
    )
    units_joined = api_fields.IntegerField()
    participants = api_fields.IntegerField()
    remaining = api_fields.IntegerField(help_text="Units left under the cap.")
    reached = serializers.BooleanField(help_text="The threshold is met (成团 at the deadline).")
    deadline = api_fields.DateTimeField()
    status = serializers.ChoiceField(choices=GroupBuyOffer.Status.choices)


class JoinResultSerializer(serializers.Serializer):
    join_id = api_fields.IntegerField()
    order_id = api_fields.IntegerField(allow_null=True)
    quantity = api_fields.IntegerField()
    status = serializers.ChoiceField(choices=GroupBuyJoin.Status.choices)
    member_no = serializers.CharField(
        allow_null=True,
        help_text="The number sent, or the member's when the member is this store's; else null.",
    )
    idempotency_key = serializers.CharField()
    offer = OfferStateSerializer()


class CommentRequestSerializer(MemberIdentitySerializer):
    text = serializers.CharField(max_length=COMMENT_MAX_LENGTH)
    author = serializers.CharField(required=False, max_length=AUTHOR_MAX_LENGTH, allow_blank=True)


class CommentResultSerializer(serializers.Serializer):
    comment_id = api_fields.IntegerField()
    broadcast_id = api_fields.IntegerField()
    created_at = api_fields.DateTimeField()


class ViewersRequestSerializer(api_fields.RequestSerializer):
    count = api_fields.IntegerField(
        min_value=0,
        max_value=VIEWERS_MAX,
        help_text="The stream's concurrent viewers now, as the streaming platform counts them.",
    )


class ViewersResultSerializer(serializers.Serializer):
    broadcast_id = api_fields.IntegerField()
    viewers = api_fields.IntegerField()
    peak_viewers = api_fields.IntegerField(help_text="The largest count reported so far.")
    reported_at = api_fields.DateTimeField()


def _offer_state(offer: GroupBuyOffer) -> dict[str, Any]:
    progress = offer_progress(offer)
    return {
        "offer_id": offer.pk,
        "broadcast_id": offer.broadcast_id,
        "sku": offer.product.sku,
        "product": offer.product.name,
        "price": offer.price,
        "threshold_kind": offer.threshold_kind,
        "threshold": offer.threshold,
        "cap": offer.cap,
        "presale": offer.presale,
        "units_joined": offer.units_joined,
        "participants": offer.participants,
        "remaining": progress.remaining,
        "reached": progress.reached,
        "deadline": offer.deadline,
        "status": offer.status,
    }


def _terminal_offer(request: Request, offer_id: int) -> GroupBuyOffer:
    terminal: StoreTerminal = request.auth
    offer = (
        GroupBuyOffer.objects.select_related("product", "broadcast__store")
        .filter(pk=offer_id, broadcast__store_id=terminal.store_id)
        .first()
    )
    if offer is None:
        raise _not_found()
    return offer


def _terminal_broadcast(request: Request, broadcast_id: int) -> Broadcast:
    terminal: StoreTerminal = request.auth
    broadcast = (
        Broadcast.objects.select_related("store")
        .filter(pk=broadcast_id, store_id=terminal.store_id)
        .first()
    )
    if broadcast is None:
        raise _not_found()
    return broadcast


STORE_CLOSED_DESCRIPTION = (
    f"`{STORE_CLOSED}`: the terminal's store is not open for trade (preparing, suspended or "
    "closed; `store_status` in the error)"
)

COMMON_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="No, unknown or revoked terminal token."),
    429: RATE_LIMITED_RESPONSE,
    404: OpenApiResponse(
        ErrorSerializer, description="`not_found`: unknown, or another store's (same answer)."
    ),
}


class GroupBuyOfferView(UniformErrorsMixin, APIView):
    authentication_classes = [TerminalAuthentication]
    permission_classes = [IsStoreTerminal]
    throttle_scope = "group_buys"

    @extend_schema(
        operation_id="group_buy_offer_state",
        summary="A group-buy offer's state",
        description="Counters, threshold, cap, deadline and status of one of the terminal's "
        "store's offers.",
        responses={200: OfferStateSerializer, **COMMON_ERRORS},
        tags=["group-buys"],
    )
    def get(self, request: Request, offer_id: int) -> Response:
        offer = _terminal_offer(request, offer_id)
        return Response(OfferStateSerializer(_offer_state(offer)).data)


class GroupBuyJoinView(UniformErrorsMixin, APIView):
    authentication_classes = [TerminalAuthentication]
    permission_classes = [IsStoreTerminal]
    throttle_scope = "group_buys"

    def terminal_replay(self, request: Request) -> bool:
        """A store no longer open for trade still answers a retry of a join made while it was
        open (the same key on the same offer): `IsStoreTerminal` lets this request through."""
        key = replay_key(request, serializer=JoinRequestSerializer)
        terminal: StoreTerminal = request.auth
        return key is not None and group_buy_join_key_used(
            offer_id=self.kwargs["offer_id"], store_id=terminal.store_id, idempotency_key=key
        )

    @extend_schema(
        operation_id="group_buy_join",
        summary="Join a group-buy offer",
        description=(
            "Makes a pending pickup order of the group-buy channel (stock reserved; none for "
            "a pre-order, `presale` in the offer state, whose goods the supplier brings) and "
            "the join, in one transaction; the cap and the stock are never exceeded. The person is "
            "named by `member_no` (only a member of this store: home store here, or bought "
            "here; any other number is `unknown_member`), `phone`, `wechat_openid` or "
            "`mini_program_openid` (resolved through the unified member ID, network-wide; a "
            "new phone or openid makes a member of this store) and/or a `display_name`. The "
            "answer's `member_no` is null unless the caller sent it or the member is this "
            "store's, so a phone of another store's member reveals nothing. Retrying with the "
            "same `idempotency_key` and the same request (quantity, person) returns the first "
            "join with 200 and writes nothing; "
            "the same key with another quantity or person is refused with 409 "
            "`idempotency_key_reused`."
        ),
        request=JoinRequestSerializer,
        responses={
            201: JoinResultSerializer,
            200: OpenApiResponse(JoinResultSerializer, description="Retry: the first join."),
            400: OpenApiResponse(
                ErrorSerializer,
                description="`invalid` (field errors) or `unknown_member` (a `member_no` of "
                "nobody, or of a member who is not this store's: the same answer).",
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description="`sold_out` (cap), `closed` (settled or past the deadline), "
                "`insufficient_stock`, or `idempotency_key_reused` (the key was used for a join "
                f"with another quantity or person), {STORE_CLOSED_DESCRIPTION} and the key "
                "is new (a retry of a join made while it was open answers the first join), or "
                f"{MEMBER_CHANGED_DESCRIPTION}.",
            ),
            **COMMON_ERRORS,
        },
        examples=[
            OpenApiExample(
                "A member joins with her phone",
                request_only=True,
                value={
                    "quantity": 2,
                    "idempotency_key": "bot-20260701-0007",
                    "phone": "138-0013-8000",
                    "display_name": "李阿姨",
                },
            )
        ],
        tags=["group-buys"],
    )
    def post(self, request: Request, offer_id: int) -> Response:
        offer = _terminal_offer(request, offer_id)
        serializer = JoinRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            # One transaction: a refused join leaves no member made from a new phone either.
            with transaction.atomic():
                store = offer.broadcast.store
                member = member_from(data, store=store)
                result = group_buy_join(
                    offer=offer,
                    quantity=data["quantity"],
                    idempotency_key=data["idempotency_key"],
                    member=member,
                    display_name=_display_name(data, member=member, store=store),
                    source=GroupBuyJoin.Source.API,
                )
        except GroupBuyRefused as error:
            field = "idempotency_key" if error.code == KEY_REUSED else "quantity"
            raise _refusal(error, field=field) from error
        offer.refresh_from_db()
        join = result.join
        body = JoinResultSerializer(
            {
                "join_id": join.pk,
                "order_id": join.order_id,
                "quantity": join.quantity,
                "status": join.status,
                "member_no": _member_no_shown(join, data=data, store=offer.broadcast.store),
                "idempotency_key": join.idempotency_key,
                "offer": _offer_state(offer),
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else 200)


class BroadcastCommentView(UniformErrorsMixin, APIView):
    authentication_classes = [TerminalAuthentication]
    permission_classes = [IsStoreTerminal]
    throttle_scope = "group_buys"

    @extend_schema(
        operation_id="broadcast_comment_create",
        summary="Comment on a broadcast",
        description="A viewer's comment, shown on the live dashboard. The author is the "
        "member (any identity as for joins) or a free `author` name.",
        request=CommentRequestSerializer,
        responses={
            201: CommentResultSerializer,
            400: OpenApiResponse(ErrorSerializer, description="`invalid` or `unknown_member`."),
            409: OpenApiResponse(
                ErrorSerializer,
                description=f"`ended`: the broadcast ended; {STORE_CLOSED_DESCRIPTION}; or "
                f"{MEMBER_CHANGED_DESCRIPTION}.",
            ),
            **COMMON_ERRORS,
        },
        tags=["group-buys"],
    )
    def post(self, request: Request, broadcast_id: int) -> Response:
        broadcast = _terminal_broadcast(request, broadcast_id)
        serializer = CommentRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            with transaction.atomic():
                member = member_from(data, store=broadcast.store)
                comment = broadcast_comment_add(
                    broadcast=broadcast,
                    text=data["text"],
                    member=member,
                    author=data.get("author", "") or data.get("display_name", ""),
                )
        except BroadcastRefused as error:
            raise _refusal(error, field="text") from error
        return Response(
            CommentResultSerializer(
                {
                    "comment_id": comment.pk,
                    "broadcast_id": broadcast.pk,
                    "created_at": comment.created_at,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )


class BroadcastViewersView(UniformErrorsMixin, APIView):
    authentication_classes = [TerminalAuthentication]
    permission_classes = [IsStoreTerminal]
    throttle_scope = "broadcast_viewers"

    @extend_schema(
        operation_id="broadcast_viewers_report",
        summary="Report a broadcast's viewers",
        description=(
            "The stream's concurrent viewers now, as the streaming platform (WeChat channels, "
            "the mini-program) counts them; send it periodically while the broadcast is live "
            "(every 10-30 s is plenty). Stored as the broadcast's viewers, its peak raised to "
            'it, and shown on the live dashboard (which shows "—" until the first report). '
            "Reports are not ordered: the last one to arrive is the count shown."
        ),
        request=ViewersRequestSerializer,
        responses={
            200: ViewersResultSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="`invalid`: `count` missing or not 0..1,000,000."
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description=(
                    f"`not_live`: the broadcast is not live; or {STORE_CLOSED_DESCRIPTION}."
                ),
            ),
            **COMMON_ERRORS,
        },
        examples=[OpenApiExample("Viewers now", request_only=True, value={"count": 128})],
        tags=["group-buys"],
    )
    def post(self, request: Request, broadcast_id: int) -> Response:
        broadcast = _terminal_broadcast(request, broadcast_id)
        serializer = ViewersRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            broadcast = broadcast_viewers_report(
                broadcast=broadcast, count=serializer.validated_data["count"]
            )
        except BroadcastRefused as error:
            raise _refusal(error, field="count") from error
        return Response(
            ViewersResultSerializer(
                {
                    "broadcast_id": broadcast.pk,
                    "viewers": broadcast.viewers,
                    "peak_viewers": broadcast.peak_viewers,
                    "reported_at": broadcast.viewers_reported_at,
                }
            ).data
        )
