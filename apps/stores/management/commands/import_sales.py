from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.stores.services.sales_import import DEFAULT_BATCH_SIZE, sales_history_import
from linli.imports.contract import (
    csv_table_open,
    report_lines,
)


class Command(BaseCommand):
    help = (
        "Import a POS sales history CSV (one row per order line) set-wise: all rows or none. "
        "Format: docs/csv-formats.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and count; write nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help="Lines validated and loaded at a time (default %(default)s).",
        )
        parser.add_argument("--encoding", help="File encoding (default: UTF-8, else GB18030).")
        parser.add_argument(
            "--max-errors", type=int, default=50, help="Errors to print (all are counted)."
        )

    @translation.override("en")  # operator output in English (README "Languages")
    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        try:
            with csv_table_open(options["path"], encoding=options["encoding"]) as table:
                report = sales_history_import(
                    table=table, dry_run=options["dry_run"], batch_size=options["batch_size"]
                )
        except OSError as error:
            raise CommandError(str(error)) from error
        except UnicodeDecodeError as error:
            raise CommandError(
                _("The file is not in the expected encoding (%(reason)s); try --encoding.")
                % {"reason": error}
            ) from error
        for line in report_lines(report, max_errors=options["max_errors"]):
            self.stdout.write(line)
        if not report.is_valid:
            raise CommandError(report.summary())
        numbers = {
            "orders": ngettext(
                "%(count)d order in the file", "%(count)d orders in the file", report.orders_in_file
            )
            % {"count": report.orders_in_file},
            "lines": (
                ngettext(
                    "%(count)d line would be written.",
                    "%(count)d lines would be written.",
                    report.lines_created,
                )
                if report.dry_run
                else ngettext(
                    "%(count)d line written.", "%(count)d lines written.", report.lines_created
                )
            )
            % {"count": report.lines_created},
        }
        self.stdout.write(_("%(orders)s; %(lines)s") % numbers)
        if options["verbosity"] > 1:
            for phase, seconds in report.timings.items():
                self.stdout.write(f"{phase}: {seconds:.2f} s")
