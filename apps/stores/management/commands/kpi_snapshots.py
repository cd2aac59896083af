from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.stores.kpis.services import (
    kpi_snapshots_backfill,
    kpi_snapshots_compute,
    kpi_snapshots_refresh,
)


class Command(BaseCommand):
    help = (
        "Compute the monthly KPI snapshots (docs/kpis.md) now: one month (--month 2026-07), "
        "or every month since the first order (--all). Without options: last month and this "
        "month, like the nightly job. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="A month as YYYY-MM.")
        parser.add_argument(
            "--all", action="store_true", help="Every month since the first counted order."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["month"]:
            try:
                month = dt.date.fromisoformat(f"{options['month']}-01")
            except ValueError as error:
                raise CommandError("--month must look like 2026-07.") from error
            written = kpi_snapshots_compute(month=month)
        elif options["all"]:
            written = kpi_snapshots_backfill()
        else:
            written = kpi_snapshots_refresh()
        self.stdout.write(
            f"KPI snapshots: {written} rows written in {time.monotonic() - started:.1f}s."
        )
