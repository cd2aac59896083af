"""Row validation of the CSV import contract (`linli.imports.contract`): the header check, the
cell parsers and `RowCells`, exactly at their limits. Pure: no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from apps.devices.models import DeviceKind
from linli.imports.contract import (
    CellError,
    Column,
    ErrorLog,
    FirstSeen,
    RowCells,
    RowError,
    cell_unescape,
    choices_with_labels,
    duplicate_reason,
    header_check,
    line_break_reason,
    parse_bool,
    parse_choice,
    parse_day,
    parse_decimal,
    parse_int,
    parse_moment,
    parse_phone,
    parse_text,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _english() -> None:
    # Reasons are compared in English; the codes are the same in every language.
    with translation.override("en"):
        yield


def _refusal(parser: object, value: str, **options: object) -> tuple[str, str]:
    with pytest.raises(CellError) as refused:
        parser(value, **options)
    return refused.value.code, refused.value.reason


# --- header ----------------------------------------------------------------------------------


def test_header_check_maps_known_columns_and_reports_every_header_problem():
    log = ErrorLog()
    columns = [Column("sku", required=True), Column("name"), Column("price", required=True)]
    positions = header_check(["sku", "", "name", "name", "prcie"], columns, log)
    assert positions == {"sku": 0, "name": 2}
    assert log.sorted() == [
        RowError(1, "name", "duplicate_column", "The column appears twice."),
        RowError(
            1, "prcie", "unknown_column", "Unknown column; the columns are: sku, name, price."
        ),
        RowError(1, "price", "missing_column", "Required column is missing."),
    ]


def test_header_check_accepts_a_header_without_optional_columns():
    log = ErrorLog()
    positions = header_check(
        ["price", "sku"], [Column("sku", required=True), Column("name"), Column("price")], log
    )
    assert positions == {"price": 0, "sku": 1}
    assert (bool(log), log.sorted()) == (False, [])


# --- cells -----------------------------------------------------------------------------------


def test_cell_error_carries_a_code_and_a_reason():
    error = CellError("too_long", "The text is too long.")
    assert (error.code, error.reason, str(error)) == (
        "too_long",
        "The text is too long.",
        "The text is too long.",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("'=SUM(A1)", "=SUM(A1)"),
        ("'+1", "+1"),
        ("'=", "="),
        ("'", "'"),
        ("'x", "'x"),
        ("''=1", "''=1"),
        ("=1", "=1"),
        ("", ""),
    ],
)
def test_cell_unescape_undoes_only_the_formula_escape(value, expected):
    assert cell_unescape(value) == expected


def test_parse_text_allows_exactly_max_length_after_unescaping():
    assert parse_text("abc", max_length=3) == "abc"
    assert parse_text("'=ab", max_length=3) == "=ab"
    assert parse_text("a" * 500) == "a" * 500
    assert _refusal(parse_text, "abcd", max_length=3) == (
        "too_long",
        "The text is longer than 3 characters.",
    )


def test_parse_phone_normalises_or_refuses_with_the_reason():
    assert parse_phone("138 0013 8000") == "+8613800138000"
    assert _refusal(parse_phone, "12345") == (
        "invalid_phone",
        "“12345” is not a valid mainland China mobile number.",
    )


def test_parse_decimal_quantizes_to_the_places():
    assert str(parse_decimal("1.5")) == "1.50"
    assert str(parse_decimal("1.990")) == "1.99"
    assert str(parse_decimal("1.999", places=3)) == "1.999"
    assert str(parse_decimal("2", places=0)) == "2"
    assert str(parse_decimal("150.5")) == "150.50"
    assert str(parse_decimal("99999999.9")) == "99999999.90"


@pytest.mark.parametrize("value", ["abc", "", "1,5", "NaN", "Infinity", "-inf"])
def test_parse_decimal_refuses_what_is_not_a_finite_number(value):
    assert _refusal(parse_decimal, value) == ("invalid_number", f"“{value}” is not a number.")


def test_parse_decimal_refuses_more_decimals_than_places():
    assert _refusal(parse_decimal, "1.999") == (
        "too_many_decimals",
        "“1.999” has more than 2 decimal places.",
    )
    assert _refusal(parse_decimal, "1.5", places=0)[0] == "too_many_decimals"
    assert _refusal(parse_decimal, "123.456")[0] == "too_many_decimals"


def test_parse_decimal_minimum_is_inclusive():
    assert parse_decimal("0") == Decimal("0.00")
    assert _refusal(parse_decimal, "-0.01") == (
        "below_minimum",
        "“-0.01” is below the minimum of 0.",
    )
    assert parse_decimal("1", minimum=Decimal("1")) == Decimal("1.00")
    assert _refusal(parse_decimal, "0.99", minimum=Decimal("1"))[0] == "below_minimum"
    assert parse_decimal("-5", minimum=None) == Decimal("-5.00")


def test_parse_decimal_largest_value_fits_max_digits_and_one_cent_more_does_not():
    # max_digits=10 with 2 places: at most 8 digits before the point, as in the database column.
    assert parse_decimal("99999999.99") == Decimal("99999999.99")
    assert _refusal(parse_decimal, "100000000") == ("too_large", "“100000000” is too large.")
    assert parse_decimal("9999.9", places=1, max_digits=5) == Decimal("9999.9")
    assert _refusal(parse_decimal, "10000", places=1, max_digits=5)[0] == "too_large"
    assert _refusal(parse_decimal, "-100000000", minimum=None)[0] == "too_large"


def test_parse_decimal_refuses_a_huge_number_instead_of_failing_to_quantize_it():
    assert _refusal(parse_decimal, "1e30") == ("too_large", "“1e30” is too large.")
    # Beyond max_digits the cell is too large, whatever its decimals.
    assert _refusal(parse_decimal, "20000000000.001")[0] == "too_large"


def test_parse_int_limits_are_inclusive():
    assert parse_int("7") == 7
    assert parse_int("1", minimum=1, maximum=10) == 1
    assert parse_int("10", minimum=1, maximum=10) == 10
    assert parse_int("-3") == -3
    assert _refusal(parse_int, "0", minimum=1) == (
        "below_minimum",
        "“0” is below the minimum of 1.",
    )
    assert _refusal(parse_int, "11", maximum=10) == (
        "above_maximum",
        "“11” is above the maximum of 10.",
    )


@pytest.mark.parametrize("value", ["ten", "1.5", ""])
def test_parse_int_refuses_what_is_not_a_whole_number(value):
    assert _refusal(parse_int, value) == ("invalid_number", f"“{value}” is not a whole number.")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[(word, True) for word in ["1", "true", "T", "Yes", "y", "是", "真"]],
        *[(word, False) for word in ["0", "FALSE", "f", "no", "N", "否", "假"]],
    ],
)
def test_parse_bool_accepts_the_documented_words_in_any_case(value, expected):
    assert parse_bool(value) is expected


def test_parse_bool_refuses_anything_else():
    assert _refusal(parse_bool, "maybe") == (
        "invalid_boolean",
        "“maybe” is not yes/no (use 1 or 0, true or false, yes or no).",
    )


def test_parse_choice_maps_any_case_to_the_stored_value_or_lists_the_allowed_ones():
    choices = {"piece": "piece", "个": "piece", "kg": "kg"}
    assert parse_choice("PIECE", choices=choices) == "piece"
    assert parse_choice("个", choices=choices) == "piece"
    assert _refusal(parse_choice, "crate", choices=choices) == (
        "invalid_choice",
        "“crate” is not one of: piece (个), kg.",
    )


def test_parse_moment_reads_offsets_local_times_and_bare_dates():
    assert parse_moment("2024-07-01T18:30:00+00:00") == dt.datetime(
        2024, 7, 1, 18, 30, tzinfo=dt.UTC
    )
    local = parse_moment("2024-07-01 18:30")
    assert (local, local.tzinfo) == (dt.datetime(2024, 7, 1, 18, 30, tzinfo=SHANGHAI), SHANGHAI)
    assert parse_moment("2024-07-01") == dt.datetime(2024, 7, 1, tzinfo=SHANGHAI)
    assert parse_moment("2024-07-01 18:30", zone=dt.UTC) == dt.datetime(
        2024, 7, 1, 18, 30, tzinfo=dt.UTC
    )


def test_dates_as_excel_saves_them_on_chinese_windows_are_read():
    # Excel rewrites 2024-07-01 as 2024/7/1 when it saves a CSV it opened: every row was refused.
    assert parse_moment("2024/7/1 9:05") == dt.datetime(2024, 7, 1, 9, 5, tzinfo=SHANGHAI)
    assert parse_moment("2024/07/01 18:30:15") == dt.datetime(
        2024, 7, 1, 18, 30, 15, tzinfo=SHANGHAI
    )
    assert parse_moment("2024/7/1") == dt.datetime(2024, 7, 1, tzinfo=SHANGHAI)
    assert parse_day("2024/7/1") == dt.date(2024, 7, 1)
    # Only year first: a day-first or month-first date stays ambiguous and refused.
    assert _refusal(parse_day, "1/7/2024")[0] == "invalid_date"
    assert _refusal(parse_moment, "2024/13/1")[0] == "invalid_datetime"
    assert _refusal(parse_day, "1999/12/31")[0] == "too_early"


def test_parse_moment_latest_is_inclusive():
    latest = dt.datetime(2024, 7, 1, 18, 30, tzinfo=SHANGHAI)
    assert parse_moment("2024-07-01 18:30", latest=latest) == latest
    assert _refusal(parse_moment, "2024-07-01 18:30:01", latest=latest) == (
        "in_future",
        "“2024-07-01 18:30:01” is in the future.",
    )


def test_parse_moment_refuses_what_is_not_a_date():
    assert _refusal(parse_moment, "yesterday") == (
        "invalid_datetime",
        "“yesterday” is not a date and time (write e.g. 2024-07-01T18:30:00+08:00).",
    )


# --- rows ------------------------------------------------------------------------------------


def _row(cells: list[str], positions: dict[str, int], *, width: int | None = None) -> RowCells:
    return RowCells(7, cells, positions, ErrorLog(), width=len(cells) if width is None else width)


def test_a_row_with_exactly_the_header_width_or_blank_extra_cells_is_fine():
    assert _row(["a", "b"], {}, width=2).valid is True
    assert _row(["a", "b", "", "  "], {}, width=2).valid is True


def test_a_row_with_a_filled_cell_beyond_the_header_is_an_error():
    row = _row(["a", "b", "", "c"], {}, width=2)
    assert row.valid is False
    assert row.log.sorted() == [
        RowError(
            7,
            "",
            "too_many_cells",
            "The row has 4 cells but the header has 2 (is a comma missing its quotes?).",
        )
    ]


def test_a_cell_with_a_nul_character_is_refused_and_read_without_it():
    # PostgreSQL refuses NUL in any text, also in a lookup: the row is reported instead.
    row = _row(["ok", "Q\x00A01"], {"name": 0, "code": 1})
    assert row.valid is False
    assert [(error.column, error.code) for error in row.log.sorted()] == [("code", "invalid_text")]
    assert row.raw("code") == "QA01"


@pytest.mark.parametrize("line_break", ["\n", "\r", "\r\n"])
def test_a_line_break_in_a_single_line_column_is_refused_and_the_cell_reads_as_empty(line_break):
    # An unclosed quote makes the csv reader take the next rows into one cell.
    row = _row(["坏引号," + line_break + "price,SKU-2", "2024-07-01"], {"name": 0, "day": 1})
    row.day("day")
    assert (row.text("name", required=True), row.raw("name")) == ("", "")
    assert [(error.column, error.code, error.reason) for error in row.log.sorted()] == [
        (
            "name",
            "invalid_text",
            "The cell contains a line break, which this column does not take — check for a "
            'quote (") that is never closed: it joins the following rows into this cell.',
        )
    ]
    assert row.valid is False
    with translation.override("zh-hans"):
        assert "未闭合的引号" in line_break_reason()


def test_a_line_break_is_allowed_in_a_multiline_column_and_around_any_cell():
    row = RowCells(
        7,
        ["第一行\n第二行", "A01\r\n"],
        {"text": 0, "code": 1},
        ErrorLog(),
        width=2,
        multiline={"text"},
    )
    assert (row.text("text"), row.text("code"), row.valid) == ("第一行\n第二行", "A01", True)


def test_raw_strips_and_treats_a_missing_or_short_column_as_empty():
    row = _row(["  x  ", "y"], {"a": 0, "b": 1, "next": 2, "far": 5}, width=6)
    assert (row.raw("a"), row.raw("b"), row.raw("next"), row.raw("far"), row.raw("absent")) == (
        "x",
        "y",
        "",
        "",
        "",
    )


def test_an_empty_required_cell_is_an_error_but_an_absent_optional_column_is_not():
    row = _row(["", "  "], {"name": 0, "note": 1})
    assert row.text("note", required=False) == ""
    assert (row.valid, row.log.count) == (True, 0)
    assert row.text("missing_column", required=True) == ""
    assert (row.valid, row.log.count) == (True, 0)
    assert row.text("name", required=True) == ""
    assert row.valid is False
    assert row.log.sorted() == [RowError(7, "name", "required", "A value is required.")]


@pytest.mark.parametrize(
    ("accessor", "options"),
    [
        ("text", {}),
        ("phone", {}),
        ("decimal", {}),
        ("integer", {}),
        ("boolean", {}),
        ("choice", {"choices": {"a": "a"}}),
        ("moment", {}),
    ],
)
def test_every_accessor_reports_an_empty_required_cell(accessor, options):
    row = _row([""], {"cell": 0})
    getattr(row, accessor)("cell", required=True, **options)
    assert [(e.row, e.column, e.code) for e in row.log.sorted()] == [(7, "cell", "required")]


def test_accessors_parse_their_cells_and_pass_their_options_on():
    positions = {"text": 0, "phone": 1, "price": 2, "count": 3, "flag": 4, "unit": 5, "at": 6}
    cells = ["'=x", "13800138000", "1.5", "4", "yes", "PC", "2024-07-01"]
    row = _row(cells, positions)
    assert row.text("text", max_length=2) == "=x"
    assert row.phone("phone") == "+8613800138000"
    assert str(row.decimal("price", places=1)) == "1.5"
    assert row.integer("count", maximum=4) == 4
    assert row.boolean("flag") is True
    assert row.choice("unit", choices={"pc": "piece"}) == "piece"
    assert row.moment("at", zone=dt.UTC) == dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
    assert (row.valid, row.log.count) == (True, 0)


def test_accessors_report_bad_cells_with_the_parsers_code_and_return_nothing():
    positions = {"text": 0, "phone": 1, "price": 2, "count": 3, "flag": 4, "unit": 5, "at": 6}
    cells = ["abc", "123", "1.55", "5", "maybe", "crate", "2024-07-02"]
    row = _row(cells, positions)
    latest = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
    assert row.text("text", max_length=2) == ""
    assert row.phone("phone") == ""
    assert row.decimal("price", places=1) is None
    assert row.integer("count", maximum=4) is None
    assert row.boolean("flag") is None
    assert row.choice("unit", choices={"pc": "piece"}) == ""
    assert row.moment("at", latest=latest) is None
    assert row.valid is False
    assert [(e.row, e.column, e.code) for e in row.log.sorted()] == [
        (7, "text", "too_long"),
        (7, "phone", "invalid_phone"),
        (7, "price", "too_many_decimals"),
        (7, "count", "above_maximum"),
        (7, "flag", "invalid_boolean"),
        (7, "unit", "invalid_choice"),
        (7, "at", "in_future"),
    ]


def test_choices_with_labels_accepts_values_english_labels_and_aliases_in_any_language():
    with translation.override("zh-hans"):
        accepted = choices_with_labels(DeviceKind.choices, Kühl="fridge")
    assert accepted == {
        "fridge": "fridge",
        "freezer": "freezer",
        "display_chiller": "display_chiller",
        "display chiller": "display_chiller",
        "pos_terminal": "pos_terminal",
        "pos terminal": "pos_terminal",
        "kühl": "fridge",
    }


def test_first_seen_returns_the_earlier_row_of_a_repeated_key():
    seen = FirstSeen()
    assert [seen.seen("a", 2), seen.seen("b", 3), seen.seen("a", 5), seen.seen("a", 2)] == [
        None,
        None,
        2,
        None,
    ]
    assert duplicate_reason(value="P1", first_row=2) == "“P1” already appears on row 2."
