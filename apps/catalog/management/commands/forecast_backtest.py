"""`python manage.py forecast_backtest`: WAPE, bias and MASE per method — overall, per
category and on promoted / unpromoted days — on rolling origins, which method will serve each
category, and one closing line: the served forecast against the best baseline."""

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
        parser.add_argument(
            "--end",
            type=dt.date.fromisoformat,
            help="first day not used (ISO); default: the day after the last day with sales",
        )
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
        methods = [m for m in fc.REPORTED if m in result.overall]
        header = f"{'':<24} " + " ".join(f"{m[:17]:>17}" for m in methods) + "  serving"
        write("WAPE / bias per method (MASE in the stored metrics)")
        write(header)
        rows = [("ALL", result.overall, None)]
        for segment in (fc.PROMOTED, fc.UNPROMOTED):
            rows.append((f"{segment} days", result.segments.get(segment, {}), None))
        for code, scores in sorted(result.categories.items()):
            category_id = outcome.codes.category_of(code)
            rows.append((names.get(category_id, str(code)), scores, outcome.choices.get(code)))
        for name, scores, choice in rows:
            cells = " ".join(
                f"{_percent(scores[m].wape) if m in scores else '':>8} "
                f"{_signed(scores[m].bias) if m in scores else '':>8}"
                for m in methods
            )
            write(f"{name[:24]:<24} {cells}  {choice[0] if choice else ''}")
        mase = {m: result.overall[m].mase for m in methods}
        write("MASE overall: " + ", ".join(f"{m} {_number(v)}" for m, v in mase.items()))
        write("serving: per category, the model (mean) where it beats the best servable baseline")
        if outcome.backtest is not None:
            write(self.style.SUCCESS(f"saved backtest #{outcome.backtest.pk} and serving choices"))
        for segment in (fc.PROMOTED, fc.UNPROMOTED):
            write(_headline_line(f"{segment} days:", result.segments.get(segment, {})))
        write(_median_line(result.overall))
        write(_headline_line("overall:", result.overall))


def _signed(value: float | None) -> str:
    return "   n/a" if value is None else f"{value * 100:+5.1f}%"


def _median_line(scores: dict) -> str:
    """The model's median (reported, never served) against the best of every baseline, mean
    or median: WAPE rewards a median, so a median is only fairly compared with medians too."""
    best = fc.best_median_baseline(scores)
    median = scores[fc.MODEL_MEDIAN].wape if fc.MODEL_MEDIAN in scores else None
    if best is None or median is None:
        return "median (not served): no baseline or median could be scored"
    gain = fc.improvement(median, best[1])
    direction = "lower" if gain >= 0 else "higher"
    return (
        f"median (not served): best of every baseline {best[0]} WAPE "
        f"{_percent(best[1]).strip()}, model median WAPE {_percent(median).strip()}: "
        f"{abs(gain) * 100:.1f}% {direction}"
    )


def _headline_line(label: str, scores: dict) -> str:
    """'… best baseline moving_average_28 92.0% … served forecast 80.7% … 12.3% lower'."""
    best = fc.best_baseline(scores)
    served = scores[fc.MODEL].wape if fc.MODEL in scores else None
    if best is None or served is None:
        return f"{label} no baseline or forecast could be scored"
    gain = fc.improvement(served, best[1])
    direction = "lower" if gain >= 0 else "higher"
    return (
        f"{label} best baseline {best[0]} WAPE {_percent(best[1]).strip()}, "
        f"served forecast (model mean) WAPE {_percent(served).strip()}: "
        f"{abs(gain) * 100:.1f}% {direction}"
    )
