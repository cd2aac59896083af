from __future__ import annotations

import datetime as dt
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from apps.catalog.models import run_warning_text
from apps.ops.demo.derived import (
    DECISIONS_NOW,
    DECISIONS_SPLIT,
    DECISIONS_WORKER,
    demo_derived_compute,
)
from apps.ops.demo.orders import BASE_ORDERS_PER_STORE_DAY
from apps.ops.demo.seed import (
    DEMO_PASSWORD,
    DemoOptions,
    demo_data_seed,
    demo_database_is_empty,
)


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(_("--end-day must look like 2026-08-31.")) from error


def default_base_url() -> str:
    """Where bin/run serves the site: the same HOST and PORT variables, the same defaults."""
    host = os.environ.get("HOST") or "127.0.0.1"
    port = os.environ.get("PORT") or "8000"
    return f"http://{host}:{port}"


class Command(BaseCommand):
    help = (
        "Fill an empty database with deterministic demo data: stores, members, catalogue, "
        "suppliers, order history with planted patterns, stock, chats, NPS and demo logins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stores", type=int, default=200)
        parser.add_argument("--members", type=int, default=20_000)
        parser.add_argument("--days", type=int, default=90, help="days of order history")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--orders-per-day",
            type=float,
            default=BASE_ORDERS_PER_STORE_DAY,
            help=(
                "expected baskets per store and day before the store size and day factors "
                f"(default {BASE_ORDERS_PER_STORE_DAY:g}; a busy community store serves several "
                "hundred)"
            ),
        )
        parser.add_argument(
            "--end-day",
            type=_day,
            default=None,
            help="last day of history (YYYY-MM-DD); default: yesterday, local time",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (successfully) when the database already has data",
        )
        parser.add_argument(
            "--base-url",
            default=None,
            help="printed in front of the logins; default: http://$HOST:$PORT, the address "
            "bin/run serves (127.0.0.1:8000 unless HOST / PORT are set)",
        )
        parser.add_argument(
            "--decisions",
            choices=[DECISIONS_SPLIT, DECISIONS_NOW, DECISIONS_WORKER],
            default=DECISIONS_SPLIT,
            help=(
                "today's decision run after loading: 'split' (default) computes the stores the "
                "demo logins see now, so their first login finds computed pages, and sends the "
                "whole run to the Celery worker; 'now' computes every store before the command "
                "returns; 'worker' sends the whole run to the worker (the pages fill when the "
                "worker has run it)"
            ),
        )
        parser.add_argument(
            "--no-compute",
            action="store_true",
            help=(
                "neither compute member profiles nor start today's decision run after loading "
                "(they appear after the nightly jobs, or HQ's 'run now' in the admin)"
            ),
        )

    # Operator output in English (README "Languages"); the demo's own data is written in the
    # project's language, as the nightly jobs and the pages would write it.
    @translation.override("en")
    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("stores", "members", "days"):
            if options[name] < 1:
                raise CommandError(_("--%(name)s must be at least 1.") % {"name": name})
        if not options["orders_per_day"] > 0:
            raise CommandError(_("--orders-per-day must be more than 0."))
        if not demo_database_is_empty():
            if options["if_empty"]:
                self.stdout.write(_("The database already has data: demo data not loaded."))
                return
            raise CommandError(
                _(
                    "The database already has stores, members, products or suppliers; "
                    "seed_demo only fills an empty database."
                )
            )
        progress = lambda message: self.stdout.write(f"  {message}")  # noqa: E731
        with translation.override(settings.LANGUAGE_CODE):
            summary = demo_data_seed(
                options=DemoOptions(
                    stores=options["stores"],
                    members=options["members"],
                    days=options["days"],
                    seed=options["seed"],
                    end_day=options["end_day"],
                    orders_per_day=options["orders_per_day"],
                ),
                progress=progress,
            )
        self.stdout.write(
            self.style.SUCCESS(
                _("Demo data loaded in %(seconds).1f s: history %(first)s … %(last)s.")
                % {"seconds": summary.seconds, "first": summary.first_day, "last": summary.last_day}
            )
        )
        for label, count in summary.counts.items():
            self.stdout.write(f"  {label}: {count}")
        for name, confidence in summary.rule_confidence.items():
            self.stdout.write(
                "  "
                + _("planted %(rule)s: confidence %(value).3f")
                % {"rule": name, "value": confidence}
            )
        if not options["no_compute"]:
            with translation.override(settings.LANGUAGE_CODE):
                derived = demo_derived_compute(
                    today=summary.last_day + dt.timedelta(days=1),
                    decisions=options["decisions"],
                    progress=progress,
                )
            self.stdout.write(
                self.style.SUCCESS(
                    _(
                        "Member profiles computed as the nightly job would: %(count)d "
                        "(%(seconds).1f s)."
                    )
                    % {"count": derived.profiles, "seconds": derived.profiles_seconds}
                )
            )
            if derived.decisions == DECISIONS_NOW or (
                derived.decisions == DECISIONS_SPLIT and derived.rest_sent is None
            ):
                self.stdout.write(
                    self.style.SUCCESS(
                        _("Today's decision run: %(status)s (%(seconds).1f s).")
                        % {"status": derived.decision_status, "seconds": derived.decisions_seconds}
                    )
                )
            elif derived.decisions == DECISIONS_SPLIT:
                self.stdout.write(
                    self.style.SUCCESS(
                        _(
                            "Today's decisions for the demo logins' %(count)d stores: "
                            "%(status)s (%(seconds).1f s)."
                        )
                        % {
                            "count": derived.stores_now,
                            "status": derived.decision_status,
                            "seconds": derived.decisions_seconds,
                        }
                    )
                )
                if derived.rest_sent:
                    self.stdout.write(
                        _(
                            "Today's decision run for all %(count)d stores was sent to the "
                            "Celery worker: it runs as soon as the worker is up (progress in "
                            "the admin, Decision runs)."
                        )
                        % {"count": derived.stores_total}
                    )
                else:
                    self.stdout.write(
                        self.style.WARNING(
                            _(
                                "Today's decision run for the other stores could not be sent "
                                "to the worker; HQ can start it in the admin (Decision runs, "
                                "Run the nightly jobs now)."
                            )
                        )
                    )
            elif derived.decisions == DECISIONS_WORKER:
                self.stdout.write(
                    _(
                        "Today's decision run was sent to the Celery worker: it runs as soon as "
                        "the worker is up (progress in the admin, Decision runs)."
                    )
                )
            else:
                self.stdout.write(
                    self.style.WARNING(
                        _(
                            "Today's decision run could not be sent to the worker; HQ can start "
                            "it in the admin (Decision runs, Run the nightly jobs now)."
                        )
                    )
                )
            for warning in derived.warnings:
                self.stdout.write(self.style.WARNING(f"  warning: {run_warning_text(warning)}"))
        base = (options["base_url"] or default_base_url()).rstrip("/")
        self.stdout.write("")
        self.stdout.write(
            _("Demo logins (password for all: %(password)s)") % {"password": DEMO_PASSWORD}
        )
        for account in summary.accounts:
            self.stdout.write(
                f"  {account.username:<11} {account.role:<40} {base}{account.url_path}"
            )
