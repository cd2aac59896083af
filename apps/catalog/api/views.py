"""REST API of the decision engine, scoped through apps.stores.access: a store's lists, insight
cards, co-purchase rules, and a member's next products. Accepting a card drafts a campaign, so
its endpoint lives in apps/campaigns/api/campaigns.py (same path and route name)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.catalog import selectors
from apps.catalog.models import CoPurchaseRule, DailyListEntry, InsightCard, ListKind, Product
from apps.customers.models import Member
from apps.stores.access import (
    MEMBER_DATA,
    VIEW_DECISIONS,
    StoreAction,
    store_or_403,
)
from apps.stores.models import Order, Store
from linli import api_fields


class ProductBriefSerializer(api_fields.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "sku", "name"]


class DailyListEntrySerializer(api_fields.ModelSerializer):
    product = ProductBriefSerializer(read_only=True)
    reason = serializers.CharField(read_only=True)

    class Meta:
        model = DailyListEntry
        fields = [
            "day",
            "list_kind",
            "rank",
            "product",
            "velocity",
            "trend",
            "suggested_qty",
            "reason_kind",
            "reason",
        ]


class InsightCardSerializer(api_fields.ModelSerializer):
    product = ProductBriefSerializer(read_only=True)
    reason = serializers.CharField(read_only=True)

    class Meta:
        model = InsightCard
        fields = [
            "id",
            "day",
            "rank",
            "product",
            "units_last_7d",
            "units_prev_7d",
            "mentions_7d",
            "tags",
            "broadcast_hour",
            "forecast_total",
            "stock_qty",
            "suggested_qty",
            "reason_kind",
            "reason",
            "accepted_at",
        ]


class RuleSerializer(api_fields.ModelSerializer):
    """A and B are each a product (`antecedent` / `consequent`) or a category
    (`antecedent_category` / `consequent_category`); the other one is null."""

    antecedent = ProductBriefSerializer(read_only=True, allow_null=True)
    consequent = ProductBriefSerializer(read_only=True, allow_null=True)
    antecedent_name = serializers.CharField(read_only=True)
    consequent_name = serializers.CharField(read_only=True)
    sentence = serializers.CharField(read_only=True)
    evidence = serializers.CharField(read_only=True)

    class Meta:
        model = CoPurchaseRule
        fields = [
            "scope",
            "antecedent",
            "antecedent_category",
            "antecedent_name",
            "consequent",
            "consequent_category",
            "consequent_name",
            "pair_count",
            "support",
            "confidence",
            "lift",
            "member_count",
            "antecedent_member_count",
            "confidence_lower",
            "sentence",
            "evidence",
        ]


class NextProductSerializer(serializers.Serializer):
    product = ProductBriefSerializer(read_only=True)
    score = api_fields.FloatField(read_only=True)
    because_of = ProductBriefSerializer(read_only=True, allow_null=True)
    confidence = api_fields.FloatField(read_only=True, allow_null=True)


class StoreScopedMixin:
    """The path's store, if the user may take the view's `store_action` there (403 otherwise)."""

    request: Request
    kwargs: dict
    store_action: StoreAction = VIEW_DECISIONS

    def get_store(self) -> Store:
        return store_or_403(self.request.user, self.kwargs["store_id"], self.store_action)


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter(
                "kind",
                str,
                OpenApiParameter.PATH,
                enum=ListKind.values,
                description="`hot` or `new`; any other is a 404.",
            )
        ]
    )
)
class DecisionListView(StoreScopedMixin, generics.ListAPIView):
    """The store's newest hot (`hot`) or new-product (`new`) list, best first."""

    serializer_class = DailyListEntrySerializer
    queryset = DailyListEntry.objects.none()  # for the schema; get_queryset scopes

    def get_queryset(self) -> QuerySet[DailyListEntry]:
        store = self.get_store()
        kind = self.kwargs["kind"]
        if kind not in ListKind.values:
            raise Http404
        day = selectors.latest_list_day(store=store)
        return (
            DailyListEntry.objects.filter(store=store, list_kind=kind, day=day)
            .select_related("product")
            .order_by("rank")
        )


class InsightCardListView(StoreScopedMixin, generics.ListAPIView):
    """The store's newest insight cards."""

    serializer_class = InsightCardSerializer
    queryset = InsightCard.objects.none()  # for the schema; get_queryset scopes

    def get_queryset(self) -> QuerySet[InsightCard]:
        cards = selectors.store_insight_cards(store=self.get_store())
        return (
            InsightCard.objects.filter(pk__in=[card.pk for card in cards])
            .select_related("product")
            .order_by("rank")
        )


class StoreRuleListView(StoreScopedMixin, generics.ListAPIView):
    """Co-purchase rules for the store: its own, else its region's, else the network's."""

    serializer_class = RuleSerializer
    queryset = CoPurchaseRule.objects.none()  # for the schema; get_queryset scopes

    def get_queryset(self) -> QuerySet[CoPurchaseRule]:
        _scope, rules = selectors.store_rules(store=self.get_store(), limit=100)
        return (
            CoPurchaseRule.objects.filter(pk__in=[rule.pk for rule in rules])
            .select_related(
                "antecedent", "consequent", "antecedent_category", "consequent_category"
            )
            .order_by("-confidence", "-pair_count", "antecedent_item", "consequent_item")
        )


class MemberNextProductsView(StoreScopedMixin, generics.GenericAPIView):
    """What to offer this member next in this store (a member of the store: its home store,
    or someone who has bought there). Member data: owners and HQ with `customers.view_member`."""

    store_action = MEMBER_DATA
    serializer_class = NextProductSerializer
    pagination_class = None
    queryset = Member.objects.none()  # for the schema: the path's member id

    @extend_schema(responses=NextProductSerializer(many=True))
    def get(self, request: Request, store_id: int, member_id: int) -> Response:
        store = self.get_store()
        member = Member.objects.filter(pk=member_id, is_erased=False).first()
        if member is None or not (
            member.home_store_id == store.pk
            or Order.objects.filter(store=store, member=member).exists()
        ):
            raise Http404
        suggestions = selectors.member_next_products(member_id=member.pk, store=store)
        return Response(NextProductSerializer(suggestions, many=True).data)
