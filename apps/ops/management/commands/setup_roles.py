from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from linli.roles import roles_sync


class Command(BaseCommand):
    help = "Create or update the permission groups (HQ, owners, inspectors, suppliers)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, count in roles_sync().items():
            self.stdout.write(f"{name}: {count} permissions")
