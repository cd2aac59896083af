from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from linli.schedules import schedules_sync


class Command(BaseCommand):
    help = "Write the periodic schedules declared in linli/schedules.py to the beat database."

    def handle(self, *args: Any, **options: Any) -> None:
        for name in schedules_sync():
            self.stdout.write(f"scheduled: {name}")
