"""Factories for purchasing (also found by the admin smoke test), and a helper that writes a
paid member order that needs supply."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count

import factory
from django.utils import timezone

from apps.catalog.models import Product
from apps.procurement.models import (
    ConsolidationRun,
    PurchaseOrder,
    PurchaseOrderAllocation,
    PurchaseOrderException,
    PurchaseOrderLine,
    PurchaseOrderSource,
    ReceiptDispute,
)
from apps.stores.models import Order, OrderLine, Store
from tests.factories import ProductFactory, StoreFactory, SupplierFactory

_keys = count(1)


def supply_order(
    *,
    store: Store,
    lines: list[tuple[Product, int]],
    channel: str = Order.Channel.GROUP_BUY,
    fulfilment: str = Order.Fulfilment.PICKUP,
    status: str = Order.Status.PAID,
    placed_at: dt.datetime | None = None,
) -> Order:
    """A member order as group-buy settlement leaves it (paid, pickup), with its lines."""
    order = Order.objects.create(
        store=store,
        channel=channel,
        fulfilment=fulfilment,
        status=status,
        idempotency_key=f"test-supply-{next(_keys)}",
        placed_at=placed_at or timezone.now() - dt.timedelta(hours=1),
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                product=product,
                quantity=quantity,
                unit_price=Decimal("10.00"),
                line_total=Decimal("10.00") * quantity,
            )
            for product, quantity in lines
        ]
    )
    return order


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    store = factory.SubFactory(StoreFactory)
    channel = Order.Channel.GROUP_BUY
    fulfilment = Order.Fulfilment.PICKUP
    status = Order.Status.PAID
    idempotency_key = factory.Sequence(lambda n: f"factory-order-{n}")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 2
    unit_price = Decimal("10.00")
    line_total = Decimal("20.00")


class ConsolidationRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsolidationRun

    cutoff = factory.Sequence(
        lambda n: timezone.now().replace(microsecond=0) - dt.timedelta(days=n + 1)
    )
    status = ConsolidationRun.Status.FINISHED


class PurchaseOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrder

    number = factory.Sequence(lambda n: f"PO-TEST-{n:05d}")
    supplier = factory.SubFactory(SupplierFactory)
    delivery_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=2))
    status = PurchaseOrder.Status.SENT
    sent_at = factory.LazyFunction(timezone.now)


class PurchaseOrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrderLine

    purchase_order = factory.SubFactory(PurchaseOrderFactory)
    product = factory.SubFactory(ProductFactory)
    demanded_quantity = 10
    ordered_quantity = 12
    surplus_quantity = 2
    pack_size = 6
    min_order_qty = 6
    unit_cost = Decimal("5.00")


class PurchaseOrderAllocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrderAllocation

    line = factory.SubFactory(PurchaseOrderLineFactory)
    store = factory.SubFactory(StoreFactory)
    quantity = 10


class PurchaseOrderSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrderSource

    line = factory.SubFactory(PurchaseOrderLineFactory)
    order_line = factory.SubFactory(OrderLineFactory)
    quantity = 2


class PurchaseOrderExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrderException

    purchase_order = factory.LazyAttribute(lambda exception: exception.line.purchase_order)
    line = factory.SubFactory(PurchaseOrderLineFactory)
    order_line = factory.SubFactory(OrderLineFactory)
    store = factory.LazyAttribute(lambda exception: exception.order_line.order.store)
    kind = PurchaseOrderException.Kind.CANCELLED_AFTER_CONFIRMATION
    quantity = 2


class ReceiptDisputeFactory(factory.django.DjangoModelFactory):
    """An open dispute of a receipt line (the admin smoke test's row): the supplier claims one
    unit more than the store recorded."""

    class Meta:
        model = ReceiptDispute

    # By path: factories_supply imports this module.
    receipt_line = factory.SubFactory("tests.procurement.factories_supply.ReceiptLineFactory")
    supplier = factory.LazyAttribute(
        lambda dispute: dispute.receipt_line.receipt.purchase_order.supplier
    )
    recorded_quantity = factory.LazyAttribute(lambda dispute: dispute.receipt_line.arrived_quantity)
    claimed_quantity = factory.LazyAttribute(lambda dispute: dispute.recorded_quantity + 1)
    note = "We loaded one more"


def consolidated_purchase_order(
    *,
    supplier: object,
    stores: list[Store],
    names: tuple[str, str] = ("云南蓝莓 125g", "阳光玫瑰葡萄"),
    lead_time_days: int = 2,
) -> PurchaseOrder:
    """A sent purchase order of `supplier` made by a real consolidation: two products (packs
    of 6, minimum 12), each store ordering 3 + its index of the first and 5 of the second.
    Delivered `lead_time_days` after today: a second call with the same supplier and lead
    time adds to the same (still open) purchase order, another lead time makes another."""
    from apps.procurement.models import SupplierProduct
    from apps.procurement.services.consolidation import purchase_orders_consolidate

    products = [ProductFactory(name=name) for name in names]
    for product in products:
        SupplierProduct.objects.create(
            supplier=supplier,
            product=product,
            cost=Decimal("8.50"),
            pack_size=6,
            min_order_qty=12,
            lead_time_days=lead_time_days,
        )
    orders = [
        supply_order(store=store, lines=[(products[0], 3 + index), (products[1], 5)])
        for index, store in enumerate(stores)
    ]
    purchase_orders_consolidate(cutoff=timezone.now())
    return (
        PurchaseOrder.objects.filter(lines__sources__order_line__order__in=orders).distinct().get()
    )
