"""Supplier purchase-order pages: own orders only, the supplier's steps, refusals."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from apps.procurement.models import PurchaseOrder, Supplier
from apps.procurement.services.consolidation import purchase_orders_consolidate
from apps.procurement.services.purchase_orders import (
    PurchaseOrderRefused,
    purchase_order_confirm,
    purchase_order_ship,
)
from linli.wording import status_in_sentence
from tests.factories import StoreFactory, SupplierUserFactory
from tests.procurement.factories import (
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    consolidated_purchase_order,
    supply_order,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_supplier(supplier_user) -> Supplier:
    return Supplier.objects.get(users__user=supplier_user)


@pytest.fixture
def po(own_supplier, store, other_store) -> PurchaseOrder:
    return consolidated_purchase_order(supplier=own_supplier, stores=[store, other_store])


@pytest.fixture
def foreign_po(db) -> PurchaseOrder:
    other = SupplierUserFactory().supplier
    return consolidated_purchase_order(
        supplier=other, stores=[StoreFactory()], names=("别家鲜牛奶 1L", "别家酸奶")
    )


def _get(client, name: str, po: PurchaseOrder):
    return client.get(reverse(name, args=[po.pk]))


def test_the_list_shows_own_sent_orders_and_not_another_suppliers_or_drafts(
    client, supplier_user, own_supplier, po, foreign_po
):
    draft = PurchaseOrderFactory(
        supplier=own_supplier, status=PurchaseOrder.Status.DRAFT, sent_at=None
    )
    client.force_login(supplier_user)
    response = client.get(reverse("supplier:orders"))
    assert response.status_code == 200
    html = response.content.decode()
    assert po.number in html
    assert foreign_po.number not in html
    assert draft.number not in html


def test_the_list_shows_each_orders_amount_in_yuan_and_cents(client, supplier_user, own_supplier):
    priced = PurchaseOrderFactory(supplier=own_supplier)
    PurchaseOrderLineFactory(
        purchase_order=priced,
        demanded_quantity=3,
        ordered_quantity=3,
        surplus_quantity=0,
        unit_cost=Decimal("780.70"),
    )
    PurchaseOrderFactory(supplier=own_supplier, number="PO-EMPTY")
    client.force_login(supplier_user)

    html = client.get(reverse("supplier:orders")).content.decode()

    assert "¥2,342.10</span>" in html
    assert "¥0.00</span>" in html
    assert "2342.1000" not in html


def test_the_list_filters_by_status_and_delivery_date(client, supplier_user, own_supplier, po):
    later = PurchaseOrderFactory(
        supplier=own_supplier, delivery_date=po.delivery_date + dt.timedelta(days=5)
    )
    PurchaseOrder.objects.filter(pk=later.pk).update(
        status=PurchaseOrder.Status.CONFIRMED, ship_date=later.delivery_date
    )
    client.force_login(supplier_user)
    url = reverse("supplier:orders")
    by_status = client.get(url, {"status": "confirmed"}).content.decode()
    assert (later.number in by_status, po.number in by_status) == (True, False)
    day = po.delivery_date.isoformat()
    by_date = client.get(url, {"date_from": day, "date_to": day}).content.decode()
    assert (later.number in by_date, po.number in by_date) == (False, True)


def test_the_list_query_count_does_not_grow_with_orders(client, supplier_user, own_supplier):
    client.force_login(supplier_user)
    PurchaseOrderFactory(supplier=own_supplier)
    client.get(reverse("supplier:orders"))
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("supplier:orders")).status_code == 200
    for _ in range(10):
        PurchaseOrderFactory(supplier=own_supplier)
    with CaptureQueriesContext(connection) as eleven:
        assert client.get(reverse("supplier:orders")).status_code == 200
    assert len(eleven.captured_queries) == len(one.captured_queries)


def test_the_detail_shows_lines_with_surplus_and_the_allocation_per_store(
    client, supplier_user, po, store, other_store
):
    client.force_login(supplier_user)
    with translation.override("en"):
        response = client.get(reverse("supplier:order", args=[po.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "云南蓝莓 125g" in html
    assert "阳光玫瑰葡萄" in html
    # Blueberries: 3 + 4 demanded → 12 ordered (minimum), surplus 5.
    assert "<td>7</td><td>12</td><td>5</td>" in html
    assert f"{store.code} {store.name}: 3" in html
    assert f"{other_store.code} {other_store.name}: 4" in html
    assert reverse("supplier:order_confirm", args=[po.pk]) in html


def test_in_chinese_the_ship_date_and_the_filter_dates_are_iso_for_the_date_picker(
    client, supplier_user, po
):
    client.force_login(supplier_user)
    day = timezone.localdate().isoformat()  # delivery in 2 days, lead time 2: ship today
    detail = client.get(reverse("supplier:order", args=[po.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    listing = client.get(
        reverse("supplier:orders"),
        {"date_from": day, "date_to": day},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert re.search(rf'type="date" name="ship_date" value="{day}"', detail.content.decode())
    filters = listing.content.decode()
    assert re.search(rf'type="date" name="date_from" value="{day}"', filters)
    assert re.search(rf'type="date" name="date_to" value="{day}"', filters)


def test_the_supplier_confirms_with_a_ship_date(client, supplier_user, po):
    client.force_login(supplier_user)
    ship_date = timezone.localdate()
    response = client.post(
        reverse("supplier:order_confirm", args=[po.pk]), {"ship_date": ship_date.isoformat()}
    )
    assert response.status_code == 302
    po.refresh_from_db()
    assert (po.status, po.ship_date, po.acted_by) == (
        PurchaseOrder.Status.CONFIRMED,
        ship_date,
        supplier_user,
    )


def test_a_page_opened_before_a_run_added_to_the_order_does_not_confirm_it(
    client, supplier_user, po, store
):
    client.force_login(supplier_user)
    page = client.get(reverse("supplier:order", args=[po.pk])).content.decode()
    assert re.search(r'type="hidden" name="revision" value="1"', page)
    assert 'id="updated"' not in page
    berries = po.lines.get(product__name="云南蓝莓 125g").product
    supply_order(store=store, lines=[(berries, 6)])
    purchase_orders_consolidate(cutoff=timezone.now())

    response = client.post(
        reverse("supplier:order_confirm", args=[po.pk]),
        {"ship_date": timezone.localdate().isoformat(), "revision": "1"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    with translation.override("en"):
        messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        "This purchase order was updated after you opened it: check the lines and confirm again."
    ]
    po.refresh_from_db()
    assert (po.status, po.revision) == (PurchaseOrder.Status.SENT, 2)
    html = response.content.decode()
    assert 'id="updated"' in html
    assert re.search(r'type="hidden" name="revision" value="2"', html)
    assert "<td>13</td><td>18</td><td>5</td>" in html  # 7 + 6 demanded, the new total
    listing = client.get(reverse("supplier:orders"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "更新于" in listing.content.decode()


def test_a_confirmation_without_a_valid_date_changes_nothing(client, supplier_user, po):
    client.force_login(supplier_user)
    response = client.post(reverse("supplier:order_confirm", args=[po.pk]), {"ship_date": "x"})
    assert response.status_code == 400
    po.refresh_from_db()
    assert (po.status, po.ship_date) == (PurchaseOrder.Status.SENT, None)


@pytest.mark.parametrize(
    ("days", "reason"),
    [(-1, "The ship date is in the past."), (30, "The ship date is after the delivery date.")],
)
def test_a_refused_ship_date_is_named_on_the_field_and_the_typed_date_is_kept(
    client, supplier_user, po, days, reason
):
    """A date the order does not allow comes back on the page as typed, with the reason on
    the field and at the top, not replaced by the proposed date under the refusal."""
    client.force_login(supplier_user)
    typed = (timezone.localdate() + dt.timedelta(days=days)).isoformat()
    response = client.post(
        reverse("supplier:order_confirm", args=[po.pk]),
        {"ship_date": typed, "revision": str(po.revision)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(rf'type="date" name="ship_date" value="{typed}"', html)
    assert response.context["confirm_form"].errors["ship_date"] == [reason]
    with translation.override("en"):
        assert [str(message) for message in response.context["messages"]] == [reason]
    po.refresh_from_db()
    assert (po.status, po.ship_date) == (PurchaseOrder.Status.SENT, None)


def test_a_refused_step_is_shown_as_a_message(client, supplier_user, po):
    client.force_login(supplier_user)
    response = client.post(
        reverse("supplier:order_ship", args=[po.pk]), {"shipped": "on"}, follow=True
    )
    with translation.override("en"):
        messages = [str(message) for message in response.context["messages"]]
    assert len(messages) == 1
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.SENT


def test_the_confirm_form_proposes_the_latest_ship_date_the_lead_time_allows(
    client, supplier_user, own_supplier, store
):
    """Delivery in 9 days with a lead time of 3: ship in 6 days (not on the delivery day)."""
    today = timezone.localdate()
    po = consolidated_purchase_order(supplier=own_supplier, stores=[store], lead_time_days=3)
    PurchaseOrder.objects.filter(pk=po.pk).update(delivery_date=today + dt.timedelta(days=9))
    client.force_login(supplier_user)
    html = client.get(reverse("supplier:order", args=[po.pk])).content.decode()
    proposed = (today + dt.timedelta(days=6)).isoformat()
    assert re.search(rf'type="date" name="ship_date" value="{proposed}"', html)


def test_the_proposed_ship_date_is_never_in_the_past(client, supplier_user, own_supplier, store):
    """Delivery tomorrow with a lead time of 3 is already late: the form proposes today."""
    today = timezone.localdate()
    po = consolidated_purchase_order(supplier=own_supplier, stores=[store], lead_time_days=3)
    PurchaseOrder.objects.filter(pk=po.pk).update(delivery_date=today + dt.timedelta(days=1))
    client.force_login(supplier_user)
    html = client.get(reverse("supplier:order", args=[po.pk])).content.decode()
    assert re.search(rf'type="date" name="ship_date" value="{today.isoformat()}"', html)


def test_marking_shipped_without_ticking_the_box_changes_nothing(client, supplier_user, po):
    """Shipping cannot be undone: one tap on the button alone is refused and says why."""
    PurchaseOrder.objects.filter(pk=po.pk).update(
        status=PurchaseOrder.Status.CONFIRMED, ship_date=timezone.localdate()
    )
    client.force_login(supplier_user)
    page = client.get(reverse("supplier:order", args=[po.pk])).content.decode()
    assert 'type="checkbox" name="shipped"' in page
    assert re.search(r'<input type="checkbox" name="shipped"[^>]* required', page)

    response = client.post(reverse("supplier:order_ship", args=[po.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Tick the box to confirm the goods have left." in response.content.decode()
    po.refresh_from_db()
    assert (po.status, po.shipped_at) == (PurchaseOrder.Status.CONFIRMED, None)


def test_the_supplier_marks_a_confirmed_order_shipped(client, supplier_user, po):
    PurchaseOrder.objects.filter(pk=po.pk).update(
        status=PurchaseOrder.Status.CONFIRMED, ship_date=timezone.localdate()
    )
    client.force_login(supplier_user)
    response = client.post(reverse("supplier:order_ship", args=[po.pk]), {"shipped": "on"})
    assert response.status_code == 302
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.SHIPPED


def _messages(response) -> list[str]:
    with translation.override("en"):
        return [str(message) for message in response.context["messages"]]


def test_a_second_tap_on_confirm_or_ship_says_it_is_done_not_refused(client, supplier_user, po):
    """A double tap (or a resend on a slow line) sends the form twice: the second found the
    order no longer sent (or confirmed) and said "Only a sent purchase order can be
    confirmed…", an error on the page the supplier saw last, after the step had succeeded."""
    client.force_login(supplier_user)
    confirm = reverse("supplier:order_confirm", args=[po.pk])
    ship = reverse("supplier:order_ship", args=[po.pk])
    day = timezone.localdate().isoformat()
    data = {"ship_date": day, "revision": str(po.revision)}
    for _tap in range(2):
        response = client.post(confirm, data, follow=True, HTTP_ACCEPT_LANGUAGE="en")
        assert _messages(response) == ["Purchase order confirmed."]
    po.refresh_from_db()
    confirmed_at = po.confirmed_at
    for _tap in range(2):
        response = client.post(ship, {"shipped": "on"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
        assert _messages(response) == ["Purchase order marked as shipped."]
    po.refresh_from_db()
    assert (po.status, po.ship_date.isoformat(), po.confirmed_at) == (
        PurchaseOrder.Status.SHIPPED,
        day,
        confirmed_at,
    )


def test_confirming_again_with_another_date_is_still_refused(client, supplier_user, po):
    """Not a repeat: a colleague confirmed with another ship date first. The refusal stands
    and the date stays theirs."""
    client.force_login(supplier_user)
    confirm = reverse("supplier:order_confirm", args=[po.pk])
    today = timezone.localdate()
    client.post(confirm, {"ship_date": today.isoformat()}, follow=True)
    response = client.post(
        confirm,
        {"ship_date": (today + dt.timedelta(days=1)).isoformat()},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert _messages(response) == [
        "Only a sent purchase order can be confirmed; this one is confirmed by supplier."
    ]
    po.refresh_from_db()
    assert po.ship_date == today


def test_a_repeat_confirm_from_a_page_older_than_the_orders_lines_is_still_refused(
    client, supplier_user, own_supplier, po, store
):
    """Not a repeat: this page showed revision 1; a run added to the order and a colleague
    confirmed revision 2 with the same date. This user never saw those lines, so it is not
    "Purchase order confirmed."."""
    colleague = SupplierUserFactory(supplier=own_supplier).user
    client.force_login(supplier_user)
    page = client.get(reverse("supplier:order", args=[po.pk])).content.decode()
    assert re.search(r'type="hidden" name="revision" value="1"', page)
    berries = po.lines.get(product__name="云南蓝莓 125g").product
    supply_order(store=store, lines=[(berries, 6)])
    purchase_orders_consolidate(cutoff=timezone.now())
    po.refresh_from_db()
    assert po.revision == 2
    day = timezone.localdate()
    purchase_order_confirm(po=po, ship_date=day, by=colleague, revision=2)

    response = client.post(
        reverse("supplier:order_confirm", args=[po.pk]),
        {"ship_date": day.isoformat(), "revision": "1"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert _messages(response) == [
        "Only a sent purchase order can be confirmed; this one is confirmed by supplier."
    ]
    po.refresh_from_db()
    assert (po.status, po.ship_date, po.acted_by) == (
        PurchaseOrder.Status.CONFIRMED,
        day,
        colleague,
    )


def test_a_repeat_confirm_carrying_the_orders_revision_says_it_is_done(
    client, supplier_user, own_supplier, po
):
    """The same date and the revision this page showed: a colleague (or this user's first tap)
    confirmed exactly what this form asked for."""
    colleague = SupplierUserFactory(supplier=own_supplier).user
    day = timezone.localdate()
    purchase_order_confirm(po=po, ship_date=day, by=colleague, revision=po.revision)
    client.force_login(supplier_user)

    response = client.post(
        reverse("supplier:order_confirm", args=[po.pk]),
        {"ship_date": day.isoformat(), "revision": str(po.revision)},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert _messages(response) == ["Purchase order confirmed."]
    po.refresh_from_db()
    assert (po.status, po.acted_by) == (PurchaseOrder.Status.CONFIRMED, colleague)


def test_the_supplier_reports_a_shortage(client, supplier_user, po):
    line = po.lines.get(product__name="阳光玫瑰葡萄")
    client.force_login(supplier_user)
    response = client.post(
        reverse("supplier:order_shortage", args=[po.pk]),
        {f"line_{line.pk}": "4", "note": "降雨减产"},
    )
    assert response.status_code == 302
    po.refresh_from_db()
    line.refresh_from_db()
    assert (po.has_shortage, po.shortage_note, line.shortage_quantity) == (True, "降雨减产", 4)


def test_a_shortage_above_the_ordered_quantity_changes_nothing(client, supplier_user, po):
    line = po.lines.get(product__name="阳光玫瑰葡萄")
    client.force_login(supplier_user)
    response = client.post(
        reverse("supplier:order_shortage", args=[po.pk]), {f"line_{line.pk}": "999"}
    )
    assert response.status_code == 400
    # Named at the top of the page (the messages) and at the field: the product and its maximum.
    [shown] = [str(message) for message in response.context["messages"]]
    assert shown.startswith("阳光玫瑰葡萄")
    assert str(line.ordered_quantity) in shown
    assert response.context["shortage_form"].errors[f"line_{line.pk}"] == [shown]
    assert shown in response.content.decode()
    line.refresh_from_db()
    assert line.shortage_quantity == 0


def test_every_wrong_shortage_line_is_named(client, supplier_user, po):
    berries = po.lines.get(product__name="云南蓝莓 125g")
    grapes = po.lines.get(product__name="阳光玫瑰葡萄")
    client.force_login(supplier_user)
    response = client.post(
        reverse("supplier:order_shortage", args=[po.pk]),
        {f"line_{berries.pk}": "999", f"line_{grapes.pk}": "-1"},
    )
    assert response.status_code == 400
    shown = [str(message) for message in response.context["messages"]]
    assert len(shown) == 2
    assert shown[0].startswith("云南蓝莓 125g")
    assert str(berries.ordered_quantity) in shown[0]
    assert shown[1].startswith("阳光玫瑰葡萄")
    assert str(grapes.ordered_quantity) in shown[1]
    assert not po.lines.filter(shortage_quantity__gt=0).exists()


@pytest.mark.parametrize("name", ["supplier:order", "supplier:order_csv", "supplier:order_pdf"])
def test_another_suppliers_order_is_a_404(client, supplier_user, foreign_po, name):
    client.force_login(supplier_user)
    assert _get(client, name, foreign_po).status_code == 404


def test_an_own_draft_is_a_404_for_the_supplier(client, supplier_user, own_supplier):
    draft = PurchaseOrderFactory(
        supplier=own_supplier, status=PurchaseOrder.Status.DRAFT, sent_at=None
    )
    client.force_login(supplier_user)
    assert _get(client, "supplier:order", draft).status_code == 404


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("supplier:order_confirm", {"ship_date": "2099-01-01"}),
        ("supplier:order_ship", {"shipped": "on"}),
        ("supplier:order_shortage", {"note": "x"}),
    ],
)
def test_another_supplier_cannot_act_on_an_order(client, supplier_user, foreign_po, name, data):
    client.force_login(supplier_user)
    assert client.post(reverse(name, args=[foreign_po.pk]), data).status_code == 404
    foreign_po.refresh_from_db()
    assert (foreign_po.status, foreign_po.has_shortage, foreign_po.shortage_note) == (
        PurchaseOrder.Status.SENT,
        False,
        "",
    )


def test_a_store_owner_is_refused_the_list_and_every_order(client, owner, po):
    client.force_login(owner)
    assert client.get(reverse("supplier:orders")).status_code == 403
    assert _get(client, "supplier:order", po).status_code == 404
    response = client.post(
        reverse("supplier:order_confirm", args=[po.pk]), {"ship_date": "2099-01-01"}
    )
    assert response.status_code == 404
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.SENT


def test_an_inspector_is_refused_the_list(client, inspector, po):
    client.force_login(inspector)
    assert client.get(reverse("supplier:orders")).status_code == 403
    assert _get(client, "supplier:order", po).status_code == 404


def test_anonymous_users_are_sent_to_login_and_change_nothing(client, po):
    for url in (reverse("supplier:orders"), reverse("supplier:order", args=[po.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('portal:login')}?next={url}"
    response = client.post(reverse("supplier:order_ship", args=[po.pk]))
    assert response.status_code == 302
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.SENT


def test_hq_sees_every_suppliers_sent_orders(client, hq_user, po, foreign_po):
    client.force_login(hq_user)
    html = client.get(reverse("supplier:orders")).content.decode()
    assert po.number in html
    assert foreign_po.number in html
    assert _get(client, "supplier:order", foreign_po).status_code == 200


def test_the_supplier_home_links_to_the_purchase_orders(client, supplier_user):
    client.force_login(supplier_user)
    html = client.get(reverse("supplier:home")).content.decode()
    assert reverse("supplier:orders") in html


def test_supplier_pages_show_money_with_thousands_separators_and_two_decimals(
    client, supplier_user, own_supplier
):
    order = PurchaseOrderFactory(supplier=own_supplier)
    PurchaseOrderLineFactory(
        purchase_order=order,
        demanded_quantity=2,
        ordered_quantity=2,
        surplus_quantity=0,
        pack_size=1,
        min_order_qty=1,
        unit_cost=Decimal("1171.05"),
    )
    client.force_login(supplier_user)

    detail = client.get(reverse("supplier:order", args=[order.pk])).content.decode()
    listing = client.get(reverse("supplier:orders")).content.decode()

    assert "¥1,171.05" in detail
    assert "¥2,342.10" in detail
    assert "¥2,342.10" in listing
    assert "¥2342.10" not in detail + listing


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"date_from": "2026-02-30"}, "date_from"),
        ({"date_to": "tomorrow"}, "date_to"),
        ({"date_from": "2026-07-10", "date_to": "2026-07-01"}, "date_to"),
    ],
)
def test_filters_that_do_not_read_show_the_error_and_list_nothing(
    client, supplier_user, po, params, field
):
    """Not the whole unfiltered list under the error, as if it were the filter's result."""
    client.force_login(supplier_user)
    response = client.get(reverse("supplier:orders"), params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert response.context["purchase_orders"] is None
    html = response.content.decode()
    assert po.number not in html
    assert 'id="filters-invalid"' in html
    assert "No purchase orders match." not in html


def test_a_from_date_after_the_to_date_is_named_in_chinese(client, supplier_user, po):
    client.force_login(supplier_user)
    response = client.get(
        reverse("supplier:orders"),
        {"date_from": "2026-07-10", "date_to": "2026-07-01"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert "“至”日期早于“从”日期，这段时间内没有到货。" in response.content.decode()


def test_the_same_from_and_to_date_is_one_day(client, supplier_user, po):
    client.force_login(supplier_user)
    day = po.delivery_date.isoformat()
    response = client.get(reverse("supplier:orders"), {"date_from": day, "date_to": day})
    assert [o.pk for o in response.context["purchase_orders"]] == [po.pk]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Only a confirmed purchase order can be shipped; this one is sent to supplier."),
        ("zh-hans", "只有已确认的采购单可以发货；此采购单状态为“已发送供应商”。"),
    ],
)
def test_a_refusal_words_the_status_in_the_sentence_in_lower_case_in_english(
    po, language, expected
):
    """The status sits mid-sentence: English read "this one is Sent to supplier"; Chinese has
    no case and keeps its label as it was."""
    with translation.override(language), pytest.raises(PurchaseOrderRefused) as refused:
        purchase_order_ship(po=po, by=None)
    assert (refused.value.code, refused.value.message) == ("not_confirmed", expected)
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.SENT


def test_a_status_starting_with_an_acronym_keeps_it_in_a_sentence():
    with translation.override("en"):
        assert status_in_sentence("Awaiting HQ") == "awaiting HQ"
        assert status_in_sentence("HQ review") == "HQ review"
