"""Factories and helpers for after-sales tests (cases, the policy table, paid member orders)."""

from __future__ import annotations

from decimal import Decimal
from itertools import count

import factory
from django.utils import timezone

from apps.catalog.models import Product
from apps.customers.models import Member
from apps.procurement.models import AfterSalesCase, CaseKind, CompensationPolicy
from apps.stores.models import Order, OrderLine, Store
from tests.factories import StoreFactory
from tests.procurement.factories import OrderFactory

_keys = count(1)


class CompensationPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CompensationPolicy

    kind = CaseKind.QUALITY
    max_amount = None
    remedy = "refund"
    charged_to = "store"


class AfterSalesCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AfterSalesCase

    number = factory.Sequence(lambda n: f"AS-TEST-{n:05d}")
    store = factory.SubFactory(StoreFactory)
    order = factory.SubFactory(OrderFactory, store=factory.SelfAttribute("..store"))
    kind = CaseKind.QUALITY
    amount = Decimal("5.00")
    opened_at = factory.LazyFunction(timezone.now)


def paid_order(
    *,
    store: Store,
    lines: list[tuple[Product, int, Decimal]],
    member: Member | None = None,
    reference: str = "",
) -> Order:
    """A paid pickup order of `store` with lines (product, quantity, unit price); its total is
    the sum of the line totals."""
    order = Order.objects.create(
        store=store,
        member=member,
        channel=Order.Channel.GROUP_BUY,
        fulfilment=Order.Fulfilment.PICKUP,
        status=Order.Status.PAID,
        idempotency_key=f"after-sales-{next(_keys)}",
        reference=reference,
        total=sum((price * quantity for _product, quantity, price in lines), Decimal("0.00")),
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                product=product,
                quantity=quantity,
                unit_price=price,
                line_total=price * quantity,
            )
            for product, quantity, price in lines
        ]
    )
    return order
