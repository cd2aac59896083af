"""Supplier pages: a supplier user sees only the suppliers they act for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from apps.procurement.models import PurchaseOrder, Supplier
from tests.factories import PASSWORD, ProductFactory, SupplierFactory, SupplierProductFactory
from tests.procurement.factories import PurchaseOrderFactory

pytestmark = pytest.mark.django_db

SUPPLIER_HOME = "/supplier/"


def test_supplier_home_shows_own_supplier_and_offers_not_another(client, supplier_user):
    own = Supplier.objects.get(users__user=supplier_user)
    other = SupplierFactory(name="别家奶业工厂")
    SupplierProductFactory(
        supplier=own, product=ProductFactory(name="云南蓝莓 125g"), cost=Decimal("8.50")
    )
    SupplierProductFactory(supplier=other, product=ProductFactory(name="鲜牛奶 1L"))
    client.force_login(supplier_user)
    response = client.get(SUPPLIER_HOME)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"<h2>{own.name}</h2>" in html
    assert "云南蓝莓 125g" in html
    assert "¥8.50" in html
    assert other.name not in html
    assert "鲜牛奶 1L" not in html


def test_supplier_home_query_count_does_not_grow_with_offers(client, supplier_user):
    own = Supplier.objects.get(users__user=supplier_user)
    client.force_login(supplier_user)
    SupplierProductFactory(supplier=own)
    client.get(SUPPLIER_HOME)
    with CaptureQueriesContext(connection) as one:
        assert client.get(SUPPLIER_HOME).status_code == 200
    for _ in range(10):
        SupplierProductFactory(supplier=own)
    with CaptureQueriesContext(connection) as eleven:
        assert client.get(SUPPLIER_HOME).status_code == 200
    assert len(eleven.captured_queries) == len(one.captured_queries)


def test_store_owner_is_refused_supplier_home(client, owner):
    SupplierFactory()
    client.force_login(owner)
    response = client.get(SUPPLIER_HOME)
    assert response.status_code == 403


def test_inspector_is_refused_supplier_home(client, inspector):
    SupplierFactory()
    client.force_login(inspector)
    assert client.get(SUPPLIER_HOME).status_code == 403


def test_anonymous_is_sent_to_login_from_supplier_home(client):
    response = client.get(SUPPLIER_HOME)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('portal:login')}?next={SUPPLIER_HOME}"


def test_supplier_user_logs_in_and_lands_on_supplier_home(client, supplier_user):
    own = Supplier.objects.get(users__user=supplier_user)
    response = client.post(
        reverse("portal:login"),
        {"username": supplier_user.username, "password": PASSWORD},
        follow=True,
    )
    assert response.redirect_chain == [
        (reverse("portal:home"), 302),
        (reverse("supplier:home"), 302),
    ]
    assert f"<h2>{own.name}</h2>" in response.content.decode()


def test_supplier_home_lists_what_waits_and_flags_a_passed_ship_date(client, supplier_user):
    own = Supplier.objects.get(users__user=supplier_user)
    other = SupplierFactory()
    today = timezone.localdate()
    day = dt.timedelta(days=1)
    PurchaseOrderFactory(supplier=own)  # to confirm
    PurchaseOrderFactory(supplier=own, status=PurchaseOrder.Status.DRAFT, sent_at=None)
    for ship_date in (today - day, today, today + day):
        PurchaseOrderFactory(
            supplier=own,
            status=PurchaseOrder.Status.CONFIRMED,
            ship_date=ship_date,
            delivery_date=today + 3 * day,
        )
    # Another supplier's orders count for nobody here.
    PurchaseOrderFactory(supplier=other)
    PurchaseOrderFactory(
        supplier=other, status=PurchaseOrder.Status.CONFIRMED, ship_date=today - day
    )
    client.force_login(supplier_user)
    with translation.override("en"):
        html = client.get(SUPPLIER_HOME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 purchase order to confirm" in html
    assert "2 purchase orders to ship by today" in html
    assert "1 past its ship date" in html

    orders = client.get(reverse("supplier:orders"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert orders.count("past the ship date") == 1


def test_supplier_home_is_the_inbox_of_purchase_order_notifications(client, supplier_user):
    """A supplier is notified when a purchase order arrives (issue 13): the notification is
    on their home page, linked to the order, until they mark it read; another supplier's
    notifications are not."""
    from apps.campaigns.notifications.models import Notification
    from apps.procurement.services.consolidation import purchase_orders_notify
    from tests.factories import SupplierUserFactory

    own = Supplier.objects.get(users__user=supplier_user)
    other_user = SupplierUserFactory().user
    other = Supplier.objects.get(users__user=other_user)
    mine = PurchaseOrderFactory(supplier=own, number="PO-MINE-1")
    theirs = PurchaseOrderFactory(supplier=other, number="PO-THEIRS-1")
    client.force_login(supplier_user)
    with translation.override("zh-hans"):
        empty = client.get(SUPPLIER_HOME).content.decode()
        assert "还没有通知" in empty

        assert purchase_orders_notify(purchase_orders=[mine, theirs]) == 2
        html = client.get(SUPPLIER_HOME).content.decode()

    assert f'<a href="/supplier/orders/{mine.pk}/">新采购单 PO-MINE-1</a>' in html
    assert "1 条未读" in html
    assert "PO-THEIRS-1" not in html

    response = client.post(reverse("supplier:notifications_read"))
    assert response.status_code == 302
    assert response["Location"] == SUPPLIER_HOME
    assert not Notification.objects.filter(recipient=supplier_user, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=other_user, read_at__isnull=True).count() == 1
    with translation.override("zh-hans"):
        after = client.get(SUPPLIER_HOME).content.decode()
    assert "PO-MINE-1" in after  # still listed, no longer unread
    assert "条未读" not in after


def test_only_supplier_users_mark_supplier_notifications_read(client, owner):
    client.force_login(owner)
    assert client.post(reverse("supplier:notifications_read")).status_code == 403
