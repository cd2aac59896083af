"""`python manage.py suggestions_evaluate`: hit-rate@k and NDCG@k of the served suggestions
(the learned ranker) against both baselines (the k most popular products; "buy again") and
the blend it falls back to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation

from apps.catalog.services.suggestions import suggestions_evaluate
from apps.catalog.sources import planning_sources


class Command(BaseCommand):
    help = (
        "Hold out each member's last basket and compare hit-rate@k and NDCG@k of the served "
        "suggestions (the learned ranker, trained on the other baskets) with the k most "
        "popular products, each member's own most-bought products (buy again) and the blend "
        "of repeat purchase, co-purchase and popularity (the ranker's fallback)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--days", type=int, help="history window (default: the rules' window)")
        parser.add_argument("--day", type=dt.date.fromisoformat, help="first day not used")

    @translation.override("en")  # operator output in English (README "Languages")
    def handle(self, *args: Any, **options: Any) -> None:
        evaluation = suggestions_evaluate(
            day=options["day"],
            days=options["days"],
            k=options["k"],
            sources=planning_sources(),  # the planned promotions, as the nightly run reads them
        )
        for line in evaluation.lines():
            self.stdout.write(line)
