from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from apps.training.services import articles_reindex


class Command(BaseCommand):
    help = (
        "Re-cut the search tokens of every knowledge-base article (docs/knowledge-base.md), "
        "after the tokenizer's vocabulary changed. Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        count = articles_reindex()
        self.stdout.write(
            f"Knowledge base: {count} articles re-indexed in {time.monotonic() - started:.1f}s."
        )
