"""`python manage.py suggestions_evaluate`: hit-rate@k of personal suggestions vs popularity."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import translation

from apps.catalog.services.suggestions import suggestions_evaluate


class Command(BaseCommand):
    help = (
        "Hold out each member's last basket and compare hit-rate@k of the co-purchase "
        "suggestions with the k most popular products."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--days", type=int, help="history window (default: the rules' window)")
        parser.add_argument("--day", type=dt.date.fromisoformat, help="first day not used")

    @translation.override("en")  # operator output in English (README "Languages")
    def handle(self, *args: Any, **options: Any) -> None:
        rates = suggestions_evaluate(day=options["day"], days=options["days"], k=options["k"])
        self.stdout.write(f"members evaluated: {rates.members} · rules learnt: {rates.rule_count}")
        self.stdout.write(f"hit-rate@{rates.k} co-purchase suggestions: {rates.rules_hit_rate:.3f}")
        self.stdout.write(
            f"hit-rate@{rates.k} most popular products:  {rates.popularity_hit_rate:.3f}"
        )
        lift = rates.lift_over_popularity
        if lift is not None:
            self.stdout.write(f"ratio: {lift:.2f}×")
