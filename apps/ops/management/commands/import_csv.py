from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from apps.campaigns.services.promotion_import import promotions_import
from apps.catalog.services.imports import categories_import, products_import, weather_import
from apps.customers.services.imports import community_messages_import, members_import
from apps.procurement.services.imports import supplier_products_import, suppliers_import
from apps.stores.services.master_import import regions_import, stores_import
from apps.stores.services.sales_import import sales_history_import
from apps.stores.services.stock_import import stock_levels_import
from linli.imports.contract import (
    ImportReport,
    csv_table_open,
    report_lines,
)

IMPORTS: dict[str, Callable[..., ImportReport]] = {
    "regions": regions_import,
    "stores": stores_import,
    "categories": categories_import,
    "members": members_import,
    "products": products_import,
    "stock_levels": stock_levels_import,
    "suppliers": suppliers_import,
    "supplier_products": supplier_products_import,
    "sales_history": sales_history_import,
    "chat_messages": community_messages_import,
    "promotions": promotions_import,
    "weather": weather_import,
}


class Command(BaseCommand):
    help = (
        "Import one CSV file of the given kind: all rows or none, every bad row reported. "
        "Formats: docs/csv-formats.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(IMPORTS))
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and count; write nothing."
        )
        parser.add_argument("--encoding", help="File encoding (default: UTF-8, else GB18030).")
        parser.add_argument(
            "--max-errors", type=int, default=50, help="Errors to print (all are counted)."
        )
        parser.add_argument("--user", help="Username recorded as the author (stock movements).")

    @translation.override("en")  # operator output in English (README "Languages")
    def handle(self, *args: Any, **options: Any) -> None:
        by = None
        if options["user"]:
            by = get_user_model().objects.filter(username=options["user"]).first()
            if by is None:
                raise CommandError(_("No user “%(name)s”.") % {"name": options["user"]})
        try:
            with csv_table_open(options["path"], encoding=options["encoding"]) as table:
                report = IMPORTS[options["kind"]](table=table, dry_run=options["dry_run"], by=by)
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
