from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import translation

from linli.roles import roles_sync


class Command(BaseCommand):
    help = "Create or update the permission groups (HQ, owners, inspectors, suppliers)."

    @translation.override("en")  # operator output in English (README "Languages")
    def handle(self, *args: Any, **options: Any) -> None:
        for name, count in roles_sync().items():
            self.stdout.write(f"{name}: {count} permissions")
