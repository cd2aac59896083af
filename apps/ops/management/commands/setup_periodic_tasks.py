from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import translation

from linli.schedules import schedules_sync


class Command(BaseCommand):
    help = "Write the periodic schedules declared in linli/schedules.py to the beat database."

    @translation.override("en")  # operator output in English (README "Languages")
    def handle(self, *args: Any, **options: Any) -> None:
        for name in schedules_sync():
            self.stdout.write(f"scheduled: {name}")
