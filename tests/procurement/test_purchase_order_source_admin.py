"""A purchase-order source link is read-only in the admin: consolidation, cancellation and
store receiving write it, and receiving's short and damaged units go with the member orders it
shortened and the after-sales cases it opened (docs/delivery-and-receiving.md: no correction
path). Editing them by hand, with the quantity read-only, could put more units short than the
line had and the database refused the save with an error page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.procurement.models import PurchaseOrderSource
from tests.procurement.factories import PurchaseOrderSourceFactory

pytestmark = pytest.mark.django_db


def test_hq_cannot_edit_a_source_links_short_and_damaged_units(client, hq_user):
    source = PurchaseOrderSourceFactory(quantity=2)
    client.force_login(hq_user)
    url = reverse("admin:procurement_purchaseordersource_change", args=[source.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields) == set()

    response = client.post(url, {"short_quantity": "5", "damaged_quantity": "1"})

    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.quantity, source.short_quantity, source.damaged_quantity) == (2, 0, 0)
    assert PurchaseOrderSource.objects.filter(short_quantity__gt=0).count() == 0
