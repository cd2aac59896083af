"""The CSV import contract: imports that never half-write, exports safe in a spreadsheet.

Every import follows the same contract:

1. read the file as a `Table`: a header and numbered rows (row numbers as in the file, the
   header is row 1; blank lines are skipped but still counted);
2. validate every row (and the file as a whole: duplicates, unknown codes) and collect *every*
   error as a `RowError(row, column, code, reason)`;
3. only if there is no error at all, write everything in one transaction (`import_transaction`,
   usually `rows_upsert`); otherwise write nothing. A dry run stops after step 2 and says what
   would be written.

The pieces here are shared by the import services of every app (`members_import`,
`products_import`, `sales_history_import`, …) and by the `import_csv` / `import_sales`
commands. Nothing here knows django-import-export: the admin plugs an import service in
through `linli.imports.admin`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from linli.phones import phone_normalise

HEADER_ROW = 1
# Row number of errors about the file as a whole (e.g. a concurrent change while writing).
WHOLE_FILE = 0
ENCODING_SNIFF_BYTES = 64 * 1024

# A cell starting with one of these is a formula (or becomes one) in Excel / LibreOffice.
FORMULA_TRIGGERS = frozenset({"=", "+", "-", "@", "\t", "\r"})

# What an import does (or would do) with a row, for previews (`ImportReport.row_actions`).
ACTION_NEW = "new"
ACTION_UPDATE = "update"
ACTION_SKIP = "skip"

# The sane range of every date and time an import or a machine API accepts (`moment_check`).
# Linli's data starts long after 2000: an earlier value is a typo or a placeholder
# (0001-01-01, 1600-01-01) that later breaks date arithmetic (year 1 in Beijing time is year 0
# in UTC). The future is allowed up to a tolerance for clocks and time zones that are off;
# a caller with a live clock (the POS API) passes a tighter `latest`.
EARLIEST_MOMENT = dt.datetime(2000, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
FUTURE_TOLERANCE = dt.timedelta(days=1)

# The csv module refuses a cell longer than this (its default `csv.field_size_limit()`); the
# row is reported and the rest of the file is not read (an unclosed quote looks the same).
MAX_CELL_CHARS = 131_072

# Rows per INSERT / UPDATE statement when an import writes.
WRITE_BATCH = 2000

TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "是", "真"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "否", "假"})


# --- what went wrong, and what was done --------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem in an import file. `row` is the row number as in the file (header = 1);
    `column` is the header name ("" when the problem is the row as a whole); `code` is stable
    for programs and tests, `reason` is translated for people."""

    row: int
    column: str
    code: str
    reason: str

    def __str__(self) -> str:
        if self.row == WHOLE_FILE:
            return self.reason
        if self.column:
            return _("Row %(row)d, column “%(column)s”: %(reason)s") % {
                "row": self.row,
                "column": self.column,
                "reason": self.reason,
            }
        return _("Row %(row)d: %(reason)s") % {"row": self.row, "reason": self.reason}


class ErrorLog:
    """Collects errors; counts all of them but keeps at most `keep` (None: keep all), so a file
    with a million bad rows cannot exhaust memory."""

    def __init__(self, *, keep: int | None = None) -> None:
        self.keep = keep
        self.count = 0
        self._errors: list[RowError] = []

    def add(self, row: int, column: str, code: str, reason: str) -> None:
        self.count += 1
        if self.keep is None or len(self._errors) < self.keep:
            self._errors.append(RowError(row=row, column=column, code=code, reason=reason))

    def __bool__(self) -> bool:
        return self.count > 0

    def sorted(self) -> list[RowError]:
        """Kept errors by row (stable: within a row, in the order they were found)."""
        return sorted(self._errors, key=lambda error: error.row)


@dataclass
class ImportReport:
    """The outcome of one import (or dry run) of one file.

    `created` / `updated` / `unchanged` count model rows (members, products, …; for sales
    history: orders). `row_actions` maps file rows to "new" / "update" / "skip" for previews.
    """

    kind: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    notes: list[str] = field(default_factory=list)
    row_actions: dict[int, str] = field(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        return self.error_count == 0

    @property
    def applied(self) -> bool:
        """True when the rows were written (valid and not a dry run)."""
        return self.is_valid and not self.dry_run

    def done_message(self) -> str | None:
        """What the admin says after the import was written; None: import-export's own
        message ("new, updated, skipped" counts of rows). A report whose rows are not what it
        counts (sales history: lines and orders) says it here."""
        return None

    def errors_take(self, log: ErrorLog) -> None:
        self.errors = log.sorted()
        self.error_count = log.count

    def finish(self, log: ErrorLog) -> ImportReport:
        """Take the errors; a report with errors counts nothing as done (nothing was)."""
        self.errors_take(log)
        if not self.is_valid:
            self.created = self.updated = self.unchanged = 0
            self.row_actions = {}
        return self

    def summary(self) -> str:
        if not self.is_valid:
            return _("%(errors)s in %(rows)s: nothing was imported.") % {
                "errors": ngettext("%(count)d error", "%(count)d errors", self.error_count)
                % {"count": self.error_count},
                "rows": ngettext("%(count)d row", "%(count)d rows", self.rows)
                % {"count": self.rows},
            }
        numbers = {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }
        if self.dry_run:
            return (
                ngettext(
                    "Dry run: %(rows)d row is valid; would create %(created)d, "
                    "update %(updated)d, leave %(unchanged)d unchanged. Nothing was written.",
                    "Dry run: %(rows)d rows are valid; would create %(created)d, "
                    "update %(updated)d, leave %(unchanged)d unchanged. Nothing was written.",
                    self.rows,
                )
                % numbers
            )
        return (
            ngettext(
                "Imported %(rows)d row: created %(created)d, updated %(updated)d, "
                "%(unchanged)d unchanged.",
                "Imported %(rows)d rows: created %(created)d, updated %(updated)d, "
                "%(unchanged)d unchanged.",
                self.rows,
            )
            % numbers
        )


# --- reading files -----------------------------------------------------------------------------


@dataclass
class Table:
    """A CSV file as a (normalised) header and `(row number, cells)` pairs. `rows` may be a
    one-pass iterator (streamed from disk) or a list."""

    header: list[str]
    rows: Iterable[tuple[int, list[str]]]


def header_normalise(cells: Sequence[str]) -> list[str]:
    return [str(cell or "").replace("\ufeff", "").strip().lower() for cell in cells]


def encoding_detect(head: bytes) -> str:
    """UTF-8 (with or without BOM) unless the bytes are not UTF-8, then GB18030 — the superset
    of GBK that Excel on Chinese Windows saves CSV files in."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


class UnreadableRow(list):
    """The cells of a row the csv module could not read (a cell longer than `MAX_CELL_CHARS`,
    usually a quote never closed): no cells, and `reason` for the row's error. `RowCells`
    (and the sales reader) report it; reading stops there, as the rest is out of step."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


def _unreadable(error: csv.Error) -> UnreadableRow:
    if "field larger than field limit" in str(error):
        reason = _(
            "This row cannot be read: a cell is longer than %(max)d characters (is a quote "
            "missing its closing quote?). The rest of the file was not read."
        ) % {"max": MAX_CELL_CHARS}
    else:
        reason = _(
            "This row cannot be read as CSV (%(problem)s). The rest of the file was not read."
        ) % {"problem": error}
    return UnreadableRow(reason)


def _numbered_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    number = HEADER_ROW
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield number, _unreadable(error)
            return
        if any(cells):
            yield number, cells


def table_from_stream(stream: Iterable[str]) -> Table:
    """Read CSV text lazily: rows are parsed as they are consumed. A row the csv module cannot
    read comes as an `UnreadableRow` and ends the rows."""
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
    except csv.Error as error:
        return Table(header=[], rows=[(HEADER_ROW, _unreadable(error))])
    if header is None:
        return Table(header=[], rows=[])
    return Table(header=header_normalise(header), rows=_numbered_rows(reader))


def table_from_bytes(data: bytes, *, encoding: str | None = None) -> Table:
    """A Table from the bytes of an uploaded file; raises UnicodeDecodeError if undecodable."""
    text = data.decode(encoding or encoding_detect(data[:ENCODING_SNIFF_BYTES]))
    return table_from_stream(io.StringIO(text, newline=""))


@contextmanager
def csv_table_open(path: str | Path, *, encoding: str | None = None) -> Iterator[Table]:
    """Open a CSV file for streaming; the Table's rows are read while the block is open."""
    if encoding is None:
        with open(path, "rb") as raw:
            encoding = encoding_detect(raw.read(ENCODING_SNIFF_BYTES))
    with open(path, newline="", encoding=encoding) as stream:
        yield table_from_stream(stream)


# --- columns and cells -------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of an import format. A required column must be in the header and have a value
    in every row; an optional one may be left out of the header or left empty."""

    name: str
    required: bool = False


@contextmanager
def import_transaction(log: ErrorLog) -> Iterator[None]:
    """One transaction for an import's writes. A unique or foreign-key violation means the
    data changed under the import (a concurrent edit): it rolls back and becomes a whole-file
    error instead of a server error."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        log.add(WHOLE_FILE, "", "conflict", _("The data changed while importing; try again."))


def header_check(header: Sequence[str], columns: Sequence[Column], log: ErrorLog) -> dict[str, int]:
    """Check the header against the format and return {column name: position}.

    Unknown and repeated columns are errors (a typo such as `prcie` would otherwise be
    silently ignored); columns with an empty header cell are ignored.
    """
    known = [column.name for column in columns]
    positions: dict[str, int] = {}
    for position, name in enumerate(header):
        if not name:
            continue
        if name in positions:
            log.add(HEADER_ROW, name, "duplicate_column", _("The column appears twice."))
        elif name not in known:
            log.add(
                HEADER_ROW,
                name,
                "unknown_column",
                _("Unknown column; the columns are: %(columns)s.") % {"columns": ", ".join(known)},
            )
        else:
            positions[name] = position
    for column in columns:
        if column.required and column.name not in positions:
            log.add(HEADER_ROW, column.name, "missing_column", _("Required column is missing."))
    return positions


class CellError(Exception):
    """A cell value that cannot be used; `code` is stable, `reason` translated."""

    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(reason)


def formula_escape(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would run as a formula with `'`."""
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def cell_unescape(value: str) -> str:
    """Undo `formula_escape`, so an exported file imports back unchanged."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_TRIGGERS:
        return value[1:]
    return value


def parse_text(value: str, *, max_length: int | None = None) -> str:
    text = cell_unescape(value)
    if max_length is not None and len(text) > max_length:
        raise CellError(
            "too_long",
            _("The text is longer than %(max)d characters.") % {"max": max_length},
        )
    return text


def parse_phone(value: str) -> str:
    try:
        return phone_normalise(value)
    except ValidationError as error:
        raise CellError("invalid_phone", error.messages[0]) from error


def parse_decimal(
    value: str,
    *,
    places: int = 2,
    max_digits: int = 10,
    minimum: Decimal | None = Decimal("0"),
) -> Decimal:
    """A money-like number with at most `places` decimals, quantized to exactly `places`."""
    try:
        number = Decimal(value)
    except InvalidOperation as error:
        raise CellError(
            "invalid_number", _("“%(value)s” is not a number.") % {"value": value}
        ) from error
    if not number.is_finite():
        raise CellError("invalid_number", _("“%(value)s” is not a number.") % {"value": value})
    step = Decimal(1).scaleb(-places)
    quantized = number.quantize(step) if abs(number) < 10**max_digits else number
    if quantized != number:
        raise CellError(
            "too_many_decimals",
            _("“%(value)s” has more than %(places)d decimal places.")
            % {"value": value, "places": places},
        )
    if minimum is not None and number < minimum:
        raise CellError(
            "below_minimum",
            _("“%(value)s” is below the minimum of %(minimum)s.")
            % {"value": value, "minimum": minimum},
        )
    if abs(number) >= Decimal(10) ** (max_digits - places):
        raise CellError("too_large", _("“%(value)s” is too large.") % {"value": value})
    return quantized


def parse_int(value: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError as error:
        raise CellError(
            "invalid_number", _("“%(value)s” is not a whole number.") % {"value": value}
        ) from error
    if minimum is not None and number < minimum:
        raise CellError(
            "below_minimum",
            _("“%(value)s” is below the minimum of %(minimum)d.")
            % {"value": value, "minimum": minimum},
        )
    if maximum is not None and number > maximum:
        raise CellError(
            "above_maximum",
            _("“%(value)s” is above the maximum of %(maximum)d.")
            % {"value": value, "maximum": maximum},
        )
    return number


def parse_bool(value: str) -> bool:
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(
        "invalid_boolean",
        _("“%(value)s” is not yes/no (use 1 or 0, true or false, yes or no).") % {"value": value},
    )


def parse_choice(value: str, *, choices: dict[str, str]) -> str:
    """`choices` maps every accepted (lower-case) spelling to the stored value. A value not
    among them is refused with every accepted spelling, grouped by stored value in the order
    of `choices`: "observed (实况), forecast (预报)" — the Chinese words the formats document
    are as good as the stored values, and the error says so."""
    stored = choices.get(value.lower())
    if stored is None:
        raise CellError(
            "invalid_choice",
            _("“%(value)s” is not one of: %(allowed)s.")
            % {"value": value, "allowed": choices_describe(choices)},
        )
    return stored


def choices_describe(choices: Mapping[str, str]) -> str:
    """`{"observed": "observed", "实况": "observed", …}` → "observed (实况), forecast (预报)"."""
    spellings: dict[str, list[str]] = {}
    for spelling, stored in choices.items():
        others = spellings.setdefault(stored, [])
        if spelling != stored.lower():
            others.append(spelling)
    return ", ".join(
        f"{stored} ({'/'.join(others)})" if others else stored
        for stored, others in spellings.items()
    )


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def moment_latest(*, tolerance: dt.timedelta = FUTURE_TOLERANCE) -> dt.datetime:
    """The latest moment accepted now: now plus the future tolerance."""
    return timezone.now() + tolerance


def moment_check(
    moment: dt.datetime, *, value: str, latest: dt.datetime | None = None
) -> dt.datetime:
    """The one range check of dates and times: refuse (`CellError`) a moment before
    `EARLIEST_MOMENT` ("too_early") or after `latest` ("in_future"; default
    `moment_latest()`). `moment` must be aware; `value` is what the user wrote."""
    if moment < EARLIEST_MOMENT:
        raise CellError(
            "too_early",
            _("“%(value)s” is before %(earliest)s; earlier dates are not accepted.")
            % {"value": value, "earliest": EARLIEST_MOMENT.date().isoformat()},
        )
    if moment > (moment_latest() if latest is None else latest):
        raise CellError("in_future", _("“%(value)s” is in the future.") % {"value": value})
    return moment


# How Excel on Chinese Windows writes a day (and a time) when it saves a CSV it opened, whatever
# the file had: `2024/7/1`, `2024/7/1 9:05`, `2024/7/1 9:05:30`. Year first, so unambiguous.
_EXCEL_MOMENT = re.compile(
    r"(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?", re.ASCII
)


def excel_moment_iso(value: str) -> str:
    """`2024/7/1 9:05` → `2024-07-01T09:05:00` (and `2024/7/1` → `2024-07-01`); anything else
    is returned as it is, for `fromisoformat` to read or refuse."""
    match = _EXCEL_MOMENT.fullmatch(value)
    if match is None:
        return value
    year, month, day, hour, minute, second = match.groups()
    iso = f"{year}-{int(month):02d}-{int(day):02d}"
    if hour is not None:
        iso += f"T{int(hour):02d}:{minute}:{second or '00'}"
    return iso


def parse_moment(
    value: str, *, zone: dt.tzinfo | None = None, latest: dt.datetime | None = None
) -> dt.datetime:
    """ISO 8601 date-time (`2024-07-01T18:30:00+08:00`, `2024-07-01 18:30`, a bare date means
    midnight) or Excel's `2024/7/1 18:30`; without an offset it is local time (Asia/Shanghai).
    It must pass `moment_check`: not before 2000, not after `latest` (default: now +
    FUTURE_TOLERANCE)."""
    try:
        moment = dt.datetime.fromisoformat(excel_moment_iso(value))
    except ValueError as error:
        raise CellError(
            "invalid_datetime",
            _("“%(value)s” is not a date and time (write e.g. 2024-07-01T18:30:00+08:00).")
            % {"value": value},
        ) from error
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=zone or local_zone())
    return moment_check(moment, value=value, latest=latest)


def day_latest(*, tolerance: dt.timedelta = FUTURE_TOLERANCE) -> dt.date:
    """The latest day accepted now: the local date of now plus the tolerance."""
    return timezone.localtime(timezone.now() + tolerance, local_zone()).date()


def parse_day(value: str, *, latest: dt.date | None = None) -> dt.date:
    """An ISO date (`2024-07-01`, or Excel's `2024/7/1`) in the sane range: not before
    `EARLIEST_MOMENT`'s day ("too_early"), not after `latest` ("in_future"; default
    `day_latest()`, tomorrow)."""
    try:
        day = dt.date.fromisoformat(excel_moment_iso(value))
    except ValueError as error:
        raise CellError(
            "invalid_date",
            _("“%(value)s” is not a date (write e.g. 2024-07-01).") % {"value": value},
        ) from error
    if day < EARLIEST_MOMENT.date():
        raise CellError(
            "too_early",
            _("“%(value)s” is before %(earliest)s; earlier dates are not accepted.")
            % {"value": value, "earliest": EARLIEST_MOMENT.date().isoformat()},
        )
    if day > (day_latest() if latest is None else latest):
        raise CellError("in_future", _("“%(value)s” is in the future.") % {"value": value})
    return day


# PostgreSQL cannot store (or even compare) a text containing NUL; a cell with one is refused
# (code `invalid_text`) instead of failing the import with a server error.
NUL = "\x00"


def nul_reason() -> str:
    return _(
        "The cell contains a NUL character (0x00), which cannot be stored; the file is "
        "probably damaged or was not saved as CSV text."
    )


# A line break inside a cell is legal CSV (a quoted cell may span lines), but in a code, a
# name, a number or a date it is almost always a quote that was never closed: the csv reader
# then reads on to the next quote, and the rows in between become part of this cell — a row
# silently lost. Only the columns a format documents as free text (`RowCells(multiline=…)`)
# may hold line breaks; in every other column the cell is refused (code `invalid_text`).
def has_line_break(value: str) -> bool:
    return "\n" in value or "\r" in value


def line_break_reason() -> str:
    return _(
        "The cell contains a line break, which this column does not take — check for a "
        'quote (") that is never closed: it joins the following rows into this cell.'
    )


class RowCells:
    """One row of a Table, read column by column; every problem goes to the ErrorLog and makes
    the row invalid, and the accessors return None (or "") for unusable cells."""

    __slots__ = ("number", "cells", "positions", "log", "valid", "broken")

    def __init__(
        self,
        number: int,
        cells: Sequence[str],
        positions: dict[str, int],
        log: ErrorLog,
        *,
        width: int,
        multiline: Container[str] = frozenset(),
    ) -> None:
        """`multiline`: the columns documented as free text that may hold line breaks; a
        line break in any other column is refused (`line_break_reason`) and the cell reads
        as empty, without further errors."""
        self.number = number
        self.cells = cells
        self.positions = positions
        self.log = log
        self.valid = True
        # Columns whose cell was refused as a whole (a line break): read as empty.
        self.broken: set[str] = set()
        if isinstance(cells, UnreadableRow):
            self.error("", "unreadable_row", cells.reason)
        elif len(cells) > width and any(cell.strip() for cell in cells[width:]):
            self.error(
                "",
                "too_many_cells",
                _(
                    "The row has %(cells)d cells but the header has %(columns)d "
                    "(is a comma missing its quotes?)."
                )
                % {"cells": len(cells), "columns": width},
            )
        else:
            for column, position in positions.items():
                if position >= len(cells):
                    continue
                if NUL in cells[position]:
                    self.error(column, "invalid_text", nul_reason())
                elif column not in multiline and has_line_break(cells[position].strip()):
                    self.error(column, "invalid_text", line_break_reason())
                    self.broken.add(column)

    def error(self, column: str, code: str, reason: str) -> None:
        self.valid = False
        self.log.add(self.number, column, code, reason)

    def raw(self, column: str) -> str:
        position = self.positions.get(column)
        if position is None or position >= len(self.cells) or column in self.broken:
            return ""
        # A NUL was reported as the row's error; without it the cell can still be looked up
        # (PostgreSQL refuses NUL in any text parameter, also in a query's WHERE).
        return self.cells[position].replace(NUL, "").strip()

    def parse(
        self, column: str, parser: Callable[..., Any], *, required: bool = False, **options: Any
    ) -> Any:
        if isinstance(self.cells, UnreadableRow) or column in self.broken:
            return None  # reported once, as the row's (or the cell's) error
        raw = self.raw(column)
        if not raw:
            if required and column in self.positions:
                self.error(column, "required", _("A value is required."))
            return None
        try:
            return parser(raw, **options)
        except CellError as problem:
            self.error(column, problem.code, problem.reason)
            return None

    def text(self, column: str, *, required: bool = False, max_length: int | None = None) -> str:
        return self.parse(column, parse_text, required=required, max_length=max_length) or ""

    def phone(self, column: str, *, required: bool = False) -> str:
        return self.parse(column, parse_phone, required=required) or ""

    def decimal(self, column: str, *, required: bool = False, **options: Any) -> Decimal | None:
        return self.parse(column, parse_decimal, required=required, **options)

    def integer(self, column: str, *, required: bool = False, **options: Any) -> int | None:
        return self.parse(column, parse_int, required=required, **options)

    def boolean(self, column: str, *, required: bool = False) -> bool | None:
        return self.parse(column, parse_bool, required=required)

    def choice(self, column: str, *, choices: dict[str, str], required: bool = False) -> str:
        return self.parse(column, parse_choice, required=required, choices=choices) or ""

    def moment(self, column: str, *, required: bool = False, **options: Any) -> dt.datetime | None:
        return self.parse(column, parse_moment, required=required, **options)

    def day(self, column: str, *, required: bool = False, **options: Any) -> dt.date | None:
        return self.parse(column, parse_day, required=required, **options)


def choices_with_labels(choices: Iterable[tuple[str, Any]], **aliases: str) -> dict[str, str]:
    """Accepted spellings for a TextChoices field: stored values, English labels, aliases."""
    accepted: dict[str, str] = {}
    with translation.override("en"):
        for value, label in choices:
            accepted[str(value).lower()] = str(value)
            accepted[str(label).lower()] = str(value)
    accepted.update({alias.lower(): value for alias, value in aliases.items()})
    return accepted


class FirstSeen:
    """Finds duplicates within a file: `seen(key, row)` returns the earlier row with the same
    key, or None the first time."""

    def __init__(self) -> None:
        self._rows: dict[Any, int] = {}

    def seen(self, key: Any, row: int) -> int | None:
        first = self._rows.setdefault(key, row)
        return None if first == row else first


def duplicate_reason(*, value: str, first_row: int) -> str:
    return _("“%(value)s” already appears on row %(row)d.") % {"value": value, "row": first_row}


def in_chunks(
    queryset: QuerySet, lookup: str, keys: Iterable[Any], *, chunk_size: int = 2000
) -> Iterator[Any]:
    """`queryset.filter(<lookup>__in=keys)` in chunks (SQLite limits query parameters)."""
    keys = list(dict.fromkeys(keys))
    for start in range(0, len(keys), chunk_size):
        yield from queryset.filter(**{f"{lookup}__in": keys[start : start + chunk_size]})


def codes_resolve(*, queryset: QuerySet, field: str, codes: Iterable[str]) -> dict[str, Any]:
    """`{code: primary key}` for those of `codes` that `queryset` holds, matched on `field`
    (`"code"`, `"sku"`), read in chunks. A code that is not stored is left out: the caller
    reports it on the rows that name it (`UnknownCode.add`)."""
    return dict(in_chunks(queryset.values_list(field, "pk"), field, codes))


@dataclass(frozen=True)
class UnknownCode:
    """The error of a cell naming a stored row (a category, a product, a region) by a code
    that is not stored: a stable `error_code` and a lazily translated `reason` with a
    `%(code)s` (or `%(sku)s`) placeholder, so every import says it the same way."""

    error_code: str
    reason: Promise

    def add(self, log: ErrorLog, *, row: int, column: str, code: str) -> None:
        log.add(row, column, self.error_code, str(self.reason) % {"code": code, "sku": code})


UNKNOWN_CATEGORY = UnknownCode(
    "unknown_category", gettext_lazy("Unknown category code “%(code)s”.")
)
UNKNOWN_SKU = UnknownCode("unknown_sku", gettext_lazy("Unknown SKU “%(sku)s”."))
UNKNOWN_REGION = UnknownCode("unknown_region", gettext_lazy("Unknown region code “%(code)s”."))
UNKNOWN_STORE = UnknownCode("unknown_store", gettext_lazy("Unknown store code “%(code)s”."))


@dataclass
class CodeCells:
    """The cells of one column that name stored rows by code, gathered from *every* row whose
    cell could be read — rows with other errors too — so that one run reports an unknown code
    together with the row's other errors instead of only after those are fixed.

    `resolve` looks all the codes up at once (`codes_resolve`) and reports each cell naming a
    code that is not stored; a caller that needs more than primary keys reads the rows itself
    from `codes()` and calls `unknown_report`."""

    column: str
    unknown: UnknownCode
    cells: list[tuple[int, str]] = field(default_factory=list)

    def add(self, row: int, code: str) -> None:
        """Note the code of file row `row` (an empty cell names nothing)."""
        if code:
            self.cells.append((row, code))

    def codes(self) -> set[str]:
        return {code for _row, code in self.cells}

    def unknown_report(self, log: ErrorLog, *, known: Container[str]) -> None:
        for row, code in self.cells:
            if code not in known:
                self.unknown.add(log, row=row, column=self.column, code=code)

    def resolve(self, *, queryset: QuerySet, field: str, log: ErrorLog) -> dict[str, Any]:
        """`{code: primary key}` of the stored codes; every unknown one is logged."""
        known = codes_resolve(queryset=queryset, field=field, codes=self.codes())
        self.unknown_report(log, known=known)
        return known


# --- writing -----------------------------------------------------------------------------------


@dataclass
class KeyedRow:
    """A valid file row ready to write: its row number, the key that finds the stored instance
    (a code, a SKU, a tuple), and the field values to set (None: "not given, keep the stored
    value; a new instance gets the model default")."""

    number: int
    key: Any
    values: dict[str, Any]


def instance_update_counted(
    *,
    instance: Model,
    values: Mapping[str, Any],
    report: ImportReport,
    number: int,
    also_changed: bool = False,
) -> bool:
    """Set on the stored `instance` each of `values` that differs from it and count file row
    `number` as updated or unchanged in `report`. `also_changed`: a change the caller found
    outside `values` (a link it writes itself) makes the row count as updated too. Returns
    whether the row counts as updated (the caller saves the instance, usually in bulk)."""
    differs = {key for key, value in values.items() if getattr(instance, key) != value}
    for key in differs:
        setattr(instance, key, values[key])
    updated = bool(differs) or also_changed
    if updated:
        report.updated += 1
        report.row_actions[number] = ACTION_UPDATE
    else:
        report.unchanged += 1
        report.row_actions[number] = ACTION_SKIP
    return updated


def rows_upsert(
    *,
    model: type[Model],
    rows: Iterable[KeyedRow],
    existing: Mapping[Any, Model],
    key_fields: Callable[[Any], Mapping[str, Any]],
    fields: Sequence[str],
    report: ImportReport,
    dry_run: bool,
    defaults: Mapping[str, Any] | None = None,
    batch_size: int = WRITE_BATCH,
) -> None:
    """Create a `model` instance for each row whose key is not in `existing`, update the
    stored instance of the others where a given value differs, and count every row in
    `report` (created / updated / unchanged, and `row_actions`).

    A new instance gets `key_fields(row.key)`, then `defaults` for fields the row does not
    give, then the row's values. Updates are one `bulk_update` of `fields` (every field a row
    may set), then one `bulk_create`, in batches of `batch_size`. A dry run counts and writes
    nothing. The caller validated every row, found `existing` (locked with
    `select_for_update` when writing) and runs this inside `import_transaction`.
    """
    created: list[Model] = []
    changed: list[Model] = []
    for row in rows:
        values = {key: value for key, value in row.values.items() if value is not None}
        instance = existing.get(row.key)
        if instance is None:
            created.append(model(**{**(defaults or {}), **key_fields(row.key), **values}))
            report.created += 1
            report.row_actions[row.number] = ACTION_NEW
            continue
        if instance_update_counted(
            instance=instance, values=values, report=report, number=row.number
        ):
            changed.append(instance)
    if dry_run:
        return
    model.objects.bulk_update(changed, fields=list(fields), batch_size=batch_size)
    model.objects.bulk_create(created, batch_size=batch_size)


# --- command-line output -----------------------------------------------------------------------


def report_lines(report: ImportReport, *, max_errors: int = 50) -> list[str]:
    """The report as lines for a terminal: every kept error up to `max_errors`, then counts."""
    lines = [str(error) for error in report.errors[:max_errors]]
    hidden = report.error_count - min(len(report.errors), max_errors)
    if hidden > 0:
        lines.append(
            ngettext("… and %(count)d more error.", "… and %(count)d more errors.", hidden)
            % {"count": hidden}
        )
    lines.extend(report.notes)
    lines.append(report.summary())
    return lines
