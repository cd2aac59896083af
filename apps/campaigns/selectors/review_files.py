"""A campaign's review report (复盘报告) as XLSX and PDF bytes, for the admin and the portal.

Both files show `campaign_review(campaign=…, sources=…, stores=…)`: with `stores` (an owner's
download) every figure, row, top product and comparison counts those stores only. Headers go through
gettext (Chinese by default); text cells are formula-escaped; the PDF embeds the CJK font
(`linli.fonts.pdf_font`), so Chinese product and store names render.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.campaigns.models import Campaign
from apps.campaigns.selectors.reviews import (
    CampaignReview,
    Figures,
    ReviewSources,
    campaign_review,
)
from apps.stores.models import Store
from linli.fonts import pdf_font
from linli.imports.contract import formula_escape

MONEY_FORMAT = "#,##0.00"  # yuan: thousands separators, always two decimals
RATE_FORMAT = "0.0%"

Value = int | float | Decimal | str | None


@dataclass(frozen=True)
class SummaryFigure:
    """One summary row: this campaign's value and the past campaigns' average, raw (None: not
    available), and what they are ("count", "money", "rate" or "text"), so that pages and the
    PDF show them formatted and the workbook stores numbers as numbers."""

    label: str
    value: Value
    past: Value
    kind: str
    past_kind: str = ""

    def kinds(self) -> tuple[str, str]:
        return self.kind, self.past_kind or self.kind


def review_filename(campaign: Campaign, extension: str, *, store: Store | None = None) -> str:
    """The file's name says what the page says: the campaign's name and first day, and the
    store's code for a store's review, e.g. `复盘报告-夏季水果季-2026-07-01-HZ0001.xlsx`
    (characters a file system refuses become "_")."""
    name = re.sub(r'[\\/:*?"<>|\s]+', "_", campaign.name).strip("_") or str(campaign.pk)
    parts = [pgettext("file name", "Campaign review"), name, f"{campaign.starts_on:%Y-%m-%d}"]
    if store is not None:
        parts.append(store.code)
    return "-".join(parts) + f".{extension}"


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _number(value: float | Decimal | None) -> str:
    """Counts with thousands separators; a past average (a float) to one decimal, so it reads
    "9.7", never "9.66667"."""
    if value is None:
        return "–"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _money(value: Decimal | float | None) -> str:
    """Yuan as people read them: `2,342.10`, never `2342.1`."""
    return "–" if value is None else f"{Decimal(str(value)):,.2f}"


def _shown(value: Value, kind: str) -> str:
    if kind == "money":
        return _money(value)
    if kind == "rate":
        return _percent(value)
    if kind == "text":
        return "–" if value is None else str(value)
    return _number(value)


def review_summary_figures(review: CampaignReview) -> list[SummaryFigure]:
    """The summary's figures, raw, shared by both files and the pages."""
    totals: Figures = review.totals
    past = review.comparison
    funnel = totals.funnel
    return [
        SummaryFigure(_("Exposures"), funnel.exposures, past.exposures, "count"),
        SummaryFigure(_("Clicks"), funnel.clicks, past.clicks, "count"),
        SummaryFigure(_("Order events (tracked)"), funnel.orders, past.order_events, "count"),
        SummaryFigure(
            _("Group-buy chat list orders (not tracked)"), funnel.chat_orders, None, "count"
        ),
        SummaryFigure(_("Members exposed"), funnel.exposure_members, None, "count"),
        SummaryFigure(_("Members who clicked"), funnel.click_members, None, "count"),
        SummaryFigure(_("Members who ordered"), funnel.order_members, None, "count"),
        SummaryFigure(_("Click rate"), funnel.click_rate, None, "rate"),
        SummaryFigure(_("Order rate"), funnel.order_rate, None, "rate"),
        SummaryFigure(
            _("Conversion (exposure → order event)"),
            funnel.conversion_rate,
            past.conversion_rate,
            "rate",
        ),
        SummaryFigure(
            _("Orders (not cancelled or refunded)"), totals.order_count, past.order_count, "count"
        ),
        SummaryFigure(
            _("Joined value at join time, as on the live dashboard (yuan)"),
            totals.joined_value,
            past.joined_value,
            "money",
        ),
        SummaryFigure(
            _("Joined value at threshold (yuan)"), totals.joined_value_reached, None, "money"
        ),
        SummaryFigure(_("Order value (yuan)"), totals.order_value, past.order_value, "money"),
        SummaryFigure(_("Refunded (yuan)"), totals.refunded_value, past.refunded_value, "money"),
        SummaryFigure(_("Sold after refunds (yuan)"), totals.sold_value, past.sold_value, "money"),
        SummaryFigure(_("Units ordered"), totals.units, past.units, "count"),
        SummaryFigure(_("Units short at receiving"), totals.units_short, past.units_short, "count"),
        SummaryFigure(_("Buyers"), totals.buyers, None, "count"),
        SummaryFigure(
            _("Offers at threshold"), f"{totals.offers_reached}/{totals.offers}", None, "text"
        ),
        SummaryFigure(
            _("Formed of settled offers"),
            f"{totals.offers_formed}/{totals.offers_settled} · {_percent(totals.formed_rate)}",
            past.formed_rate,
            "text",
            past_kind="rate",
        ),
        SummaryFigure(_("Members gained"), totals.members_gained, past.members_gained, "count"),
        SummaryFigure(_("Repeat buyers"), totals.repeat_buyers, past.repeat_buyers, "count"),
    ]


def review_summary_rows(review: CampaignReview) -> list[tuple[str, str, str]]:
    """(label, this campaign, past campaigns' average) as text, for the pages and the PDF."""
    rows = []
    for figure in review_summary_figures(review):
        kind, past_kind = figure.kinds()
        rows.append((figure.label, _shown(figure.value, kind), _shown(figure.past, past_kind)))
    return rows


def _xlsx_cell(cell: Any, value: Value, kind: str) -> None:
    """Write a figure as a number with a number format (missing: "–")."""
    if value is None:
        cell.value = "–"
    elif kind == "money":
        cell.value = value
        cell.number_format = MONEY_FORMAT
    elif kind == "rate":
        # Stored to the shown precision (66.7% is 0.667), formatted as a percentage.
        cell.value = round(value, 3)
        cell.number_format = RATE_FORMAT
    else:
        cell.value = value


def _store_header() -> list[str]:
    return [
        _("Store code"),
        _("Store"),
        _("Exposures"),
        _("Clicks"),
        _("Order events (tracked)"),
        _("Conversion (exposure → order event)"),
        _("Orders (not cancelled or refunded)"),
        _("Joined value at join time, as on the live dashboard (yuan)"),
        _("Units ordered"),
        _("Buyers"),
        _("Formed of settled offers"),
        _("Members gained"),
        _("Repeat buyers"),
        _("Joined value at threshold (yuan)"),
        _("Offers at threshold"),
        _("Group-buy chat list orders (not tracked)"),
        _("Units short at receiving"),
        _("Refunded (yuan)"),
        _("Sold after refunds (yuan)"),
    ]


def _review(
    campaign: Campaign, stores: Iterable[Store] | None, sources: ReviewSources
) -> CampaignReview:
    return campaign_review(campaign=campaign, stores=stores, sources=sources)


def campaign_review_xlsx(
    *, campaign: Campaign, sources: ReviewSources, stores: Iterable[Store] | None = None
) -> bytes:
    """The review as an XLSX workbook: a summary sheet (with the template's past average), a
    sheet per store row and the top products. Numbers are numbers, not text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    review = _review(campaign, stores, sources)
    bold = Font(bold=True)
    workbook = Workbook()
    summary = workbook.active
    summary.title = _("Summary")[:31]
    summary.append([_("Campaign"), formula_escape(campaign.name)])
    summary.append([_("Period"), f"{campaign.starts_on:%Y-%m-%d} – {campaign.ends_on:%Y-%m-%d}"])
    summary.append([_("Number of stores"), len(review.stores)])
    summary.append([_("Past campaigns of the template compared"), len(review.comparison.campaigns)])
    summary.append([])
    summary.append([_("Figure"), _("This campaign"), _("Past average")])
    for cell in summary[summary.max_row]:
        cell.font = bold
    for figure in review_summary_figures(review):
        summary.append([figure.label])
        kind, past_kind = figure.kinds()
        _xlsx_cell(summary.cell(row=summary.max_row, column=2), figure.value, kind)
        _xlsx_cell(summary.cell(row=summary.max_row, column=3), figure.past, past_kind)
    summary.column_dimensions["A"].width = 32
    summary.column_dimensions["B"].width = 24
    summary.column_dimensions["C"].width = 16

    per_store = workbook.create_sheet(_("Stores")[:31])
    per_store.append(_store_header())
    for cell in per_store[1]:
        cell.font = bold
    kinds = [
        "text", "text", "count", "count", "count", "rate", "count",
        "money", "count", "count", "rate", "count", "count", "money", "text",
        "count", "count", "money", "money",
    ]  # fmt: skip
    for row in review.stores:
        figures = row.figures
        values: list[Value] = [
            formula_escape(row.store_code),
            formula_escape(row.store_name),
            figures.funnel.exposures,
            figures.funnel.clicks,
            figures.funnel.orders,
            figures.funnel.conversion_rate,
            figures.order_count,
            figures.joined_value,
            figures.units,
            figures.buyers,
            figures.formed_rate,
            figures.members_gained,
            figures.repeat_buyers,
            figures.joined_value_reached,
            f"{figures.offers_reached}/{figures.offers}",
            figures.funnel.chat_orders,
            figures.units_short,
            figures.refunded_value,
            figures.sold_value,
        ]
        line = per_store.max_row + 1
        for column, (value, kind) in enumerate(zip(values, kinds, strict=True), start=1):
            _xlsx_cell(per_store.cell(row=line, column=column), value, kind)

    products = workbook.create_sheet(_("Top products")[:31])
    products.append(
        [
            "#",
            _("SKU"),
            _("Product"),
            _("Units joined"),
            _("Joined value at join time, as on the live dashboard (yuan)"),
        ]
    )
    for cell in products[1]:
        cell.font = bold
    for rank, product in enumerate(review.top_products, start=1):
        products.append(
            [
                rank,
                formula_escape(product.sku),
                formula_escape(product.name),
                product.units,
                product.joined_value,
            ]
        )
        products.cell(row=products.max_row, column=5).number_format = MONEY_FORMAT
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _bar_chart(
    *, title: str, labels: list[str], values: list[float], texts: list[str], font: str
) -> object:
    """A ReportLab Drawing: a horizontal bar per label, its value's text at the bar's end."""
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib import colors

    row_height, label_width, bar_width = 18, 150, 300
    height = row_height * len(labels) + 24
    drawing = Drawing(label_width + bar_width + 60, height)
    drawing.add(String(0, height - 12, title, fontName=font, fontSize=11))
    top = max(values) if values and max(values) > 0 else 1
    for position, (label, value, text) in enumerate(zip(labels, values, texts, strict=True)):
        y = height - 24 - row_height * (position + 1) + 4
        drawing.add(String(0, y + 3, label[:18], fontName=font, fontSize=9))
        width = bar_width * (value / top)
        drawing.add(
            Rect(
                label_width,
                y,
                max(width, 0.5),
                row_height - 6,
                fillColor=colors.HexColor("#2f7d4f"),
                strokeColor=None,
            )
        )
        drawing.add(String(label_width + width + 4, y + 3, text, fontName=font, fontSize=9))
    return drawing


def campaign_review_pdf(
    *, campaign: Campaign, sources: ReviewSources, stores: Iterable[Store] | None = None
) -> bytes:
    """The review as a PDF (A4): the summary table with the past average, bar charts of the
    funnel and of the stores' joined value, per-store and top-product tables. Chinese rendered with
    the CJK font."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    review = _review(campaign, stores, sources)
    font = pdf_font()
    title_style = ParagraphStyle("title", fontName=font, fontSize=16, leading=22)
    text_style = ParagraphStyle("text", fontName=font, fontSize=10, leading=14)
    heading_style = ParagraphStyle("heading", fontName=font, fontSize=12, leading=18)
    table_style = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8f2ec")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
    )

    def escape(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    story: list[object] = [
        Paragraph(escape(f"{_('Campaign review')}: {campaign.name}"), title_style),
        Paragraph(
            escape(
                f"{campaign.starts_on:%Y-%m-%d} – {campaign.ends_on:%Y-%m-%d} · "
                f"{_('Number of stores')}: {len(review.stores)} · "
                f"{_('Past campaigns of the template compared')}: "
                f"{len(review.comparison.campaigns)}"
            ),
            text_style,
        ),
        Spacer(1, 4 * mm),
    ]
    summary = [[_("Figure"), _("This campaign"), _("Past average")]]
    summary += [list(row) for row in review_summary_rows(review)]
    story += [Table(summary, style=table_style, hAlign="LEFT"), Spacer(1, 6 * mm)]
    funnel = review.totals.funnel
    story.append(
        _bar_chart(
            title=_("Funnel"),
            labels=[
                _("Exposures"),
                _("Clicks"),
                _("Order events (tracked)"),
                _("Group-buy chat list orders"),
            ],
            values=[funnel.exposures, funnel.clicks, funnel.orders, funnel.chat_orders],
            texts=[
                _number(count)
                for count in (funnel.exposures, funnel.clicks, funnel.orders, funnel.chat_orders)
            ],
            font=font,
        )
    )
    story.append(Spacer(1, 6 * mm))
    if review.stores:
        story.append(
            _bar_chart(
                title=_("Joined value by store (yuan)"),
                labels=[row.store_name for row in review.stores],
                values=[float(row.figures.joined_value) for row in review.stores],
                texts=[_money(row.figures.joined_value) for row in review.stores],
                font=font,
            )
        )
        story.append(Spacer(1, 6 * mm))
        story.append(Paragraph(escape(_("Stores")), heading_style))
        header = _store_header()
        rows = [header[1:2] + header[2:5] + header[6:8] + header[10:13]]
        for row in review.stores:
            figures = row.figures
            rows.append(
                [
                    row.store_name,
                    figures.funnel.exposures,
                    figures.funnel.clicks,
                    figures.funnel.orders,
                    figures.order_count,
                    _money(figures.joined_value),
                    _percent(figures.formed_rate),
                    figures.members_gained,
                    figures.repeat_buyers,
                ]
            )
        story += [Table(rows, style=table_style, hAlign="LEFT", repeatRows=1), Spacer(1, 6 * mm)]
    story.append(Paragraph(escape(_("Top products")), heading_style))
    products = [
        [
            "#",
            _("SKU"),
            _("Product"),
            _("Units joined"),
            _("Joined value at join time, as on the live dashboard (yuan)"),
        ]
    ]
    products += [
        [rank, product.sku, product.name, product.units, _money(product.joined_value)]
        for rank, product in enumerate(review.top_products, start=1)
    ]
    if not review.top_products:
        products.append(["", "", _("No orders."), "", ""])
    story.append(Table(products, style=table_style, hAlign="LEFT", repeatRows=1))
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"{_('Campaign review')}: {campaign.name}",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    document.build(story)
    return out.getvalue()
