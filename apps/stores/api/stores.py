"""REST API for stores: read-only, scoped through apps.stores.access."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import generics, serializers

from apps.stores.models import Store
from apps.stores.selectors import stores_visible
from linli import api_fields


class StoreSerializer(api_fields.ModelSerializer):
    region = serializers.CharField(source="region.name", read_only=True)

    class Meta:
        model = Store
        fields = ["id", "code", "name", "region", "address", "status", "opened_on"]


class StoreListView(generics.ListAPIView):
    """Stores where the caller may VIEW_STORE: their staff's own, HQ all (`stores.view_store`)."""

    serializer_class = StoreSerializer
    filterset_fields = ["status", "region"]

    def get_queryset(self) -> QuerySet[Store]:
        return stores_visible(user=self.request.user)


class StoreDetailView(generics.RetrieveAPIView):
    serializer_class = StoreSerializer

    def get_queryset(self) -> QuerySet[Store]:
        return stores_visible(user=self.request.user)
