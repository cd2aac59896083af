"""The supplier's reconciliation (对账) of a received purchase order and their disputes of a
store's receipt (异议): docs/purchasing.md ("Received") and docs/delivery-and-receiving.md
("Disputes").

The world: `supply_world()` (¥8.50 a unit from the supplier, ¥10 a unit to members); store A
receives its 6 blueberries as 2 received, 2 short, 2 damaged and its 4 grapes in full; store
B has not received. Receiving opens a "damaged" case (2 units, ¥20, replaced at HQ's cost)
and two "missing" cases (¥10 each, refunded at the supplier's cost); HQ approves all three.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from apps.campaigns.notifications.models import Notification
from apps.procurement.models import (
    AfterSalesCase,
    CaseKind,
    ChargedTo,
    ReceiptDispute,
    ReceiptLine,
)
from apps.procurement.services.aftersales import case_approve
from apps.procurement.services.disputes import (
    ANSWER_MAX_LENGTH,
    ReceiptDisputeRefused,
    receipt_dispute_accept,
    receipt_dispute_open,
    receipt_dispute_reject,
)
from apps.procurement.services.receiving import receipt_record
from apps.stores.models import StockLevel
from linli.roles import HQ_PROCUREMENT
from tests.factories import SupplierUserFactory, UserFactory, owner_of
from tests.procurement.factories_aftersales import AfterSalesCaseFactory
from tests.procurement.factories_supply import SupplyWorld, supply_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings) -> None:
    """Pages, downloads and notifications in English, so that the assertions read."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def world() -> SupplyWorld:
    world = supply_world()
    berries, grapes = world.products
    receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_a,
        lines={
            world.allocation(world.store_a, berries).pk: (2, 2, 2),
            world.allocation(world.store_a, grapes).pk: (4, 0, 0),
        },
        by=None,
    )
    buyer = UserFactory(username="buyer", is_staff=True, is_superuser=True)
    for case in AfterSalesCase.objects.order_by("pk"):
        case_approve(case=case, by=buyer)
    return world


@pytest.fixture
def supplier_client(client, world: SupplyWorld):
    user = SupplierUserFactory(supplier=world.supplier, user__username="farm-clerk").user
    client.force_login(user)
    client.user = user
    return client


def _berries_line(world: SupplyWorld) -> ReceiptLine:
    return ReceiptLine.objects.select_related(
        "receipt__purchase_order", "receipt__store", "allocation__line__product"
    ).get(allocation=world.allocation(world.store_a, world.products[0]))


def _order_page(client, world: SupplyWorld):
    return client.get(reverse("supplier:order", args=[world.purchase_order.pk]))


def _dispute_url(line: ReceiptLine) -> str:
    return reverse("supplier:receipt_dispute", args=[line.pk])


# --- the received section -------------------------------------------------------------------


def test_the_approved_cases_are_as_the_policy_charges_them(world):
    """The premise of the figures below: two missing cases charged to the supplier, one
    damaged case charged to HQ, all approved."""
    cases = sorted(
        AfterSalesCase.objects.values_list("kind", "quantity", "amount", "charged_to", "status")
    )
    assert cases == [
        ("damaged", 2, D("20.00"), ChargedTo.HQ, "approved"),
        ("missing", 1, D("10.00"), ChargedTo.SUPPLIER, "approved"),
        ("missing", 1, D("10.00"), ChargedTo.SUPPLIER, "approved"),
    ]


def test_the_order_page_shows_what_each_store_received_and_what_can_be_invoiced(
    supplier_client, world
):
    response = _order_page(supplier_client, world)
    assert response.status_code == 200
    reconciliation = response.context["reconciliation"]
    berries, grapes = world.products

    figures = {
        (received.line.product.name, row.allocation.store.code): (
            row.allocated,
            row.shelf,
            row.received_quantity,
            row.short_quantity,
            row.damaged_quantity,
            row.invoice_amount,
            row.received,
        )
        for received in reconciliation.lines
        for row in received.rows
    }
    a, b = world.store_a.code, world.store_b.code
    assert figures == {
        (berries.name, a): (6, 0, 2, 2, 2, D("17.00"), True),
        (grapes.name, a): (4, 0, 4, 0, 0, D("34.00"), True),
        # Store B has not received: its allocation is listed, without figures.
        (berries.name, b): (4, 0, 0, 0, 0, D("0.00"), False),
        (grapes.name, b): (2, 0, 0, 0, 0, D("0.00"), False),
    }
    assert (reconciliation.stores_received, reconciliation.stores_waiting) == (1, 1)
    assert (
        reconciliation.allocated,
        reconciliation.received_quantity,
        reconciliation.short_quantity,
        reconciliation.damaged_quantity,
    ) == (10, 6, 2, 2)
    # (received in good order) × unit cost: 2 × ¥8.50 + 4 × ¥8.50.
    assert reconciliation.invoice_amount == D("51.00")
    # The two missing cases (the supplier's); the damaged case is HQ's, not a charge.
    supplier_cases = AfterSalesCase.objects.filter(charged_to=ChargedTo.SUPPLIER)
    hq_case = AfterSalesCase.objects.get(charged_to=ChargedTo.HQ)
    assert sorted(case.number for case in reconciliation.charges) == sorted(
        case.number for case in supplier_cases
    )
    assert reconciliation.charged_amount == D("20.00")

    html = response.content.decode()
    assert 'id="received"' in html
    assert "¥51.00" in html
    assert "¥17.00" in html
    for case in supplier_cases:
        assert case.number in html
    assert hq_case.number not in html
    # The supplier sees no member data.
    for member in world.members.values():
        assert member.name not in html
        assert member.member_no not in html


def test_no_received_section_before_any_store_has_received(client):
    world = supply_world()
    user = SupplierUserFactory(supplier=world.supplier).user
    client.force_login(user)
    response = _order_page(client, world)
    assert response.context["reconciliation"] is None
    assert 'id="received"' not in response.content.decode()


def _lines_note(response) -> str:
    html = response.content.decode()
    start = html.index('id="lines-note"')
    return html[start : html.index("</p>", start)]


def test_after_a_receipt_the_lines_card_points_to_the_amount_to_invoice(supplier_client, world):
    """The amount to deliver is not what they invoice once stores have received: the Received
    section's amount to invoice is (the two notes used to contradict each other)."""
    note = _lines_note(_order_page(supplier_client, world))
    assert "invoice" in note
    assert "what you deliver and invoice" not in note
    assert "what you were to deliver" in note
    assert "the amount to invoice in the Received section" in note
    note = _lines_note(
        supplier_client.get(
            reverse("supplier:order", args=[world.purchase_order.pk]),
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    )
    assert "“收货对账”中的可开票金额" in note


def test_before_a_receipt_the_lines_card_says_the_amount_is_what_they_deliver(client):
    world = supply_world()
    client.force_login(SupplierUserFactory(supplier=world.supplier).user)
    note = _lines_note(_order_page(client, world))
    assert "what you deliver." in note
    assert "Received section below" not in note


def test_a_case_charged_to_another_supplier_or_still_open_is_no_charge(supplier_client, world):
    first, second = AfterSalesCase.objects.filter(kind=CaseKind.MISSING).order_by("pk")
    AfterSalesCase.objects.filter(pk=first.pk).update(status=AfterSalesCase.Status.RESOLVED)
    AfterSalesCase.objects.filter(pk=second.pk).update(
        status=AfterSalesCase.Status.REJECTED, charged_to=ChargedTo.SUPPLIER
    )
    reconciliation = _order_page(supplier_client, world).context["reconciliation"]
    # Resolved (approved, remedy given) still counts; rejected does not.
    assert [case.pk for case in reconciliation.charges] == [first.pk]
    assert reconciliation.charged_amount == D("10.00")


# --- the downloads ----------------------------------------------------------------------------


def _csv_rows(client, world: SupplyWorld) -> list[list[str]]:
    response = client.get(reverse("supplier:order_csv", args=[world.purchase_order.pk]))
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_csv_carries_the_received_block_below_the_unchanged_order(supplier_client, world):
    rows = _csv_rows(supplier_client, world)
    start = rows.index(["Received at the stores"])
    # The order's own total row stays where it was, right before the block.
    assert rows[start - 2][1] == "Total"
    assert rows[start + 1][:2] == ["SKU", "Product"]
    a = world.store_a.code
    berries, grapes = world.products
    received = {tuple(row[1:3]): row[4:9] + row[10:] for row in rows[start + 2 : start + 4]}
    assert received == {
        (berries.name, a): ["6", "0", "2", "2", "2", "8.50", "17.00"],
        (grapes.name, a): ["4", "0", "4", "0", "0", "8.50", "34.00"],
    }
    total = rows[start + 4]
    assert total[1] == "Total"
    assert total[4:9] == ["10", "0", "6", "2", "2"]
    assert total[11] == "51.00"
    charges_at = rows.index(["After-sales charged to the supplier"])
    charges = rows[charges_at + 2 : -1]
    supplier_cases = AfterSalesCase.objects.filter(charged_to=ChargedTo.SUPPLIER)
    assert sorted(row[0] for row in charges) == sorted(case.number for case in supplier_cases)
    assert {(row[1], row[2], row[4], row[5]) for row in charges} == {
        (a, berries.name, "1", "10.00")
    }
    assert rows[-1][1] == "Total"
    assert rows[-1][5] == "20.00"
    text = "\n".join(",".join(row) for row in rows)
    for member in world.members.values():
        assert member.name not in text


def test_the_xlsx_and_pdf_carry_the_received_figures(supplier_client, world):
    po = world.purchase_order
    response = supplier_client.get(reverse("supplier:order_xlsx", args=[po.pk]))
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == [po.number[:31], "Received"]
    values = [list(row) for row in workbook["Received"].iter_rows(values_only=True)]
    total = next(row for row in values if row[1] == "Total")
    assert total[4:9] == [10, 0, 6, 2, 2]
    assert total[11] == 51.0

    pdf = supplier_client.get(reverse("supplier:order_pdf", args=[po.pk])).content
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Received at the stores" in text
    assert "51.00" in text
    for case in AfterSalesCase.objects.filter(charged_to=ChargedTo.SUPPLIER):
        assert case.number in text
    assert AfterSalesCase.objects.get(charged_to=ChargedTo.HQ).number not in text


def _text_runs(pdf: bytes) -> list[tuple[int, float, float, float, str]]:
    """(page, baseline, left, right, text) of every run of text the PDF draws, its right edge
    measured in the font and size it is drawn in (all text is in the CJK font)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from linli.fonts import PDF_FONT_NAME, pdf_font

    pdf_font()
    runs = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages):

        def visit(text, cm, tm, font, size, number=number):
            if text.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                width = stringWidth(text.strip(), PDF_FONT_NAME, size) * cm[0]
                runs.append((number, round(y, 1), x, x + width, text.strip()))

        page.extract_text(visitor_text=visit)
    return runs


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_pdfs_table_text_stays_in_its_column_and_on_the_page(supplier_client, world, language):
    """A header or a value wider than its column wraps inside it: "For the shelf" ran into
    "Received" and "Amount to invoice (yuan)" (可开票金额（元）) past the page's margin."""
    po = world.purchase_order
    pdf = supplier_client.get(
        reverse("supplier:order_pdf", args=[po.pk]), HTTP_ACCEPT_LANGUAGE=language
    ).content
    runs = _text_runs(pdf)
    right_margin = PdfReader(io.BytesIO(pdf)).pages[0].mediabox.width - 12 * 72 / 25.4
    assert runs
    assert [run for run in runs if run[3] > right_margin] == []
    overlapping = []
    for line in {(run[0], run[1]) for run in runs}:
        on_line = sorted(run for run in runs if (run[0], run[1]) == line)
        overlapping += [
            (left[4], right[4])
            for left, right in zip(on_line, on_line[1:], strict=False)
            if left[3] > right[2]
        ]
    assert overlapping == []


# --- disputes -----------------------------------------------------------------------------------


def test_a_supplier_disputes_a_receipt_line_and_sees_it_on_the_page(supplier_client, world):
    colleague = SupplierUserFactory(supplier=world.supplier, user__username="farm-boss").user
    line = _berries_line(world)
    response = supplier_client.post(
        _dispute_url(line), {"claimed_quantity": "6", "note": "We loaded 6 boxes, signed for."}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"/supplier/orders/{world.purchase_order.pk}/#received")
    dispute = ReceiptDispute.objects.get()
    assert (
        dispute.receipt_line_id,
        dispute.supplier_id,
        dispute.recorded_quantity,
        dispute.claimed_quantity,
        dispute.note,
        dispute.created_by,
        dispute.status,
    ) == (
        line.pk,
        world.supplier.pk,
        4,  # 2 received + 2 damaged arrived, as the store recorded it
        6,
        "We loaded 6 boxes, signed for.",
        supplier_client.user,
        ReceiptDispute.Status.OPEN,
    )
    # Their colleague is told; they are not told of what they just did themselves.
    notes = Notification.objects.filter(kind="receipt_dispute_opened")
    assert [note.recipient_id for note in notes] == [colleague.pk]
    assert notes.get().payload["receipt_dispute_id"] == dispute.pk
    assert not Notification.objects.filter(recipient=supplier_client.user).exists()
    # The receipt stands: nothing in it or in stock moved.
    line.refresh_from_db()
    assert (line.received_quantity, line.short_quantity, line.damaged_quantity) == (2, 2, 2)

    page = _order_page(supplier_client, world)
    [row] = [row for row in page.context["reconciliation"].rows if row.receipt_line == line]
    assert row.open_dispute == dispute
    assert row.may_dispute is False  # one open dispute per line
    html = page.content.decode()
    assert "We loaded 6 boxes, signed for." in html
    assert "Awaiting HQ" in html


def test_a_second_open_dispute_of_a_line_is_refused(supplier_client, world):
    line = _berries_line(world)
    receipt_dispute_open(receipt_line=line, claimed_quantity=6, note="6 loaded", by=None)
    with pytest.raises(ReceiptDisputeRefused) as refused:
        receipt_dispute_open(receipt_line=line, claimed_quantity=5, note="5 then", by=None)
    assert refused.value.code == "already_open"
    assert ReceiptDispute.objects.count() == 1
    # The database holds the rule itself.
    with pytest.raises(IntegrityError), transaction.atomic():
        ReceiptDispute.objects.create(
            receipt_line=line,
            supplier=world.supplier,
            recorded_quantity=4,
            claimed_quantity=5,
            note="around the service",
        )
    # Through the page: refused, named at the top, nothing written; what they typed is kept
    # on the line (no form any more: the open dispute is there).
    response = supplier_client.post(
        _dispute_url(line), {"claimed_quantity": "5", "note": "Counted 5 at the door"}
    )
    assert response.status_code == 409
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == ["This receipt line already has a dispute awaiting HQ's answer."]
    assert ReceiptDispute.objects.count() == 1
    assert "What you typed (not sent): 5 · Counted 5 at the door" in _typed(response)


def test_a_repeat_of_the_dispute_sent_says_it_was_sent(supplier_client, world):
    """A double tap (or a resend on a slow line) sends the dispute twice: the second found the
    first open and said "already has a dispute awaiting HQ's answer" with the note typed
    "(not sent)" — it had been sent. Another claim or note is still refused (above)."""
    colleague = SupplierUserFactory(supplier=world.supplier, user__username="farm-boss").user
    line = _berries_line(world)
    typed = {"claimed_quantity": "6", "note": "  We loaded 6 boxes, signed for. "}
    for _tap in range(2):
        response = supplier_client.post(
            _dispute_url(line), typed, follow=True, HTTP_ACCEPT_LANGUAGE="en"
        )
        [(location, status)] = response.redirect_chain
        assert (location, status) == (
            f"/supplier/orders/{world.purchase_order.pk}/#received",
            302,
        )
        assert [str(message) for message in response.context["messages"]] == ["Dispute sent to HQ."]
        assert "not sent" not in response.content.decode()
    assert ReceiptDispute.objects.get().note == "We loaded 6 boxes, signed for."
    # The colleague is told once.
    assert (
        Notification.objects.filter(kind="receipt_dispute_opened", recipient=colleague).count() == 1
    )

    with pytest.raises(ReceiptDisputeRefused) as repeated:
        receipt_dispute_open(
            receipt_line=line, claimed_quantity=6, note="We loaded 6 boxes, signed for.", by=None
        )
    with pytest.raises(ReceiptDisputeRefused) as other_note:
        receipt_dispute_open(receipt_line=line, claimed_quantity=6, note="6, see photo", by=None)
    with pytest.raises(ReceiptDisputeRefused) as other_claim:
        receipt_dispute_open(
            receipt_line=line, claimed_quantity=5, note="We loaded 6 boxes, signed for.", by=None
        )
    assert [
        (refusal.value.code, refusal.value.done_as_asked)
        for refusal in (repeated, other_note, other_claim)
    ] == [("already_open", True), ("already_open", False), ("already_open", False)]
    assert ReceiptDispute.objects.count() == 1


def test_a_dispute_after_the_window_is_refused(supplier_client, world, settings):
    line = _berries_line(world)
    received_at = timezone.now() - dt.timedelta(days=7, minutes=1)
    type(line.receipt).objects.filter(pk=line.receipt_id).update(received_at=received_at)
    line = _berries_line(world)
    with pytest.raises(ReceiptDisputeRefused) as refused:
        receipt_dispute_open(receipt_line=line, claimed_quantity=6, note="late", by=None)
    assert refused.value.code == "too_late"
    response = supplier_client.post(
        _dispute_url(line), {"claimed_quantity": "6", "note": "Signed for 6"}
    )
    assert response.status_code == 409
    assert ReceiptDispute.objects.count() == 0
    assert "What you typed (not sent): 6 · Signed for 6" in _typed(response)
    page = _order_page(supplier_client, world)
    assert not any(row.may_dispute for row in page.context["reconciliation"].rows)
    assert f'action="{_dispute_url(line)}"' not in page.content.decode()
    # The window is a setting.
    settings.RECEIPT_DISPUTE_DAYS = 8
    receipt_dispute_open(receipt_line=line, claimed_quantity=6, note="in time", by=None)
    assert ReceiptDispute.objects.count() == 1


@pytest.mark.parametrize(
    ("claimed", "note", "code"),
    [
        (4, "the same", "not_above_recorded"),  # 2 received + 2 damaged
        # Fewer than the store recorded argues against the supplier: not a dispute (HQ's
        # accept would take units off what the supplier is owed).
        (3, "fewer", "not_above_recorded"),
        (0, "none", "not_above_recorded"),
        (-1, "negative", "not_above_recorded"),
        (7, "more than shipped", "beyond_shipped"),  # 6 were to ship to store A
        (6, "   ", "no_note"),
    ],
)
def test_a_dispute_must_claim_more_than_recorded_within_what_was_shipped_and_say_why(
    world, claimed, note, code
):
    with pytest.raises(ReceiptDisputeRefused) as refused:
        receipt_dispute_open(
            receipt_line=_berries_line(world), claimed_quantity=claimed, note=note, by=None
        )
    assert refused.value.code == code
    assert ReceiptDispute.objects.count() == 0
    assert not Notification.objects.filter(kind__startswith="receipt_dispute").exists()


def test_a_claim_of_fewer_than_the_store_recorded_is_refused_on_the_page(supplier_client, world):
    line = _berries_line(world)
    response = supplier_client.post(
        _dispute_url(line), {"claimed_quantity": "3", "note": "Only 3 went out"}
    )
    assert response.status_code == 409
    message = (
        "The store recorded 4 delivered: a dispute says you delivered more, from 5 to the 6 "
        "units you were to deliver to this store."
    )
    assert [str(message) for message in get_messages(response.wsgi_request)] == [message]
    typed = _typed(response)
    assert typed.startswith('<details class="dispute-form" id="dispute-typed" open>')
    assert 'value="3"' in typed
    assert ">Only 3 went out</textarea>" in typed
    assert message in typed
    # The browser asks for a number in the range the service takes.
    assert 'min="5" max="6"' in typed
    assert ReceiptDispute.objects.count() == 0
    assert not Notification.objects.filter(kind__startswith="receipt_dispute").exists()


def test_a_line_received_in_full_offers_no_dispute(supplier_client, world):
    """Store A received all 4 grapes it was to get: no claim can lie above that."""
    grapes_line = ReceiptLine.objects.select_related(
        "receipt__purchase_order", "receipt__store", "allocation__line__product"
    ).get(allocation=world.allocation(world.store_a, world.products[1]))
    assert (grapes_line.arrived_quantity, grapes_line.shipped_quantity) == (4, 4)
    assert grapes_line.may_be_disputed is False
    with pytest.raises(ReceiptDisputeRefused) as refused:
        receipt_dispute_open(receipt_line=grapes_line, claimed_quantity=3, note="3", by=None)
    assert refused.value.code == "nothing_to_claim"
    page = _order_page(supplier_client, world)
    rows = {row.receipt_line: row for row in page.context["reconciliation"].rows}
    assert rows[grapes_line].may_dispute is False
    assert rows[_berries_line(world)].may_dispute is True
    html = page.content.decode()
    assert f'action="{_dispute_url(grapes_line)}"' not in html
    response = supplier_client.post(
        _dispute_url(grapes_line), {"claimed_quantity": "3", "note": "3 went out"}
    )
    assert response.status_code == 409
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "The store recorded all 4 units you were to deliver to it: there is nothing to dispute."
    ]
    assert "What you typed (not sent): 3 · 3 went out" in _typed(response)
    assert ReceiptDispute.objects.count() == 0


def _typed(response) -> str:
    """The part of the order page that holds the refused dispute as typed (its open form, or
    what was typed when the line takes no dispute any more)."""
    html = response.content.decode()
    assert html.count('id="dispute-typed"') == 1
    start = html.index('id="dispute-typed"')
    end = min(at for at in (html.find("</details>", start), html.find("</div>", start)) if at != -1)
    return html[html.rindex("<", 0, start) : end]


def test_the_dispute_form_without_a_note_is_refused(supplier_client, world):
    line = _berries_line(world)
    response = supplier_client.post(_dispute_url(line), {"claimed_quantity": "6", "note": ""})
    assert response.status_code == 400
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == ["Why you disagree: A note is required."]
    assert ReceiptDispute.objects.count() == 0
    # The order page again, with the line's form open and the number they typed in it.
    assert response.templates[0].name == "supplier/order_detail.html"
    typed = _typed(response)
    assert typed.startswith('<details class="dispute-form" id="dispute-typed" open>')
    assert f'action="{_dispute_url(line)}"' in typed
    assert 'name="claimed_quantity"' in typed
    assert 'value="6"' in typed
    assert "A note is required." in typed


def test_a_refused_claim_comes_back_in_its_open_form_and_nothing_is_written(supplier_client, world):
    line = _berries_line(world)
    response = supplier_client.post(
        _dispute_url(line),
        {"claimed_quantity": "7", "note": "Seven boxes <on> the delivery note"},
    )
    assert response.status_code == 409
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == ["You can claim from 5 to the 6 units you were to deliver to this store."]
    typed = _typed(response)
    assert typed.startswith('<details class="dispute-form" id="dispute-typed" open>')
    assert f'action="{_dispute_url(line)}"' in typed
    assert 'value="7"' in typed
    assert ">Seven boxes &lt;on&gt; the delivery note</textarea>" in typed
    assert "You can claim from 5 to the 6 units" in typed
    # Only that line's form, open and filled in (the grapes line, received in full, has none).
    html = response.content.decode()
    assert html.count('<details class="dispute-form"') == 1
    assert html.count('value="7"') == 1
    assert ReceiptDispute.objects.count() == 0
    assert not Notification.objects.filter(kind__startswith="receipt_dispute").exists()


def test_another_supplier_gets_a_404_and_a_store_owner_cannot_dispute(client, world):
    line = _berries_line(world)
    body = {"claimed_quantity": "6", "note": "not mine"}
    client.force_login(SupplierUserFactory().user)
    assert client.post(_dispute_url(line), body).status_code == 404
    client.force_login(owner_of(world.store_a))
    assert client.post(_dispute_url(line), body).status_code == 404
    client.logout()
    assert client.post(_dispute_url(line), body).status_code == 302  # to the login page
    assert ReceiptDispute.objects.count() == 0


# --- HQ's answer ------------------------------------------------------------------------------


@pytest.fixture
def hq_buyer(roles):
    user = UserFactory(username="hq-buyer", is_staff=True)
    user.groups.add(Group.objects.get(name=HQ_PROCUREMENT))
    return user


def _admin_action(client, action: str, dispute: ReceiptDispute, answer: str):
    return client.post(
        reverse("admin:procurement_receiptdispute_changelist"),
        {"action": action, "_selected_action": [dispute.pk], "answer": answer},
    )


def test_hq_accepts_a_dispute_in_the_admin_and_the_supplier_is_told(
    client, supplier_client, world, hq_buyer
):
    line = _berries_line(world)
    dispute = receipt_dispute_open(
        receipt_line=line, claimed_quantity=6, note="6 loaded", by=supplier_client.user
    )
    stock_before = list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand"))
    admin_client = client.__class__()
    admin_client.force_login(hq_buyer)
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert 'id="receipt-disputes-open"' in index
    assert "1 supplier dispute of a receipt awaits an answer" in index

    answer = "Accepted: the store will recount; the 2 units are taken off the missing cases."
    response = _admin_action(admin_client, "accept", dispute, answer)
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.status, dispute.answer, dispute.resolved_by) == (
        ReceiptDispute.Status.ACCEPTED,
        answer,
        hq_buyer,
    )
    assert dispute.resolved_at is not None
    note = Notification.objects.get(kind="receipt_dispute_answered")
    assert note.recipient == supplier_client.user
    assert answer in note.body
    # Accepting records the answer only: the receipt and the stock are as they were.
    line.refresh_from_db()
    assert (line.received_quantity, line.short_quantity, line.damaged_quantity) == (2, 2, 2)
    assert list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand")) == stock_before
    assert (
        'id="receipt-disputes-open"'
        not in admin_client.get(reverse("admin:index")).content.decode()
    )
    # The supplier reads the answer on the page; a new dispute may be opened again.
    page = _order_page(supplier_client, world).content.decode()
    assert answer in page
    assert "Accepted" in page
    # A second decision changes nothing.
    with pytest.raises(ReceiptDisputeRefused) as refused:
        receipt_dispute_reject(dispute=dispute, by=hq_buyer, answer="no")
    assert refused.value.code == "not_open"
    assert ReceiptDispute.objects.get().status == ReceiptDispute.Status.ACCEPTED


def test_hq_rejects_with_an_answer_and_not_without(client, world, hq_buyer):
    dispute = receipt_dispute_open(
        receipt_line=_berries_line(world), claimed_quantity=5, note="5 at least", by=None
    )
    client.force_login(hq_buyer)
    _admin_action(client, "reject", dispute, "")
    dispute.refresh_from_db()
    assert dispute.status == ReceiptDispute.Status.OPEN
    with pytest.raises(ReceiptDisputeRefused) as refused:
        receipt_dispute_accept(dispute=dispute, by=hq_buyer, answer=" ")
    assert refused.value.code == "no_answer"

    # An answer the box refuses (a NUL character, more than its length) is named, not
    # "No action selected.", and decides nothing.
    for bad in ("says 4\x00", "x" * (ANSWER_MAX_LENGTH + 1)):
        response = client.post(
            reverse("admin:procurement_receiptdispute_changelist"),
            {"action": "reject", "_selected_action": [dispute.pk], "answer": bad},
            follow=True,
        )
        page = response.content.decode()
        assert "Nothing was changed." in page
        assert "No action selected." not in page
        dispute.refresh_from_db()
        assert dispute.status == ReceiptDispute.Status.OPEN

    _admin_action(client, "reject", dispute, "The store's signed delivery note says 4.")
    dispute.refresh_from_db()
    assert (dispute.status, dispute.answer) == (
        ReceiptDispute.Status.REJECTED,
        "The store's signed delivery note says 4.",
    )
    # Rejected, the line may be disputed again (one OPEN dispute per line).
    again = receipt_dispute_open(
        receipt_line=_berries_line(world), claimed_quantity=6, note="new proof", by=None
    )
    assert again.status == ReceiptDispute.Status.OPEN


def _second_dispute(world: SupplyWorld) -> ReceiptDispute:
    """A dispute of store A's grapes line as it might have been opened before the receipt
    was corrected in the database: the service would refuse it now (received in full)."""
    grapes_line = ReceiptLine.objects.get(
        allocation=world.allocation(world.store_a, world.products[1])
    )
    return ReceiptDispute.objects.create(
        receipt_line=grapes_line,
        supplier=world.supplier,
        recorded_quantity=3,
        claimed_quantity=4,
        note="4 loaded",
    )


def _bulk_answer(client, action: str, disputes: list[ReceiptDispute], answer: str):
    response = client.post(
        reverse("admin:procurement_receiptdispute_changelist"),
        {
            "action": action,
            "_selected_action": [dispute.pk for dispute in disputes],
            "answer": answer,
        },
        follow=True,
    )
    return [message.message for message in response.context["messages"]]


def test_a_bulk_answer_refused_for_every_dispute_shows_only_the_refusals(client, world, hq_buyer):
    dispute = receipt_dispute_open(
        receipt_line=_berries_line(world), claimed_quantity=6, note="6 loaded", by=None
    )
    client.force_login(hq_buyer)
    assert _bulk_answer(client, "accept", [dispute], "Recount ordered.") == ["Accepted 1 dispute."]
    # Answered already: refused, named (purchase order, store, product), and no "Accepted 0
    # disputes." beside the refusal.
    refusal = (
        f"{world.purchase_order.number} · {world.store_a.code} · {world.products[0].name}: "
        "Only a dispute awaiting HQ can be answered; this one is accepted."
    )
    assert str(dispute) in refusal
    assert _bulk_answer(client, "accept", [dispute], "Again.") == [refusal]
    assert _bulk_answer(client, "reject", [dispute], "No.") == [refusal]
    dispute.refresh_from_db()
    assert (dispute.status, dispute.answer) == (ReceiptDispute.Status.ACCEPTED, "Recount ordered.")
    # Some done, some refused: both are said, the refusal naming the dispute it concerns.
    other = _second_dispute(world)
    assert _bulk_answer(client, "reject", [dispute, other], "Signed for 4.") == [
        "Rejected 1 dispute.",
        refusal,
    ]
    other.refresh_from_db()
    assert other.status == ReceiptDispute.Status.REJECTED


def test_the_dispute_admin_list_and_page_open(client, world, hq_buyer):
    dispute = receipt_dispute_open(
        receipt_line=_berries_line(world), claimed_quantity=6, note="6 loaded", by=None
    )
    client.force_login(hq_buyer)
    changelist = client.get(
        reverse("admin:procurement_receiptdispute_changelist"), {"status__exact": "open"}
    )
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == 1
    change = client.get(reverse("admin:procurement_receiptdispute_change", args=[dispute.pk]))
    assert change.status_code == 200
    html = change.content.decode()
    assert "6 loaded" in html
    # The page's title names the dispute by its purchase order, store and product.
    name = f"{world.purchase_order.number} · {world.store_a.code} · {world.products[0].name}"
    assert f"<h2>{name}</h2>" in html


def test_the_received_section_reads_in_chinese(supplier_client, world):
    response = supplier_client.get(
        reverse("supplier:order", args=[world.purchase_order.pk]),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    html = response.content.decode()
    for text in ("收货对账", "收货短缺", "可开票金额", "由您承担的售后", "对此收货提出异议"):
        assert text in html


def test_the_supplier_home_shows_their_quality_score(supplier_client, world):
    """As HQ buyers see it in the admin: delivered today, 4 of 16 units short or damaged
    (100 − 60 × 4/16 = 85.0), receiving's cases not scored as cases, the two charged to the
    supplier listed."""
    type(world.purchase_order).objects.filter(pk=world.purchase_order.pk).update(
        delivery_date=timezone.localdate()
    )
    other = SupplierUserFactory(user=supplier_client.user).supplier  # a second, idle supplier
    response = supplier_client.get(reverse("supplier:home"))
    html = response.content.decode()
    own = html.split(f'id="quality-{world.supplier.pk}"')[1].split("</p>")[0]
    assert "<b>85.0</b>" in own
    assert "2 short and 2 damaged of 16 ordered" in own
    assert "2 after-sales cases charged to you (¥20.00)" in own
    idle = html.split(f'id="quality-{other.pk}"')[1].split("</p>")[0]
    assert "<b>—</b>" in idle


def test_the_supplier_home_names_the_cases_its_score_counts(supplier_client, world):
    """A case a store opens against the supplier lowers the score at once (open cases count,
    rejected ones do not). The line showed only the units and the cases *charged*, so the
    score fell with nothing on the page saying why: it now says how many cases count."""
    type(world.purchase_order).objects.filter(pk=world.purchase_order.pk).update(
        delivery_date=timezone.localdate()
    )
    AfterSalesCaseFactory(store=world.store_a, supplier=world.supplier)
    AfterSalesCaseFactory(
        store=world.store_a,
        supplier=world.supplier,
        status=AfterSalesCase.Status.REJECTED,
        decided_at=timezone.now(),
    )
    html = supplier_client.get(reverse("supplier:home"), HTTP_ACCEPT_LANGUAGE="en")
    own = html.content.decode().split(f'id="quality-{world.supplier.pk}"')[1].split("</p>")[0]
    # 100 − 60 × 4/16 − 40 × 1 case / 2 lines = 65.0
    assert "<b>65.0</b>" in own
    assert "1 after-sales case counted in the score" in own
    chinese = supplier_client.get(reverse("supplier:home"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "1 个售后单计入评分" in chinese.content.decode()


def test_the_order_page_query_count_does_not_grow_with_the_stores_received(supplier_client, world):
    receipt_dispute_open(receipt_line=_berries_line(world), claimed_quantity=6, note="6", by=None)
    with CaptureQueriesContext(connection) as one_store:
        assert _order_page(supplier_client, world).status_code == 200
    berries, grapes = world.products
    receipt_record(
        purchase_order=world.purchase_order,
        store=world.store_b,
        lines={
            world.allocation(world.store_b, berries).pk: (4, 0, 0),
            world.allocation(world.store_b, grapes).pk: (2, 0, 0),
        },
        by=None,
    )
    with CaptureQueriesContext(connection) as two_stores:
        response = _order_page(supplier_client, world)
    assert response.context["reconciliation"].stores_received == 2
    assert len(two_stores.captured_queries) == len(one_store.captured_queries)
