from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation

from apps.stores.kpis.services import (
    kpi_history_backfill,
    kpi_snapshots_backfill,
    kpi_snapshots_compute,
    kpi_snapshots_refresh,
)
from apps.stores.services.kpis import BACKFILL_MAX_DAYS


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"{text!r} is not a day like 2026-07-01.") from error


class Command(BaseCommand):
    help = (
        "Compute the monthly KPI snapshots (docs/kpis.md) now: one month (--month 2026-07), "
        "or every month since the first order (--all). Without options: last month and this "
        "month, like the nightly job. After importing a history: --from/--to (or --days N, "
        f"up to yesterday) computes the stores' daily KPI rows of those days (at most "
        f"{BACKFILL_MAX_DAYS}) and the pack of every month they touch. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="A month as YYYY-MM.")
        parser.add_argument(
            "--all", action="store_true", help="Every month since the first counted order."
        )
        parser.add_argument("--from", dest="first_day", help="First day to backfill (YYYY-MM-DD).")
        parser.add_argument("--to", dest="last_day", help="Last day to backfill (YYYY-MM-DD).")
        parser.add_argument(
            "--days", type=int, help="Backfill the N days up to yesterday (with --to: up to it)."
        )

    @translation.override("en")  # operator output in English (README "Languages")
    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["first_day"] or options["last_day"] or options["days"] is not None:
            self._backfill(options)
            written = None
        elif options["month"]:
            try:
                month = dt.date.fromisoformat(f"{options['month']}-01")
            except ValueError as error:
                raise CommandError("--month must look like 2026-07.") from error
            written = kpi_snapshots_compute(month=month)
        elif options["all"]:
            written = kpi_snapshots_backfill()
        else:
            written = kpi_snapshots_refresh()
        rows = "done " if written is None else f"{written} rows written "
        self.stdout.write(f"KPI snapshots: {rows}in {time.monotonic() - started:.1f}s.")

    def _backfill(self, options: dict[str, Any]) -> None:
        last = (
            _day(options["last_day"])
            if options["last_day"]
            else timezone.localdate() - dt.timedelta(days=1)
        )
        if options["days"] is not None:
            if options["first_day"]:
                raise CommandError("Give --from or --days, not both.")
            if options["days"] < 1:
                raise CommandError("--days must be at least 1.")
            first = last - dt.timedelta(days=options["days"] - 1)
        elif options["first_day"]:
            first = _day(options["first_day"])
        else:
            raise CommandError("--to needs --from (or --days).")
        try:
            done = kpi_history_backfill(
                first_day=first,
                last_day=last,
                progress=lambda message: self.stdout.write(f"  {message}"),
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"KPI backfill {first} … {last}: {done['days']} days, {done['daily_rows']} daily "
            f"store rows; {done['months']} months, {done['monthly_rows']} KPI pack rows."
        )
