"""Procurement reads: the preferred supplier's terms the decision engine orders by."""

from __future__ import annotations

from decimal import Decimal

from apps.procurement.selectors.suppliers import supplier_terms
from tests.factories import ProductFactory, SupplierFactory, SupplierProductFactory


def test_supplier_terms_take_the_cheapest_preferred_offer_of_an_active_supplier(db: None) -> None:
    product, other, bare = ProductFactory(), ProductFactory(), ProductFactory()
    SupplierProductFactory(product=product, cost=Decimal("4.00"), pack_size=6, min_order_qty=12)
    SupplierProductFactory(product=product, cost=Decimal("5.00"), pack_size=10)
    SupplierProductFactory(product=product, cost=Decimal("1.00"), pack_size=2, is_preferred=False)
    SupplierProductFactory(
        product=product,
        cost=Decimal("1.00"),
        pack_size=3,
        supplier=SupplierFactory(is_active=False),
    )
    SupplierProductFactory(product=other, cost=Decimal("9.00"), lead_time_days=4, pack_size=24)

    terms = supplier_terms(product_ids=[product.pk, other.pk, bare.pk])

    assert terms.values.tolist() == [[product.pk, 1, 6, 12], [other.pk, 4, 24, 1]]
