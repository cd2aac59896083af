"""`python manage.py decisions_run`: the nightly decision run, by hand, with progress."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from apps.catalog.services.nightly import DecisionRunBusy, DecisionRunLost, decisions_run
from apps.catalog.sources import planning_sources


def _store_ids(value: str) -> list[int]:
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError as error:
        raise CommandError("--stores takes comma-separated store ids") from error


class Command(BaseCommand):
    help = (
        "Compute co-purchase rules, forecasts with order suggestions, daily hot/new lists and "
        "insight cards for every open store (what the nightly beat task runs)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", type=dt.date.fromisoformat, help="list day (default today)")
        parser.add_argument("--stores", type=_store_ids, help="only these store ids (1,2,3)")
        parser.add_argument("--chunk-size", type=int, default=20, help="stores per transaction")
        parser.add_argument(
            "--force",
            action="store_true",
            help=(
                "recompute even if the day already has a finished run (a running run whose "
                "worker died is resumed either way; a live one is refused)"
            ),
        )

    @translation.override("en")  # operator output in English (README "Languages")
    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        try:
            run = decisions_run(
                day=options["day"],
                store_ids=options["stores"],
                chunk_size=options["chunk_size"],
                force=options["force"],
                progress=lambda message: self.stdout.write(f"  {message}"),
                sources=planning_sources(),
            )
        except (DecisionRunBusy, DecisionRunLost) as error:
            raise CommandError(str(error)) from error
        counts = run.stats.get("counts", {})
        self.stdout.write(
            self.style.SUCCESS(
                f"decision run #{run.pk} for {run.day}: {run.get_status_display()}, "
                f"{run.stores_done}/{run.stores_total} stores, "
                + ", ".join(f"{key} {value}" for key, value in counts.items())
            )
        )
        # The run's warnings (no trained model; cities without weather, whose stores are
        # forecast without it), as the admin shows them.
        for warning in run.warning_lines:
            self.stdout.write(self.style.WARNING(f"  warning: {warning}"))
        # What happened to its attempts (taken over, resumed), and why no backtest ran.
        for event in run.event_lines:
            self.stdout.write(self.style.WARNING(f"  attempt: {event}"))
        if run.backtest_note:
            self.stdout.write(self.style.WARNING(f"  backtest not run: {run.backtest_note}"))
