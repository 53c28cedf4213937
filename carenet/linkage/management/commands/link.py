"""`carenet link …` inside Django (call_command, manage.py): the same as the console script's Django-free
path (carenet/linkage/cli.py), which `carenet link` takes."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carenet.linkage import cli


class Command(BaseCommand):
    help = "Link a list to a reference set: for every list record, which reference record it is, if any."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = cli.run(options.pop("list"), options.pop("reference"), **options)
        except cli.UsageError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(summary, ensure_ascii=False))
