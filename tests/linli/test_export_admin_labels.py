"""The admin's export pages name each column's checkbox in the page's language, with the CSV
column code it stands for; the exported CSV keeps the codes as its header."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import translation

from linli.imports.admin import ExportAdminMixin
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

EXPORT_ADMINS = sorted(
    (model._meta.app_label, model._meta.model_name)
    for model, model_admin in admin.site._registry.items()
    if isinstance(model_admin, ExportAdminMixin)
)


def _checkbox_labels(html: str) -> dict[str, str]:
    """{checkbox name: its label's text} of the export form's column checkboxes."""
    return dict(re.findall(r'<label for="id_(\w+resource_\w+)">([^<]*)</label>', html))


def test_every_export_page_is_walked():
    assert len(EXPORT_ADMINS) == 10


@pytest.mark.parametrize(("app_label", "model_name"), EXPORT_ADMINS)
def test_export_checkboxes_read_the_translated_column_and_its_code(
    admin_client, app_label, model_name
):
    html = admin_client.get(reverse(f"admin:{app_label}_{model_name}_export")).content.decode()
    labels = _checkbox_labels(html)
    assert labels, html
    # Chinese words with the column's code, or the code's own word where Chinese uses it too.
    unexpected = [
        label
        for label in labels.values()
        if label != "SKU" and not re.fullmatch(r"[^A-Za-z]*[\u4e00-\u9fff].*（[a-z_]+）", label)
    ]
    assert unexpected == []
    assert "全选" in html
    assert "Select all" not in html


def test_stock_export_labels_name_the_columns_and_the_csv_keeps_its_codes(admin_client):
    url = reverse("admin:stores_stocklevel_export")
    labels = _checkbox_labels(admin_client.get(url).content.decode())
    assert labels == {
        "stocklevelresource_store_code": "门店编码（store_code）",
        "stocklevelresource_sku": "SKU",
        "stocklevelresource_on_hand": "现有库存（on_hand）",
        "stocklevelresource_note": "备注（note）",
    }
    english = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _checkbox_labels(english)["stocklevelresource_on_hand"] == "on hand (on_hand)"

    data = {"format": "0", "resource": "0", **dict.fromkeys(labels, "on")}
    with translation.override("zh-hans"):
        exported = admin_client.post(url, data).content.decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(exported))) == ["store_code", "sku", "on_hand", "note"]


def test_an_export_with_no_column_ticked_is_refused_in_chinese(admin_client):
    response = admin_client.post(
        reverse("admin:procurement_supplier_export"), {"format": "0", "resource": "0"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Select at least 1 field" not in html
    assert "请至少为“供应商”选择 1 个要导出的字段" in html


def test_member_export_and_list_call_a_members_name_by_the_word_for_a_person(admin_client):
    """A member's name is 姓名, the word for a person's name, not 名称 (a thing's: a store's,
    a product's), on the export page and as the member list's column."""
    MemberFactory()
    export = admin_client.get(reverse("admin:customers_member_export")).content.decode()
    changelist = admin_client.get(reverse("admin:customers_member_changelist")).content.decode()

    assert _checkbox_labels(export)["memberresource_name"] == "姓名（name）"
    headers = re.findall(r'<th scope="col"[^>]*>.*?</th>', changelist, re.S)
    assert [h for h in headers if "column-name" in h and ">姓名<" in h]
    assert not [h for h in headers if ">名称<" in h]
