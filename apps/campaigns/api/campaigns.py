"""Campaign API for signed-in store staff (session or token), scoped through apps.stores.access:

- `POST /api/v1/stores/<store_id>/decisions/insights/<card_id>/accept/` — accept an insight card
  (ACCEPT_INSIGHT) and draft its campaign; answers the card, whether this call accepted it, and
  the store campaign draft (the same one on every call).

The path is the one the decision API always had; the view lives here because accepting a card
now makes a campaign, and the decision engine (apps.catalog) may not import campaigns.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.campaigns.models import StoreCampaign
from apps.campaigns.services.campaigns import campaign_draft_from_insight
from apps.catalog.models import InsightCard, Product
from apps.catalog.services.lists import insight_card_accept
from apps.stores.access import ACCEPT_INSIGHT, store_or_403
from linli import api_fields


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
    starts_on = serializers.DateField(source="campaign.starts_on", read_only=True)
    ends_on = serializers.DateField(source="campaign.ends_on", read_only=True)
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


class InsightCardAcceptView(APIView):
    """Accept an insight card (ACCEPT_INSIGHT: the store's owners, and HQ who may accept in the
    admin) and draft its campaign. Accepting twice changes nothing and answers the same draft."""

    @extend_schema(request=None, responses=InsightAcceptanceSerializer)
    def post(self, request: Request, store_id: int, card_id: int) -> Response:
        store = store_or_403(request.user, store_id, ACCEPT_INSIGHT)
        card = get_object_or_404(
            InsightCard.objects.select_related("product"), pk=card_id, store=store
        )
        accepted = insight_card_accept(card=card, by=request.user)
        store_campaign = campaign_draft_from_insight(card=card, by=request.user)
        return Response(
            InsightAcceptanceSerializer(
                {"accepted": accepted, "card": card, "store_campaign": store_campaign}
            ).data
        )
