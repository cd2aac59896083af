"""Admin change pages whose inlines list many rows cost the same queries for 2 rows or 6.

Each case builds the object with 2 inline rows, reads its change page, adds 4 rows and reads
it again: the query count must not move. Before these pages select_related what each row's
title, raw-id label and autocomplete choice name (and asked "is this checklist in use?"
once), every row cost one to three queries more (the 200-store demo's supplier page: 50
queries for 14 products).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.customers.models import MemberTag, TagCategoryRule, TagKeyword
from apps.stores.models import StoreStaff
from tests.campaigns.factories import CampaignFactory, CampaignProductFactory, StoreCampaignFactory
from tests.factories import (
    CategoryFactory,
    MemberFactory,
    StoreFactory,
    SupplierFactory,
    SupplierProductFactory,
    TagFactory,
    UserFactory,
)
from tests.procurement.factories import PurchaseOrderAllocationFactory, PurchaseOrderLineFactory
from tests.procurement.factories_supply import ReceiptLineFactory
from tests.stores.test_inspections_support import (
    ChecklistItemFactory,
    active_checklist,
    submitted_inspection,
)
from tests.training.factories import PathCourseFactory, TrainingPathFactory

pytestmark = pytest.mark.django_db


def _supplier() -> tuple[object, Callable[[int], None]]:
    supplier = SupplierFactory()

    def grow(rows: int) -> None:
        SupplierProductFactory.create_batch(rows, supplier=supplier)

    return supplier, grow


def _checklist() -> tuple[object, Callable[[int], None]]:
    """A checklist that an inspection uses: its items show read-only."""
    template = active_checklist(weights=(1,))
    submitted_inspection(scores=[5])

    def grow(rows: int) -> None:
        ChecklistItemFactory.create_batch(rows, template=template)

    return template, grow


def _tag() -> tuple[object, Callable[[int], None]]:
    tag = TagFactory()

    def grow(rows: int) -> None:
        for _row in range(rows):
            TagKeyword.objects.create(tag=tag, keyword=f"词{TagKeyword.objects.count()}")
            TagCategoryRule.objects.create(tag=tag, category=CategoryFactory(), min_purchases=2)

    return tag, grow


def _training_path() -> tuple[object, Callable[[int], None]]:
    training_path = TrainingPathFactory()

    def grow(rows: int) -> None:
        PathCourseFactory.create_batch(rows, path=training_path)

    return training_path, grow


def _campaign() -> tuple[object, Callable[[int], None]]:
    campaign = CampaignFactory()

    def grow(rows: int) -> None:
        CampaignProductFactory.create_batch(rows, campaign=campaign)
        StoreCampaignFactory.create_batch(rows, campaign=campaign)

    return campaign, grow


def _purchase_order_line() -> tuple[object, Callable[[int], None]]:
    line = PurchaseOrderLineFactory()

    def grow(rows: int) -> None:
        PurchaseOrderAllocationFactory.create_batch(rows, line=line)

    return line, grow


def _store() -> tuple[object, Callable[[int], None]]:
    store = StoreFactory()

    def grow(rows: int) -> None:
        for user in UserFactory.create_batch(rows):
            StoreStaff.objects.create(user=user, store=store, role=StoreStaff.Role.INSPECTOR)

    return store, grow


def _member() -> tuple[object, Callable[[int], None]]:
    member = MemberFactory()

    def grow(rows: int) -> None:
        for tag in TagFactory.create_batch(rows):
            MemberTag.objects.create(member=member, tag=tag, source="manual")

    return member, grow


def _receipt() -> tuple[object, Callable[[int], None]]:
    receipt = ReceiptLineFactory().receipt

    def grow(rows: int) -> None:
        for _row in range(rows):
            line = PurchaseOrderLineFactory(purchase_order=receipt.purchase_order)
            allocation = PurchaseOrderAllocationFactory(line=line, store=receipt.store)
            ReceiptLineFactory(receipt=receipt, allocation=allocation)

    return receipt, grow


PAGES = {
    "supplier (its products)": _supplier,
    "checklist (its items)": _checklist,
    "tag (its keywords and category rules)": _tag,
    "campaign (its products and stores)": _campaign,
    "purchase-order line (its stores)": _purchase_order_line,
    "training path (its courses)": _training_path,
    "store (its staff)": _store,
    "member (its tags)": _member,
    "receipt (its lines)": _receipt,
}


def _change_url(obj: object) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


@pytest.mark.parametrize("build", PAGES.values(), ids=PAGES.keys())
def test_change_page_query_count_is_the_same_for_2_and_6_inline_rows(client, hq_user, build):
    client.force_login(hq_user)
    obj, grow = build()
    url = _change_url(obj)
    grow(2)
    assert client.get(url).status_code == 200  # warm per-process caches (content types)
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    assert response.status_code == 200
    grow(4)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries), "\n".join(
        query["sql"] for query in many.captured_queries
    )


def test_supplier_page_labels_each_product_with_its_own_name_and_link(client, hq_user):
    """The raw-id labels come from the rows' loaded products: still each row's own."""
    client.force_login(hq_user)
    supplier = SupplierFactory()
    offers = SupplierProductFactory.create_batch(3, supplier=supplier)
    body = client.get(_change_url(supplier)).content.decode()
    for offer in offers:
        assert offer.product.name in body
        assert reverse("admin:catalog_product_change", args=[offer.product.pk]) in body


def test_tag_page_selects_each_rules_own_category(client, hq_user):
    client.force_login(hq_user)
    tag = TagFactory()
    rules = [
        TagCategoryRule.objects.create(tag=tag, category=CategoryFactory(), min_purchases=2)
        for _rule in range(2)
    ]
    body = client.get(_change_url(tag)).content.decode()
    for rule in rules:  # each autocomplete box holds its own category, selected
        assert re.search(
            rf'<option value="{rule.category.pk}" selected>[^<]*{rule.category.name}', body
        )
