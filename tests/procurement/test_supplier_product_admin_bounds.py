"""An offer's minimum order and pack size have the supplier CSV import's bounds on the admin's
form too: a typing error (an extra zero or three) used to be saved, and consolidation then
ordered it as typed — or, near the integer columns' limit, failed the night's run for every
supplier."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.procurement.models import SupplierProduct
from linli.roles import HQ_PROCUREMENT
from tests.factories import ProductFactory, SupplierFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:procurement_supplierproduct_add")


def _post(client: object, **numbers: str) -> object:
    form = {
        "supplier": SupplierFactory().pk,
        "product": ProductFactory().pk,
        "cost": "8.50",
        "lead_time_days": "2",
        "min_order_qty": "12",
        "pack_size": "6",
        "is_preferred": "on",
        **numbers,
    }
    return client.post(ADD, form)


@pytest.fixture
def buyer_client(client: object, roles: None) -> object:
    user = UserFactory(is_staff=True, username="buyer-offer-bounds")
    user.groups.add(Group.objects.get(name=HQ_PROCUREMENT))
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.mark.parametrize(
    ("field", "value"), [("min_order_qty", "1000001"), ("pack_size", "100001")]
)
def test_an_offer_beyond_the_import_bounds_is_refused_on_its_field(buyer_client, field, value):
    response = _post(buyer_client, **{field: value})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert SupplierProduct.objects.count() == 0


def test_an_offer_at_the_bounds_is_saved(buyer_client):
    response = _post(buyer_client, min_order_qty="1000000", pack_size="100000")

    assert response.status_code == 302
    offer = SupplierProduct.objects.get()
    assert (offer.min_order_qty, offer.pack_size) == (1_000_000, 100_000)
