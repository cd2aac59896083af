"""The writing half of the CSV import contract (`linli.imports.contract`): looking codes up,
reporting unknown ones the same way everywhere, and `rows_upsert`."""

from __future__ import annotations

import pytest
from django.utils import translation

from apps.stores.models import Region
from linli.imports.contract import (
    UNKNOWN_CATEGORY,
    UNKNOWN_SKU,
    ErrorLog,
    ImportReport,
    KeyedRow,
    RowError,
    codes_resolve,
    rows_upsert,
)
from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db


def _regions_upsert(rows: list[KeyedRow], *, dry_run: bool = False) -> ImportReport:
    report = ImportReport(kind="regions", dry_run=dry_run)
    rows_upsert(
        model=Region,
        rows=rows,
        existing={region.code: region for region in Region.objects.all()},
        key_fields=lambda code: {"code": code},
        fields=["name", "city"],
        report=report,
        dry_run=dry_run,
        defaults={"city": "杭州"},
    )
    return report


def test_codes_resolve_maps_only_the_stored_codes_to_primary_keys() -> None:
    north, south = RegionFactory(code="N"), RegionFactory(code="S")
    found = codes_resolve(queryset=Region.objects.all(), field="code", codes={"N", "S", "X"})
    assert found == {"N": north.pk, "S": south.pk}
    assert codes_resolve(queryset=Region.objects.all(), field="code", codes=[]) == {}


def test_unknown_code_errors_read_the_same_for_every_import() -> None:
    log = ErrorLog()
    with translation.override("en"):
        UNKNOWN_CATEGORY.add(log, row=3, column="parent", code="FRUIT")
        UNKNOWN_SKU.add(log, row=2, column="sku", code="A-1")
    assert log.sorted() == [
        RowError(2, "sku", "unknown_sku", "Unknown SKU “A-1”."),
        RowError(3, "parent", "unknown_category", "Unknown category code “FRUIT”."),
    ]


def test_rows_upsert_creates_updates_what_differs_and_counts_every_row() -> None:
    RegionFactory(code="SAME", name="东区", city="杭州")
    RegionFactory(code="MOVED", name="西区", city="杭州")
    report = _regions_upsert(
        [
            KeyedRow(number=2, key="SAME", values={"name": "东区", "city": None}),
            KeyedRow(number=3, key="MOVED", values={"name": "西区", "city": "宁波"}),
            KeyedRow(number=4, key="NEW", values={"name": "新区", "city": None}),
        ]
    )
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    assert report.row_actions == {2: "skip", 3: "update", 4: "new"}
    assert sorted(Region.objects.values_list("code", "name", "city")) == [
        ("MOVED", "西区", "宁波"),
        ("NEW", "新区", "杭州"),  # the default: the row gave no city
        ("SAME", "东区", "杭州"),
    ]


def test_rows_upsert_keeps_a_stored_value_the_row_does_not_give() -> None:
    RegionFactory(code="KEEP", name="东区", city="温州")
    row = KeyedRow(number=2, key="KEEP", values={"name": "东区一", "city": None})
    report = _regions_upsert([row])
    assert report.updated == 1
    assert Region.objects.get(code="KEEP").city == "温州"


def test_a_dry_run_counts_the_same_and_writes_nothing() -> None:
    RegionFactory(code="OLD", name="东区", city="杭州")
    rows = [
        KeyedRow(number=2, key="OLD", values={"name": "改名", "city": None}),
        KeyedRow(number=3, key="NEW", values={"name": "新区", "city": None}),
    ]
    report = _regions_upsert(rows, dry_run=True)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    assert list(Region.objects.values_list("code", "name")) == [("OLD", "东区")]
