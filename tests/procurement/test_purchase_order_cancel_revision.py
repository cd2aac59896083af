"""HQ's cancel of a purchase order is decided on the revision the page showed, as the
supplier's confirmation is: an order a consolidation run added to since is not cancelled
(`changed`), nothing changes, and HQ is told (docs/purchasing.md)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from apps.procurement.models import PurchaseOrder
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.purchase_orders import PurchaseOrderRefused, purchase_order_cancel
from tests.factories import ProductFactory, StoreFactory, SupplierFactory, SupplierProductFactory
from tests.procurement.factories import PurchaseOrderFactory, supply_order

pytestmark = pytest.mark.django_db

_STEP = dt.timedelta(seconds=1)


class _World:
    """A farm with one product (packs of 1, minimum 1) and two stores; `run()` consolidates
    what waits with a later cut-off each time."""

    def __init__(self) -> None:
        farm = SupplierFactory()
        self.berries = ProductFactory(name="云南蓝莓 125g")
        SupplierProductFactory(
            supplier=farm,
            product=self.berries,
            cost=Decimal("8.50"),
            pack_size=1,
            min_order_qty=1,
            lead_time_days=2,
        )
        self.a, self.b = StoreFactory(), StoreFactory()
        self.cutoff = timezone.now().replace(microsecond=0)

    def run(self) -> None:
        self.cutoff += _STEP
        purchase_orders_consolidate(cutoff=self.cutoff)


def _opened_then_added_to() -> tuple[_World, PurchaseOrder, int]:
    world = _World()
    supply_order(store=world.a, lines=[(world.berries, 4)])
    world.run()
    po = PurchaseOrder.objects.get()
    seen = po.revision
    # Another store's member orders are added while HQ looks at the order.
    supply_order(store=world.b, lines=[(world.berries, 3)])
    world.run()
    po.refresh_from_db()
    assert po.revision == seen + 1
    return world, po, seen


def test_a_cancel_of_the_revision_seen_before_a_run_added_to_it_is_refused():
    _world, po, seen = _opened_then_added_to()

    with pytest.raises(PurchaseOrderRefused) as changed:
        purchase_order_cancel(po=po, by=None, revision=seen)

    assert changed.value.code == "changed"
    po.refresh_from_db()
    assert (po.status, po.cancelled_at) == (PurchaseOrder.Status.SENT, None)
    # At the revision now shown it is cancelled; without one, as it stands (unchanged rule).
    purchase_order_cancel(po=po, by=None, revision=po.revision)
    assert po.status == PurchaseOrder.Status.CANCELLED


def test_a_confirmed_order_is_refused_as_confirmed_whatever_the_revision():
    _world, po, seen = _opened_then_added_to()
    PurchaseOrder.objects.filter(pk=po.pk).update(
        status=PurchaseOrder.Status.CONFIRMED, ship_date=timezone.localdate()
    )
    with pytest.raises(PurchaseOrderRefused) as refused:
        purchase_order_cancel(po=po, by=None, revision=seen)
    assert refused.value.code == "confirmed"


def test_hqs_confirmed_cancel_of_an_order_changed_since_the_page_is_refused(client, hq_user):
    world = _World()
    supply_order(store=world.a, lines=[(world.berries, 4)])
    world.run()
    po = PurchaseOrder.objects.get()
    client.force_login(hq_user)
    url = reverse("admin:procurement_purchaseorder_changelist")

    page = client.post(url, {"action": "cancel", "_selected_action": [po.pk]})
    assert page.status_code == 200
    field = f'name="revision_{po.pk}" value="{po.revision}"'
    assert field in page.content.decode()

    # A run adds to the order before HQ confirms on that page.
    supply_order(store=world.b, lines=[(world.berries, 3)])
    world.run()
    response = client.post(
        url,
        {
            "action": "cancel",
            "_selected_action": [po.pk],
            "confirm": "yes",
            f"revision_{po.pk}": str(po.revision),
        },
        follow=True,
    )

    po.refresh_from_db()
    assert (po.status, po.revision) == (PurchaseOrder.Status.SENT, 2)
    levels = [(message.level_tag, str(message)) for message in response.context["messages"]]
    # Refused, so no "Cancelled 0 purchase orders." above the warning.
    assert [level for level, _text in levels] == ["warning"]
    assert po.number in levels[0][1]
    # The page shown again carries the new revision, and confirming it cancels.
    page = client.post(url, {"action": "cancel", "_selected_action": [po.pk]})
    assert f'name="revision_{po.pk}" value="2"' in page.content.decode()
    client.post(
        url,
        {
            "action": "cancel",
            "_selected_action": [po.pk],
            "confirm": "yes",
            f"revision_{po.pk}": "2",
        },
    )
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.CANCELLED


def test_a_garbled_revision_refuses_rather_than_cancels_blind(client, hq_user):
    world = _World()
    supply_order(store=world.a, lines=[(world.berries, 4)])
    world.run()
    po = PurchaseOrder.objects.get()
    client.force_login(hq_user)
    client.post(
        reverse("admin:procurement_purchaseorder_changelist"),
        {
            "action": "cancel",
            "_selected_action": [po.pk],
            "confirm": "yes",
            f"revision_{po.pk}": "x",
        },
    )
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.SENT


@pytest.mark.parametrize(
    ("language", "template"), [("en", "{} ({}), {} ({})"), ("zh-hans", "{}（{}）、{}（{}）")]
)
def test_the_orders_that_stay_are_listed_in_the_pages_language(client, hq_user, language, template):
    """The list separator and the brackets around each status follow the language."""
    now = timezone.now()
    first, second = (
        PurchaseOrderFactory(
            status=PurchaseOrder.Status.CONFIRMED,
            ship_date=timezone.localdate(),
            confirmed_at=now,
        )
        for _ in range(2)
    )
    client.force_login(hq_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.post(
        reverse("admin:procurement_purchaseorder_changelist"),
        {"action": "cancel", "_selected_action": [first.pk, second.pk]},
    )
    with translation.override(language):
        status = first.get_status_display()
    kept = re.search(r'<p class="errornote" id="kept">[^<]*?[:：] ?(.*)</p>', page.content.decode())
    assert kept is not None
    assert kept.group(1) == template.format(first.number, status, second.number, status)
