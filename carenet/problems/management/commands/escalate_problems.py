"""`carenet escalate_problems`: move overdue problems one level up (cron; the gunicorn master also runs it
every CARENET_ESCALATE_MINUTES). Safe to run as often as you like: a second run the same day does nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carenet.problems.escalation import escalate_overdue


class Command(BaseCommand):
    help = "Escalate overdue problems one level up (street -> district -> city) and notify that level."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="treat this date (YYYY-MM-DD) as today (for trials and tests)")

    def handle(self, *args: Any, **options: Any) -> None:
        today = None
        if options["today"]:
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError as exc:
                raise CommandError("--today must be a date like 2025-03-01") from exc
        count = escalate_overdue(today)
        self.stdout.write(f"{count} problems escalated")
