"""A purchase order as the files suppliers download: CSV (UTF-8 with BOM, so Excel opens the
Chinese), XLSX and PDF (the CJK font of `linli.fonts` embedded), and the per-store pick lists
(CSV, PDF with one page per store). Headers in the current language; text cells a spreadsheet
would run as formulas are escaped. Pure renderings of `purchase_order_sheet` and
`purchase_order_pick_lists`: callers check access first."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.procurement.selectors.purchase_orders import OrderSheet, PickList
from apps.procurement.selectors.reconciliation import Reconciliation
from linli.imports.contract import formula_escape
from linli.wording import labelled

BOM = "\ufeff"


def _order_header() -> list[str]:
    return [
        _("SKU"),
        _("Product"),
        _("Unit"),
        _("Demanded"),
        _("Ordered"),
        _("Rounding surplus"),
        _("Pack size"),
        _("Minimum order"),
        _("Unit cost (yuan)"),
        _("Amount (yuan)"),
        _("Short"),
        _("Short amount (yuan)"),
        _("To deliver"),
        _("Amount to deliver (yuan)"),
    ]


def _order_rows(sheet: OrderSheet) -> list[list[object]]:
    return [
        [
            line.product.sku,
            line.product.name,
            line.product.get_unit_display(),
            line.demanded_quantity,
            line.ordered_quantity,
            line.surplus_quantity,
            line.pack_size,
            line.min_order_qty,
            line.unit_cost,
            line.amount,
            line.shortage_quantity,
            line.short_amount,
            line.to_deliver_quantity,
            line.to_deliver_amount,
        ]
        for line in sheet.lines
    ]


def _order_total(sheet: OrderSheet) -> list[object]:
    """The total row under `_order_header`: quantities and money, blank where a sum means
    nothing (pack size, minimum order, unit cost)."""
    return [
        "",
        _("Total"),
        "",
        sheet.demanded,
        sheet.ordered,
        sheet.surplus,
        "",
        "",
        "",
        sheet.amount,
        sheet.short,
        sheet.short_amount,
        sheet.to_deliver,
        sheet.to_deliver_amount,
    ]


def _order_preamble(sheet: OrderSheet) -> list[list[object]]:
    po = sheet.purchase_order
    return [
        [_("Purchase order"), po.number],
        [_("Supplier"), po.supplier.name],
        [_("Delivery date"), po.delivery_date.isoformat()],
        [_("Status"), str(po.get_status_display())],
        [_("Ship date"), po.ship_date.isoformat() if po.ship_date else ""],
    ]


def _received_header() -> list[str]:
    return [
        _("SKU"),
        _("Product"),
        _("Store code"),
        _("Store"),
        _("Allocated"),
        _("For the shelf"),
        pgettext("quantity", "Received"),
        _("Short at receiving"),
        _("Damaged"),
        _("Received at"),
        _("Unit cost (yuan)"),
        _("Amount to invoice (yuan)"),
    ]


def _received_rows(reconciliation: Reconciliation) -> list[list[object]]:
    """One row per line and store that has received (stores still to receive are left out:
    the block is what was received), then the total row."""
    rows: list[list[object]] = []
    for received_line in reconciliation.lines:
        line = received_line.line
        for row in received_line.rows:
            if not row.received:
                continue
            rows.append(
                [
                    line.product.sku,
                    line.product.name,
                    row.allocation.store.code,
                    row.allocation.store.name,
                    row.allocated,
                    row.shelf,
                    row.received_quantity,
                    row.short_quantity,
                    row.damaged_quantity,
                    timezone.localtime(row.received_at).strftime("%Y-%m-%d %H:%M"),
                    line.unit_cost,
                    row.invoice_amount,
                ]
            )
    rows.append(
        [
            "",
            _("Total"),
            "",
            "",
            reconciliation.allocated,
            reconciliation.shelf,
            reconciliation.received_quantity,
            reconciliation.short_quantity,
            reconciliation.damaged_quantity,
            "",
            "",
            reconciliation.invoice_amount,
        ]
    )
    return rows


def _charges_header() -> list[str]:
    return [
        _("Case"),
        _("Store code"),
        _("Product"),
        _("Kind"),
        _("Units"),
        _("Amount (yuan)"),
        _("Status"),
    ]


def _charges_rows(reconciliation: Reconciliation) -> list[list[object]]:
    """The after-sales cases charged to the supplier on the order (no member data), then the
    total."""
    rows: list[list[object]] = [
        [
            case.number,
            case.store.code,
            case.order_line.product.name if case.order_line else "",
            str(case.get_kind_display()),
            case.quantity,
            case.amount,
            str(case.get_status_display()),
        ]
        for case in reconciliation.charges
    ]
    rows.append(["", _("Total"), "", "", "", reconciliation.charged_amount, ""])
    return rows


def _received_block(reconciliation: Reconciliation | None) -> list[list[object]]:
    """The reconciliation under the order's lines, after a blank row: what the stores
    received, then the after-sales charged to the supplier. Nothing before any receipt."""
    if reconciliation is None:
        return []
    return [
        [],
        [_("Received at the stores")],
        _received_header(),
        *_received_rows(reconciliation),
        [],
        [_("After-sales charged to the supplier")],
        _charges_header(),
        *_charges_rows(reconciliation),
    ]


def _csv_bytes(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([formula_escape(str(cell)) for cell in row])
    return (BOM + out.getvalue()).encode("utf-8")


def purchase_order_csv(*, sheet: OrderSheet, reconciliation: Reconciliation | None = None) -> bytes:
    """The order's header rows, a blank row, then one row per line and a total row; once a
    store has received, the received block (`_received_block`) below."""
    return _csv_bytes(
        [
            *_order_preamble(sheet),
            [],
            _order_header(),
            *_order_rows(sheet),
            _order_total(sheet),
            *_received_block(reconciliation),
        ]
    )


def purchase_order_xlsx(
    *, sheet: OrderSheet, reconciliation: Reconciliation | None = None
) -> bytes:
    """One sheet: the order's header rows, then the lines (numbers as numbers); once a store
    has received, a second sheet "Received" with the received block (`_received_block`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet.purchase_order.number[:31]
    for row in _order_preamble(sheet):
        worksheet.append([formula_escape(cell) for cell in row])
    worksheet.append([])
    worksheet.append(_order_header())
    for cell in worksheet[worksheet.max_row]:
        cell.font = Font(bold=True)
    for row in [*_order_rows(sheet), _order_total(sheet)]:
        worksheet.append(
            [float(cell) if isinstance(cell, Decimal) else formula_escape(cell) for cell in row]
        )
    worksheet.column_dimensions["B"].width = 28
    if reconciliation is not None:
        received = workbook.create_sheet(_("Received")[:31])
        for row in _received_block(reconciliation)[1:]:
            received.append(
                [float(cell) if isinstance(cell, Decimal) else formula_escape(cell) for cell in row]
            )
        received.column_dimensions["B"].width = 28
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _pdf_document(out: io.BytesIO, title: str, *, landscape: bool = False) -> object:
    from reportlab.lib import pagesizes
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    return SimpleDocTemplate(
        out,
        pagesize=pagesizes.landscape(pagesizes.A4) if landscape else pagesizes.A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=title,
    )


def _pdf_styles() -> tuple[object, object, str]:
    from reportlab.lib.styles import ParagraphStyle

    from linli.fonts import pdf_font

    font = pdf_font()
    heading = ParagraphStyle("heading", fontName=font, fontSize=15, leading=20, spaceAfter=6)
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13)
    return heading, body, font


def _pdf_table(rows: list[list[object]], font: str, *, widths: list[float]) -> object:
    """A table whose cells wrap inside their column: a header or a name wider than its
    column ran into the next one, or past the page's edge, as one line."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, Table, TableStyle

    cell = ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=10.5)
    table = Table(
        [[Paragraph(_escaped(str(value)), cell) for value in row] for row in rows],
        colWidths=widths,
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f5ee")),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9ca3af")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def purchase_order_pdf(*, sheet: OrderSheet, reconciliation: Reconciliation | None = None) -> bytes:
    """A landscape A4 document: title, the order's header, the lines table with totals: the
    ordered amount, the shortage (units and value) and what is left to deliver and invoice;
    once a store has received, the received table and the after-sales charged to the
    supplier."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    heading, body, font = _pdf_styles()
    po = sheet.purchase_order
    out = io.BytesIO()
    document = _pdf_document(out, po.number, landscape=True)
    header = [
        _("SKU"),
        _("Product"),
        _("Unit"),
        _("Demanded"),
        _("Ordered"),
        _("Surplus"),
        _("Unit cost"),
        _("Amount"),
        _("Short"),
        _("Short amount"),
        _("To deliver"),
        _("Amount to deliver"),
    ]
    rows = [
        [
            line.product.sku,
            line.product.name,
            line.product.get_unit_display(),
            line.demanded_quantity,
            line.ordered_quantity,
            line.surplus_quantity,
            line.unit_cost,
            line.amount,
            line.shortage_quantity or "",
            line.short_amount if line.shortage_quantity else "",
            line.to_deliver_quantity,
            line.to_deliver_amount,
        ]
        for line in sheet.lines
    ]
    rows.append(
        [
            "",
            _("Total"),
            "",
            sheet.demanded,
            sheet.ordered,
            sheet.surplus,
            "",
            sheet.amount,
            sheet.short or "",
            sheet.short_amount if sheet.short else "",
            sheet.to_deliver,
            sheet.to_deliver_amount,
        ]
    )
    title = _("Purchase order")
    story = [Paragraph(_escaped(f"{title} {po.number}"), heading)]
    story.extend(
        Paragraph(_escaped(labelled(label, value)), body)
        for label, value in _order_preamble(sheet)[1:]
    )
    story.append(Spacer(1, 4 * mm))
    # Landscape A4 (273 mm between the margins). The SKU column fits the catalogue's longest
    # codes ("HEALTH-LOWSUGAR-012": 33 mm at 8.5 pt plus the cell's padding), the names'
    # longest (38 mm) fit the product column; each header fits its column whole, or wraps
    # between words (cells wrap, `_pdf_table`).
    widths = [x * mm for x in (38, 48, 12, 17, 16, 16, 18, 22, 14, 22, 18, 26)]
    story.append(_pdf_table([header, *rows], font, widths=widths))
    if reconciliation is not None:
        story.append(Spacer(1, 6 * mm))
        story.append(Paragraph(_escaped(_("Received at the stores")), heading))
        # 273 mm again: the longest SKU, name and store name on one line, each header whole
        # in English and Chinese ("Allocated", "Damaged", 可开票金额（元）) or wrapped
        # between words ("Short at receiving").
        received_widths = [x * mm for x in (36, 45, 15, 28, 15, 15, 15, 15, 16, 28, 18, 27)]
        story.append(
            _pdf_table(
                [_received_header(), *_received_rows(reconciliation)],
                font,
                widths=received_widths,
            )
        )
        story.append(Spacer(1, 6 * mm))
        story.append(Paragraph(_escaped(_("After-sales charged to the supplier")), heading))
        charges_widths = [x * mm for x in (42, 22, 60, 40, 18, 28, 30)]
        story.append(
            _pdf_table(
                [_charges_header(), *_charges_rows(reconciliation)], font, widths=charges_widths
            )
        )
    document.build(story)
    return out.getvalue()


def _pick_header() -> list[str]:
    return [
        _("Store code"),
        _("Store"),
        _("SKU"),
        _("Product"),
        _("Unit"),
        _("Quantity"),
        _("For member orders"),
        _("For the shelf (rounding surplus)"),
    ]


def pick_lists_csv(*, sheet: OrderSheet, pick_lists: list[PickList]) -> bytes:
    """Every store's pick list in one CSV, one row per store and product, stores in order:
    the quantity to pack, then the part of it for member orders and the part for the store's
    shelf (its share of the rounding surplus)."""
    po = sheet.purchase_order
    rows: list[list[object]] = [
        [_("Purchase order"), po.number],
        [_("Delivery date"), po.delivery_date.isoformat()],
        [],
        _pick_header(),
    ]
    for pick in pick_lists:
        rows.extend(
            [
                pick.store_code,
                pick.store_name,
                row.sku,
                row.name,
                row.unit,
                row.quantity,
                row.for_orders,
                row.shelf,
            ]
            for row in pick.rows
        )
    return _csv_bytes(rows)


def pick_lists_pdf(*, sheet: OrderSheet, pick_lists: list[PickList]) -> bytes:
    """One A4 page (or more) per store: the store, its address and what to pack for it."""
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, Spacer

    heading, body, font = _pdf_styles()
    po = sheet.purchase_order
    out = io.BytesIO()
    labels = {
        "pick_lists": _("Pick lists"),
        "pick_list": _("Pick list"),
        "purchase_order": _("Purchase order"),
        "supplier": _("Supplier"),
        "delivery_date": _("Delivery date"),
        "address": _("Address"),
    }
    document = _pdf_document(out, f"{po.number} {labels['pick_lists']}")
    story: list[object] = []
    for index, pick in enumerate(pick_lists):
        if index:
            story.append(PageBreak())
        story.append(
            Paragraph(
                _escaped(f"{labels['pick_list']} · {pick.store_code} {pick.store_name}"), heading
            )
        )
        story.append(Paragraph(_escaped(labelled(labels["purchase_order"], po.number)), body))
        story.append(Paragraph(_escaped(labelled(labels["supplier"], po.supplier.name)), body))
        story.append(
            Paragraph(
                _escaped(labelled(labels["delivery_date"], po.delivery_date.isoformat())), body
            )
        )
        if pick.store_address:
            story.append(Paragraph(_escaped(labelled(labels["address"], pick.store_address)), body))
        story.append(Spacer(1, 4 * mm))
        rows = [[row.sku, row.name, row.unit, row.quantity, row.shelf or ""] for row in pick.rows]
        rows.append(["", _("Total"), "", pick.total, pick.shelf or ""])
        header = [_("SKU"), _("Product"), _("Unit"), _("Quantity"), _("Of which for the shelf")]
        widths = [x * mm for x in (38, 72, 16, 20, 40)]
        story.append(_pdf_table([header, *rows], font, widths=widths))
    if not story:
        story.append(Paragraph(_escaped(_("Nothing to pick.")), body))
    document.build(story)
    return out.getvalue()
