"""CSV imports that never half-write, and exports that are safe to open in a spreadsheet.

Every import follows the same contract:

1. read the file as a `Table`: a header and numbered rows (row numbers as in the file, the
   header is row 1; blank lines are skipped but still counted);
2. validate every row (and the file as a whole: duplicates, unknown codes) and collect *every*
   error as a `RowError(row, column, code, reason)`;
3. only if there is no error at all, write everything in one transaction; otherwise write
   nothing. A dry run stops after step 2 and says what would be written.

The pieces here are shared by the import services of every app (`members_import`,
`products_import`, `sales_history_import`, …), by the `import_csv` / `import_sales` commands and
by the admin, where `ServiceResource` plugs an import service into django-import-export: its
preview step is the dry run, its confirm step the real import.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import tablib
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from import_export import exceptions as import_export_exceptions
from import_export import resources
from import_export.admin import ExportMixin, ImportMixin
from import_export.formats import base_formats
from import_export.results import Result, RowResult

from linli.phones import phone_normalise

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

HEADER_ROW = 1
# Row number of errors about the file as a whole (e.g. a concurrent change while writing).
WHOLE_FILE = 0
# The admin shows at most this many rows in its preview and error tables; counts cover all.
SHOWN_ROWS_LIMIT = 1000
ENCODING_SNIFF_BYTES = 64 * 1024

# A cell starting with one of these is a formula (or becomes one) in Excel / LibreOffice.
FORMULA_TRIGGERS = frozenset({"=", "+", "-", "@", "\t", "\r"})

ACTION_NEW = RowResult.IMPORT_TYPE_NEW
ACTION_UPDATE = RowResult.IMPORT_TYPE_UPDATE
ACTION_SKIP = RowResult.IMPORT_TYPE_SKIP

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
            return _("%(count)d error(s) in %(rows)d row(s): nothing was imported.") % {
                "count": self.error_count,
                "rows": self.rows,
            }
        numbers = {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }
        if self.dry_run:
            return (
                _(
                    "Dry run: %(rows)d row(s) are valid; would create %(created)d, "
                    "update %(updated)d, leave %(unchanged)d unchanged. Nothing was written."
                )
                % numbers
            )
        return (
            _(
                "Imported %(rows)d row(s): created %(created)d, updated %(updated)d, "
                "%(unchanged)d unchanged."
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


def _numbered_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    for number, cells in enumerate(reader, start=HEADER_ROW + 1):
        if any(cells):
            yield number, cells


def table_from_stream(stream: Iterable[str]) -> Table:
    """Read CSV text lazily: rows are parsed as they are consumed."""
    reader = csv.reader(stream)
    header = next(reader, None)
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


def table_from_dataset(dataset: tablib.Dataset) -> Table:
    """The Table behind an import-export dataset: exact rows and numbers when the dataset came
    from `CsvImportFormat`, otherwise the dataset's rows numbered from 2."""
    table = getattr(dataset, "linli_table", None)
    if table is not None:
        return table
    rows = [
        (number, ["" if cell is None else str(cell) for cell in row])
        for number, row in enumerate(dataset, start=HEADER_ROW + 1)
    ]
    return Table(header=header_normalise(dataset.headers or []), rows=rows)


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
    """`choices` maps every accepted (lower-case) spelling to the stored value."""
    stored = choices.get(value.lower())
    if stored is None:
        allowed = sorted(set(choices.values()))
        raise CellError(
            "invalid_choice",
            _("“%(value)s” is not one of: %(allowed)s.")
            % {"value": value, "allowed": ", ".join(allowed)},
        )
    return stored


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def parse_moment(
    value: str, *, zone: dt.tzinfo | None = None, latest: dt.datetime | None = None
) -> dt.datetime:
    """ISO 8601 date-time (`2024-07-01T18:30:00+08:00`, `2024-07-01 18:30`, a bare date means
    midnight); without an offset it is local time (Asia/Shanghai)."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise CellError(
            "invalid_datetime",
            _("“%(value)s” is not a date and time (write e.g. 2024-07-01T18:30:00+08:00).")
            % {"value": value},
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone or local_zone())
    if latest is not None and moment > latest:
        raise CellError("in_future", _("“%(value)s” is in the future.") % {"value": value})
    return moment


class RowCells:
    """One row of a Table, read column by column; every problem goes to the ErrorLog and makes
    the row invalid, and the accessors return None (or "") for unusable cells."""

    __slots__ = ("number", "cells", "positions", "log", "valid")

    def __init__(
        self,
        number: int,
        cells: Sequence[str],
        positions: dict[str, int],
        log: ErrorLog,
        *,
        width: int,
    ) -> None:
        self.number = number
        self.cells = cells
        self.positions = positions
        self.log = log
        self.valid = True
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            self.error(
                "",
                "too_many_cells",
                _(
                    "The row has %(cells)d cells but the header has %(columns)d "
                    "(is a comma missing its quotes?)."
                )
                % {"cells": len(cells), "columns": width},
            )

    def error(self, column: str, code: str, reason: str) -> None:
        self.valid = False
        self.log.add(self.number, column, code, reason)

    def raw(self, column: str) -> str:
        position = self.positions.get(column)
        if position is None or position >= len(self.cells):
            return ""
        return self.cells[position].strip()

    def parse(
        self, column: str, parser: Callable[..., Any], *, required: bool = False, **options: Any
    ) -> Any:
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


# --- django-import-export: admin import = preview (dry run) + confirm (import) -----------------


class CsvImportFormat(base_formats.CSV):
    """CSV read with Linli's reader: UTF-8 or GB18030 (as Excel saves Chinese files), and the
    exact rows and row numbers kept for the import services (tablib drops blank lines and
    pads or rejects rows of the wrong width)."""

    def is_binary(self) -> bool:
        return True

    def get_read_mode(self) -> str:
        return "rb"

    def create_dataset(self, in_stream: bytes | str, **kwargs: Any) -> tablib.Dataset:
        if isinstance(in_stream, bytes):
            table = table_from_bytes(in_stream)
        else:
            table = table_from_stream(io.StringIO(in_stream, newline=""))
        rows = list(table.rows)
        width = len(table.header)
        dataset = tablib.Dataset(headers=table.header)
        for _number, cells in rows:
            dataset.append((list(cells) + [""] * width)[:width])
        dataset.linli_table = Table(header=table.header, rows=rows)
        return dataset


def report_to_result(
    report: ImportReport, *, header: list[str], rows: list[tuple[int, list[str]]]
) -> Result:
    """Translate an ImportReport into what import-export's admin templates show: every bad row
    with its errors per column (rows numbered as in the file), or a preview of the rows."""
    result = Result()
    result.diff_headers = list(header)
    result.total_rows = report.rows
    if not report.is_valid:
        cells_by_row = dict(rows)
        grouped: dict[int, dict[str, list[str]]] = {}
        for error in report.errors:
            grouped.setdefault(error.row, {}).setdefault(
                error.column or NON_FIELD_ERRORS, []
            ).append(error.reason)
        shown = list(grouped.items())[:SHOWN_ROWS_LIMIT]
        for number, reasons in shown:
            cells = header if number == HEADER_ROW else cells_by_row.get(number, [])
            result.append_invalid_row(
                number, dict(zip(header, cells, strict=False)), ValidationError(reasons)
            )
        hidden = report.error_count - sum(len(r) for _n, by in shown for r in by.values())
        if hidden > 0:
            result.append_invalid_row(
                "…",
                {},
                ValidationError(_("%(count)d more error(s) not shown.") % {"count": hidden}),
            )
        result.totals[RowResult.IMPORT_TYPE_INVALID] = len(grouped)
        return result
    result.totals[ACTION_NEW] = report.created
    result.totals[ACTION_UPDATE] = report.updated
    result.totals[ACTION_SKIP] = report.unchanged
    if report.dry_run:
        width = len(header)
        for number, cells in rows[:SHOWN_ROWS_LIMIT]:
            row_result = RowResult()
            row_result.import_type = report.row_actions.get(number, ACTION_NEW)
            row_result.diff = (list(cells) + [""] * width)[:width]
            result.append_row_result(row_result)
    return result


class ServiceResource(resources.ModelResource):
    """A resource whose import is one call to an import service (all rows validated together,
    written in one transaction or not at all) and whose export escapes formulas.

    `user` is the requesting user, passed in by the admin mixins below; exports use it to
    decide what to mask (phones).
    """

    def __init__(self, user: AbstractBaseUser | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user = user

    # The import service, e.g. `staticmethod(products_import)`: called with table, dry_run, by.
    import_service: Callable[..., ImportReport]

    def run_import(self, *, table: Table, dry_run: bool, by: Any) -> ImportReport:
        return self.import_service(table=table, dry_run=dry_run, by=by)

    def import_data(
        self,
        dataset: tablib.Dataset,
        dry_run: bool = False,
        raise_errors: bool = False,
        use_transactions: bool | None = None,
        collect_failed_rows: bool = False,
        rollback_on_validation_errors: bool = False,
        **kwargs: Any,
    ) -> Result:
        table = table_from_dataset(dataset)
        rows = list(table.rows)
        user = kwargs.get("user") or self.user
        by = user if getattr(user, "is_authenticated", False) else None
        report = self.run_import(
            table=Table(header=table.header, rows=rows), dry_run=dry_run, by=by
        )
        if raise_errors and not report.is_valid:
            first = report.errors[0]
            raise import_export_exceptions.ImportError(
                ValidationError(str(first)), number=first.row
            )
        return report_to_result(report, header=table.header, rows=rows)

    def export_field(self, field: Any, instance: Model, **kwargs: Any) -> Any:
        return formula_escape(super().export_field(field, instance, **kwargs))


class ImportAdminMixin(ImportMixin):
    """Admin import through a ServiceResource: CSV only, the preview is a dry run, and the
    import needs `<app>.import_<model>` (or `import_permission` when set)."""

    import_permission: str | None = None

    def has_import_permission(self, request: HttpRequest) -> bool:
        if self.import_permission:
            return request.user.has_perm(self.import_permission)
        return super().has_import_permission(request)

    def get_import_formats(self) -> list[type]:
        return [CsvImportFormat]

    def get_resource_kwargs(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict:
        kwargs = super().get_resource_kwargs(request, *args, **kwargs)
        kwargs["user"] = request.user
        return kwargs

    def process_result(self, result: Result, request: HttpRequest) -> HttpResponse:
        if result.has_validation_errors() or result.has_errors():
            # The file passed the preview but the data changed before confirming.
            messages.error(
                request,
                _("Nothing was imported: the file no longer passes validation. Upload it again."),
            )
            return HttpResponseRedirect(
                reverse(
                    "admin:{}_{}_import".format(*self.get_model_info()),
                    current_app=self.admin_site.name,
                )
            )
        return super().process_result(result, request)


class ExportAdminMixin(ExportMixin):
    """Admin export as CSV, formulas escaped by the resource, and `<app>.export_<model>` (or
    `export_permission`) required to see the button or open the URL."""

    export_permission: str | None = None

    def has_export_permission(self, request: HttpRequest) -> bool:
        if self.export_permission:
            return request.user.has_perm(self.export_permission)
        return super().has_export_permission(request)

    def get_export_formats(self) -> list[type]:
        return [base_formats.CSV]

    def get_resource_kwargs(self, request: HttpRequest, *args: Any, **kwargs: Any) -> dict:
        kwargs = super().get_resource_kwargs(request, *args, **kwargs)
        kwargs["user"] = request.user
        return kwargs


class ImportExportAdminMixin(ImportAdminMixin, ExportAdminMixin):
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"


# --- command-line output -----------------------------------------------------------------------


def report_lines(report: ImportReport, *, max_errors: int = 50) -> list[str]:
    """The report as lines for a terminal: every kept error up to `max_errors`, then counts."""
    lines = [str(error) for error in report.errors[:max_errors]]
    hidden = report.error_count - min(len(report.errors), max_errors)
    if hidden > 0:
        lines.append(_("… and %(count)d more error(s).") % {"count": hidden})
    lines.extend(report.notes)
    lines.append(report.summary())
    return lines
