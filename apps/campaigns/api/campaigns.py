"""Campaign API for signed-in store staff (session or token), scoped through apps.stores.access:

- `POST /api/v1/stores/<store_id>/decisions/insights/<card_id>/accept/` — accept an insight card
  (ACCEPT_INSIGHT) and draft its campaign; answers the card, whether this call accepted it, and
  the store campaign draft (the same one on every call). A 409 `overlap` when the store
  already takes part in a campaign of the same template on overlapping days, a 409
  `store_closed` when the store is not open for trade (docs/campaigns.md).

The path is the one the decision API always had; the view lives here because accepting a card
now makes a campaign, and the decision engine (apps.catalog) may not import campaigns.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.campaigns.models import StoreCampaign
from apps.campaigns.services.campaigns import (
    InsightOverlapError,
    InsightStoreClosedError,
    campaign_draft_from_insight,
)
from apps.catalog.models import InsightCard, Product
from apps.stores.access import ACCEPT_INSIGHT, store_or_403
from apps.stores.terminal_auth import STORE_CLOSED
from linli import api_fields
from linli.errors import ApiError, ErrorItem, ErrorSerializer, UniformErrorsMixin

OVERLAP = "overlap"


class _ProductBriefSerializer(api_fields.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "sku", "name"]


class AcceptedCardSerializer(api_fields.ModelSerializer):
    product = _ProductBriefSerializer(read_only=True)

    class Meta:
        model = InsightCard
        fields = [
            "id",
            "day",
            "rank",
            "product",
            "tags",
            "broadcast_hour",
            "stock_qty",
            "suggested_qty",
            "accepted_at",
        ]


class StoreCampaignBriefSerializer(api_fields.ModelSerializer):
    campaign_name = serializers.CharField(source="campaign.name", read_only=True)
    starts_on = api_fields.DateField(source="campaign.starts_on", read_only=True)
    ends_on = api_fields.DateField(source="campaign.ends_on", read_only=True)
    broadcast_hour = api_fields.IntegerField(source="campaign.broadcast_hour", read_only=True)

    class Meta:
        model = StoreCampaign
        fields = [
            "id",
            "status",
            "campaign",
            "campaign_name",
            "starts_on",
            "ends_on",
            "broadcast_hour",
        ]


class InsightAcceptanceSerializer(serializers.Serializer):
    accepted = serializers.BooleanField(read_only=True)
    card = AcceptedCardSerializer(read_only=True)
    store_campaign = StoreCampaignBriefSerializer(read_only=True)


class InsightCardAcceptView(UniformErrorsMixin, APIView):
    """Accept an insight card (ACCEPT_INSIGHT: the store's owners, and HQ who may accept in the
    admin) and draft its campaign. Accepting twice changes nothing and answers the same draft.
    A 409 `overlap` (nothing written, the card stays open) when the store already takes part
    in an active campaign of the same scenario template on overlapping days; a 409
    `store_closed` (nothing written) when the store is not open for trade. It reads no body: one
    sent is an empty object, any key in it a 400 `unknown_field` (nothing written)."""

    @extend_schema(
        request=api_fields.EmptyRequestSerializer,
        responses={
            200: InsightAcceptanceSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "`overlap`: the store already takes part in an active campaign of the same "
                    "scenario template on overlapping days; one error per such campaign, with "
                    "`campaign`, `campaign_name`, `starts_on`, `ends_on` and `store_campaign` "
                    "(the store's row in it). `store_closed`: the store is not open for "
                    "trade (preparing, suspended or closed; its status in `store_status`), "
                    "so no campaign can be drafted for it."
                ),
            ),
        },
    )
    def post(self, request: Request, store_id: int, card_id: int) -> Response:
        store = store_or_403(request.user, store_id, ACCEPT_INSIGHT)
        api_fields.EmptyRequestSerializer(data=request.data).is_valid(raise_exception=True)
        card = get_object_or_404(
            InsightCard.objects.select_related("product"), pk=card_id, store=store
        )
        try:
            draft = campaign_draft_from_insight(card=card, by=request.user)
        except InsightOverlapError as refusal:
            raise _overlap_refusal(refusal) from refusal
        except InsightStoreClosedError as refusal:
            raise _store_closed_refusal(refusal) from refusal
        return Response(
            InsightAcceptanceSerializer(
                {
                    "accepted": draft.accepted,
                    "card": draft.card,
                    "store_campaign": draft.store_campaign,
                }
            ).data
        )


def _overlap_refusal(refusal: InsightOverlapError) -> ApiError:
    rows = {row.campaign_id: row.pk for row in refusal.store_campaigns}
    return ApiError(
        status_code=status.HTTP_409_CONFLICT,
        code=OVERLAP,
        detail=refusal.messages[0],
        errors=[
            ErrorItem(
                index=None,
                field="",
                code=OVERLAP,
                message=message,
                extra={
                    "campaign": campaign.pk,
                    "campaign_name": campaign.name,
                    "starts_on": campaign.starts_on.isoformat(),
                    "ends_on": campaign.ends_on.isoformat(),
                    "store_campaign": rows.get(campaign.pk),
                },
            )
            for campaign, message in zip(refusal.campaigns, refusal.messages, strict=True)
        ],
    )


def _store_closed_refusal(refusal: InsightStoreClosedError) -> ApiError:
    message = refusal.messages[0]
    return ApiError(
        status_code=status.HTTP_409_CONFLICT,
        code=STORE_CLOSED,
        detail=message,
        errors=[
            ErrorItem(
                index=None,
                field="",
                code=STORE_CLOSED,
                message=message,
                extra={"store_status": refusal.store.status},
            )
        ],
    )
