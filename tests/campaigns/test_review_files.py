from __future__ import annotations

import io

import pytest
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from apps.campaigns.selectors.review_files import campaign_review_pdf, campaign_review_xlsx
from tests.campaigns.test_reviews import planted  # noqa: F401 - the shared planted data

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_xlsx_opens_and_holds_the_review_figures(planted, store, other_store):  # noqa: F811
    with translation.override("en"):
        data = campaign_review_xlsx(campaign=planted["campaign"])
    workbook = load_workbook(io.BytesIO(data))
    summary, stores, products = workbook.worksheets
    assert summary["B1"].value == "夏季水果季 七月"
    figures = {row[0]: row[1] for row in summary.iter_rows(min_row=7, values_only=True)}
    assert figures["GMV (yuan)"] == "244.90"
    assert figures["Exposures"] == "8"
    rows = {row[0]: row for row in stores.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {store.code, other_store.code}
    assert rows[store.code][7] == 145.4  # 39.80 + 59.70 + 45.90
    assert [row[1:] for row in products.iter_rows(min_row=2, values_only=True)] == [
        ("FRU-0001", "云南蓝莓", 11, 218.9),
        ("DAI-0002", "鲜牛奶", 4, 26),
    ]


def test_xlsx_for_one_store_holds_only_that_store(planted, store, other_store):  # noqa: F811
    data = campaign_review_xlsx(campaign=planted["campaign"], stores=[store])
    stores = load_workbook(io.BytesIO(data)).worksheets[1]
    assert [row[0] for row in stores.iter_rows(min_row=2, values_only=True)] == [store.code]
    assert other_store.name not in str(list(stores.iter_rows(values_only=True)))


def test_pdf_text_holds_campaign_and_product_names(planted):  # noqa: F811
    with translation.override("en"):
        data = campaign_review_pdf(campaign=planted["campaign"])
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "夏季水果季 七月" in text
    assert "云南蓝莓" in text
    assert "Campaign review" in text


def test_pdf_for_one_store_names_only_that_store(planted, store, other_store):  # noqa: F811
    text = pdf_text(campaign_review_pdf(campaign=planted["campaign"], stores=[store]))
    assert store.name in text
    assert other_store.name not in text
