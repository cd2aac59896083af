"""django-import-export adapter: the admin's import and export go through the CSV contract.

`ServiceResource` plugs an import service (`linli.imports.contract`) into django-import-export:
its preview step is the service's dry run, its confirm step the real import, and the admin
shows the service's `RowError`s per row. Exports escape formulas. The admin mixins restrict
both to CSV and to the `import_<model>` / `export_<model>` permissions.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import tablib
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from import_export import exceptions as import_export_exceptions
from import_export import resources
from import_export.admin import ExportMixin, ImportMixin
from import_export.formats import base_formats
from import_export.forms import SelectableFieldsExportForm
from import_export.results import Result, RowResult
from import_export.tmp_storages import TempFolderStorage

from linli.imports.contract import (
    ACTION_NEW,
    ACTION_SKIP,
    ACTION_UPDATE,
    HEADER_ROW,
    ImportReport,
    Table,
    formula_escape,
    header_normalise,
    table_from_bytes,
    table_from_stream,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# The admin shows at most this many rows in its preview and error tables; counts cover all.
SHOWN_ROWS_LIMIT = 1000

# The contract's row actions as import-export's row import types.
IMPORT_TYPES = {
    ACTION_NEW: RowResult.IMPORT_TYPE_NEW,
    ACTION_UPDATE: RowResult.IMPORT_TYPE_UPDATE,
    ACTION_SKIP: RowResult.IMPORT_TYPE_SKIP,
}


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
                ValidationError(
                    ngettext(
                        "%(count)d more error not shown.",
                        "%(count)d more errors not shown.",
                        hidden,
                    )
                    % {"count": hidden}
                ),
            )
        result.totals[RowResult.IMPORT_TYPE_INVALID] = len(grouped)
        return result
    # What the import says besides its counts (e.g. orders imported without a member): shown
    # above the preview and again after the confirm (`ImportAdminMixin.process_result`).
    result.linli_notes = list(report.notes)
    result.linli_done_message = None if report.dry_run else report.done_message()
    result.totals[RowResult.IMPORT_TYPE_NEW] = report.created
    result.totals[RowResult.IMPORT_TYPE_UPDATE] = report.updated
    result.totals[RowResult.IMPORT_TYPE_SKIP] = report.unchanged
    if report.dry_run:
        width = len(header)
        for number, cells in rows[:SHOWN_ROWS_LIMIT]:
            row_result = RowResult()
            row_result.import_type = IMPORT_TYPES[report.row_actions.get(number, ACTION_NEW)]
            row_result.diff = (list(cells) + [""] * width)[:width]
            result.append_row_result(row_result)
    return result


class ImportAlreadyConfirmed(Exception):
    """The preview's temporary file was claimed by another confirm (or is gone)."""


class ClaimedTempFolderStorage(TempFolderStorage):
    """import-export's temporary file, claimed once by the confirm step: a `read()` of a file
    that this storage did not write itself (the preview reads what it saved) first renames the
    file to a name of its own, atomic on one file system. Of several confirms of one preview
    posted at once exactly one reads it; the others get `ImportAlreadyConfirmed`. `remove()`
    deletes the claimed file."""

    claimed_path: str | None = None
    saved_here = False

    def save(self, data: Any) -> None:
        super().save(data)
        self.saved_here = True

    def read(self) -> Any:
        if self.saved_here:
            return super().read()
        claimed = f"{self.get_full_path()}.{uuid.uuid4().hex}.claimed"
        try:
            os.rename(self.get_full_path(), claimed)
        except FileNotFoundError as error:
            raise ImportAlreadyConfirmed from error
        self.claimed_path = claimed
        with open(claimed, self.read_mode, encoding=self.encoding) as file:
            return file.read()

    def remove(self) -> None:
        os.remove(self.claimed_path or self.get_full_path())


class ServiceResource(resources.ModelResource):
    """A resource whose import is one call to an import service (all rows validated together,
    written in one transaction or not at all) and whose export escapes formulas.

    `user` is the requesting user, passed in by the admin mixins below; exports use it to
    decide what to mask (phones).
    """

    # What the admin's export page calls a column (its checkbox), for a column that is not
    # named after a field of the model: {column code: translated label}. The CSV header keeps
    # the codes (the documented formats).
    column_labels: ClassVar[dict[str, Promise]] = {}

    def __init__(self, user: AbstractBaseUser | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user = user

    @classmethod
    def column_label(cls, name: str) -> str:
        """The column's translated name: declared in `column_labels`, else the verbose name of
        the model field of the same name, else the code itself."""
        if name in cls.column_labels:
            return str(cls.column_labels[name])
        try:
            return str(cls._meta.model._meta.get_field(name).verbose_name)
        except (AttributeError, FieldDoesNotExist):
            return name

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

    def get_tmp_storage_class(self) -> type:
        return ClaimedTempFolderStorage

    def process_import(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Confirm runs an import once: a second confirm of the same preview (a double click,
        a resent form) finds its file claimed and says so instead of importing again."""
        try:
            return super().process_import(request, **kwargs)
        except ImportAlreadyConfirmed:
            messages.warning(
                request,
                _(
                    "This import was already confirmed (or has expired), so it was not run "
                    "again. Upload the file again to import it once more."
                ),
            )
            return HttpResponseRedirect(
                reverse(
                    "admin:{}_{}_changelist".format(*self.get_model_info()),
                    current_app=self.admin_site.name,
                )
            )

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
        for note in getattr(result, "linli_notes", ()):
            messages.warning(request, note)
        return super().process_result(result, request)

    def add_success_message(self, result: Result, request: HttpRequest) -> None:
        done = getattr(result, "linli_done_message", None)
        if done:
            messages.success(request, done)
        else:
            super().add_success_message(result, request)


class LabelledFieldsExportForm(SelectableFieldsExportForm):
    """The export page, its column checkboxes named in the page's language with the CSV column
    code they stand for ("现有库存（on_hand）"), where import-export title-cases the code
    ("On Hand"). `_get_field_label` is import-export's hook for that label (4.x)."""

    def _get_field_label(self, resource: type[resources.ModelResource], field_name: str) -> str:
        field = resource.fields.get(field_name)
        column = field.column_name if field is not None and field.column_name else field_name
        label_of = getattr(resource, "column_label", None)
        label = label_of(field_name) if label_of is not None else field_name
        if label.casefold() == column.casefold():  # "SKU" for sku
            return label
        return _("%(label)s (%(name)s)") % {"label": label, "name": column}


class ExportAdminMixin(ExportMixin):
    """Admin export as CSV (UTF-8 with a BOM, for Excel), formulas escaped by the resource,
    and `<app>.export_<model>` (or `export_permission`) required to see the button or open
    the URL."""

    export_permission: str | None = None
    # UTF-8 with a byte-order mark: without it Excel reads the Chinese as GBK and garbles it.
    to_encoding = "utf-8-sig"
    export_form_class = LabelledFieldsExportForm

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
