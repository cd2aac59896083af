"""`python manage.py forecast_backtest`: WAPE and MASE per method and category on rolling
origins, and which method will serve each category."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from apps.catalog.analytics import forecast as fc
from apps.catalog.models import Category
from apps.catalog.services.forecasts import forecast_backtest_run
from apps.catalog.sources import planning_sources


def _percent(value: float | None) -> str:
    return "   n/a" if value is None else f"{value * 100:5.1f}%"


def _number(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:5.3f}"


class Command(BaseCommand):
    help = "Backtest the demand forecast against the baselines on rolling origins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--origins", type=int, default=4, help="rolling origins (default 4)")
        parser.add_argument("--step", type=int, default=7, help="days between origins")
        parser.add_argument("--stores", type=int, default=40, help="stores sampled (default 40)")
        parser.add_argument("--end", type=dt.date.fromisoformat, help="first day not used (ISO)")
        parser.add_argument("--max-rows", type=int, default=200_000, help="training rows cap")
        parser.add_argument(
            "--no-save", action="store_true", help="only print; keep the serving choices"
        )

    @translation.override("en")  # operator output in English (README "Languages")
    def handle(self, *args: Any, **options: Any) -> None:
        try:
            outcome = forecast_backtest_run(
                end_day=options["end"],
                origins=options["origins"],
                origin_step=options["step"],
                sample_stores=options["stores"],
                max_rows=options["max_rows"],
                save=not options["no_save"],
                progress=lambda message: self.stdout.write(message),
                sources=planning_sources(),
            )
        except ValueError as error:
            raise CommandError(f"Cannot backtest: {error}") from error
        result = outcome.result
        names = dict(Category.objects.values_list("pk", "name"))
        write = self.stdout.write
        write(
            f"origins: {', '.join(day.isoformat() for day in result.origins)} · "
            f"horizon {fc.HORIZON} days · {result.series_count} series"
        )
        header = f"{'category':<24} " + " ".join(f"{m[:18]:>18}" for m in fc.REPORTED) + "  serving"
        write("WAPE / MASE")
        write(header)
        rows = [("ALL", result.overall, None)]
        for code, scores in sorted(result.categories.items()):
            category_id = outcome.codes.category_of(code)
            rows.append((names.get(category_id, str(code)), scores, outcome.choices.get(code)))
        for name, scores, choice in rows:
            cells = " ".join(
                f"{_percent(scores[m].wape):>9} {_number(scores[m].mase):>8}" for m in fc.REPORTED
            )
            write(f"{name[:24]:<24} {cells}  {choice[0] if choice else ''}")
        naive = result.overall[fc.SEASONAL_NAIVE].wape
        for method, label in ((fc.MODEL, "model (mean)"), (fc.MODEL_MEDIAN, "model (median)")):
            model = result.overall[method].wape
            if model is not None and naive:
                write(
                    f"{label} WAPE {_percent(model)} vs seasonal naive {_percent(naive)}: "
                    f"{(1 - model / naive) * 100:.1f}% lower"
                )
        write("serving: per category, the model (mean) where it beats the best baseline's WAPE")
        if outcome.backtest is not None:
            write(self.style.SUCCESS(f"saved backtest #{outcome.backtest.pk} and serving choices"))
