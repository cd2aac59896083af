from __future__ import annotations

import io
import re

import pytest
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from apps.campaigns.selectors.review_files import campaign_review_pdf, campaign_review_xlsx
from apps.campaigns.sources import review_sources
from tests.campaigns.test_reviews import planted  # noqa: F401 - the shared planted data

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_xlsx_opens_and_holds_the_review_figures(planted, store, other_store):  # noqa: F811
    with translation.override("en"):
        data = campaign_review_xlsx(sources=review_sources(), campaign=planted["campaign"])
    workbook = load_workbook(io.BytesIO(data))
    summary, stores, products = workbook.worksheets
    assert summary["B1"].value == "夏季水果季 七月"
    figures = {row[0].value: row[1] for row in summary.iter_rows(min_row=7)}
    # Numbers are stored as numbers, money shown with two decimals and rates as percentages.
    joined = "Joined value at join time, as on the live dashboard (yuan)"
    assert figures[joined].value == 199
    assert figures[joined].number_format == "#,##0.00"
    assert figures["Offers at threshold"].value == "2/4"
    assert "GMV (yuan)" not in figures
    assert figures["Exposures"].value == 8
    assert figures["Conversion (exposure → order event)"].data_type == "n"
    assert figures["Conversion (exposure → order event)"].number_format == "0.0%"
    rows = {row[0].value: row for row in stores.iter_rows(min_row=2)}
    assert set(rows) == {store.code, other_store.code}
    assert stores["H1"].value == joined
    assert rows[store.code][7].value == 99.5  # 39.80 + 59.70
    assert rows[store.code][7].number_format == "#,##0.00"
    assert [row[1:] for row in products.iter_rows(min_row=2, values_only=True)] == [
        ("FRU-0001", "云南蓝莓", 10, 199),
    ]
    assert [row[4].number_format for row in products.iter_rows(min_row=2)] == ["#,##0.00"]


def test_xlsx_for_one_store_holds_only_that_store(planted, store, other_store):  # noqa: F811
    data = campaign_review_xlsx(
        sources=review_sources(), campaign=planted["campaign"], stores=[store]
    )
    stores = load_workbook(io.BytesIO(data)).worksheets[1]
    assert [row[0] for row in stores.iter_rows(min_row=2, values_only=True)] == [store.code]
    assert other_store.name not in str(list(stores.iter_rows(values_only=True)))


def test_pdf_text_holds_campaign_and_product_names(planted):  # noqa: F811
    with translation.override("en"):
        data = campaign_review_pdf(sources=review_sources(), campaign=planted["campaign"])
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "夏季水果季 七月" in text
    assert "云南蓝莓" in text
    assert "Campaign review" in text


def test_pdf_for_one_store_names_only_that_store(planted, store, other_store):  # noqa: F811
    text = pdf_text(
        campaign_review_pdf(sources=review_sources(), campaign=planted["campaign"], stores=[store])
    )
    assert store.name in text
    assert other_store.name not in text


def test_pdf_prints_money_with_two_decimals(planted, store):  # noqa: F811
    with translation.override("en"):
        text = pdf_text(campaign_review_pdf(sources=review_sources(), campaign=planted["campaign"]))

    # The stores' joined value chart and table (99.50 at each store), the summary and the top
    # products (199.00 yuan).
    assert text.count("99.50") == 4
    assert "199.00" in text
    assert re.search(r"99\.5(?!0)", text) is None
    assert "Joined value by store (yuan)" in text
    assert "GMV" not in text


def test_past_averages_and_counts_read_as_people_write_them():
    from apps.campaigns.selectors.review_files import _number

    assert _number(29 / 3) == "9.7"  # a past campaigns' average, not "9.66667"
    assert _number(12.0) == "12"
    assert _number(12345) == "12,345"
    assert _number(None) == "–"
