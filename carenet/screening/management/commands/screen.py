"""`carenet screen`: import department lists, screen them against the registry, or run the screening worker.

    carenet screen import FILE --kind death --date 2026-11-01 [--department 市公安局]
    carenet screen run [--list ID ...]        # every list and the registry checks when no --list
    carenet screen worker [--once]            # executes queued runs (CARENET_SCREENING_RUNNER=worker)

The command line acts as the city's operator: lists are filed under the city and runs cover every district.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carenet.core.errors import CarenetError, RowErrors
from carenet.linkage.normalise import parse_date
from carenet.screening import imports, runs
from carenet.screening.models import ListKind, RunState


class Command(BaseCommand):
    help = "Screening (政策找人): import department lists, run screening, or run the worker."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("import", help="import one department list")
        p.add_argument("file")
        p.add_argument("--kind", required=True, choices=ListKind.values)
        p.add_argument(
            "--date", required=True, help="the date of the list (2026-11-01, 2026/11/1, 20261101 …)"
        )
        p.add_argument("--department", default="")
        r = sub.add_parser("run", help="screen lists against the registry now, printing progress")
        r.add_argument("--list", type=int, action="append", dest="lists", help="a list id (repeatable)")
        w = sub.add_parser("worker", help="execute queued screening runs")
        w.add_argument("--once", action="store_true", help="execute what is queued, then stop")
        w.add_argument("--poll", type=float, default=2.0)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "import":
            self._import(options)
        elif action == "run":
            self._run(options["lists"])
        else:
            runs.worker(poll=options["poll"], once=options["once"])

    def _import(self, options: dict[str, Any]) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        list_date = parse_date(options["date"])
        if list_date is None:
            raise CommandError(f"--date {options['date']!r} is not a date")
        try:
            dept_list = imports.import_list(
                actor=None,
                kind=options["kind"],
                list_date=list_date,
                filename=path.name,
                content=path.read_bytes(),
                department=options["department"],
            )
        except RowErrors as exc:
            for row, message in exc.errors:
                self.stderr.write(f"row {row}: {message}")
            raise CommandError(exc.message) from exc
        except CarenetError as exc:
            raise CommandError(f"{exc.field or 'error'}: {exc.message}") from exc
        self.stdout.write(
            json.dumps({"list": dept_list.pk, "rows": dept_list.row_count, "sha256": dept_list.sha256})
        )

    def _run(self, lists: list[int] | None) -> None:
        started = dt.datetime.now()
        try:
            run = runs.enqueue(actor=None, list_ids=lists, runner="inline")  # here, printing when it is done
        except CarenetError as exc:
            raise CommandError(exc.message) from exc
        seconds = (dt.datetime.now() - started).total_seconds()
        out = {
            "run": run.pk,
            "state": run.state,
            "created": run.created,
            "unchanged": run.unchanged,
            "reopened": run.reopened,
            "seconds": round(seconds, 2),
        }
        self.stdout.write(json.dumps(out))
        if run.state != RunState.DONE:
            raise CommandError(f"run {run.pk} failed: {run.error}")
