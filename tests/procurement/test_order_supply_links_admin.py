"""The admin links a member order to what supplies it and what was claimed on it, both ways:
the purchase-order line page names each source line's member order, and the order page lists
the purchase orders its lines are on and its after-sales cases — each link only for staff who
may open that list."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from linli.roles import HQ_INSPECTION, HQ_PROCUREMENT
from tests.factories import UserFactory
from tests.procurement.factories import PurchaseOrderSourceFactory
from tests.procurement.factories_aftersales import AfterSalesCaseFactory

pytestmark = pytest.mark.django_db


def _staff(group: str) -> object:
    user = UserFactory(is_staff=True, username=f"staff-{group}".replace(" ", "-"))
    user.groups.add(Group.objects.get(name=group))
    return user


def test_order_page_links_its_purchase_orders_and_after_sales_cases(client, roles):
    source = PurchaseOrderSourceFactory()
    order = source.order_line.order
    case = AfterSalesCaseFactory(store=order.store, order=order)
    client.force_login(_staff(HQ_PROCUREMENT))

    page = client.get(reverse("admin:stores_order_change", args=[order.pk])).content.decode()

    purchase_order = source.line.purchase_order
    assert reverse("admin:procurement_purchaseorder_change", args=[purchase_order.pk]) in page
    assert purchase_order.number in page
    assert reverse("admin:procurement_aftersalescase_change", args=[case.pk]) in page
    assert case.number in page


def test_order_page_links_nothing_the_viewer_may_not_open(client, roles):
    source = PurchaseOrderSourceFactory()
    order = source.order_line.order
    AfterSalesCaseFactory(store=order.store, order=order)
    client.force_login(_staff(HQ_INSPECTION))

    response = client.get(reverse("admin:stores_order_change", args=[order.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "/admin/procurement/purchaseorder/" not in page
    assert "/admin/procurement/aftersalescase/" not in page


def test_purchase_order_line_page_links_each_source_lines_member_order(client, hq_user):
    source = PurchaseOrderSourceFactory()
    client.force_login(hq_user)

    page = client.get(
        reverse("admin:procurement_purchaseorderline_change", args=[source.line_id])
    ).content.decode()

    assert reverse("admin:stores_order_change", args=[source.order_line.order_id]) in page
