"""`carenet visit_tally check|compact|rebuild`: look after the visit tally (visits.tally).

check   compares the tally with the schedule; prints each difference (street, due date, visited, tally,
        schedule: no personal data) and exits 1 when there is any
compact folds the changes the schedule's triggers appended into the tally (`carenet serve` does it on its
        timer and readers do it when many have piled up; this is for cron or after a bulk load)
rebuild recomputes the tally from the schedule
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from carenet.visits import tally


class Command(BaseCommand):
    help = "Check, compact or rebuild the visit tally (the counts of scheduled children per street)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["check", "compact", "rebuild"])

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "compact":
            self.stdout.write(f"{tally.compact()} changes folded in")
        elif action == "rebuild":
            self.stdout.write(f"tally rebuilt: {tally.rebuild()} rows")
        else:
            differences = tally.check()
            for d in differences:
                self.stdout.write(
                    f"{d.street_code} {d.next_due_on.isoformat()} {'visited' if d.visited else 'never visited'}: "
                    f"tally {d.tally}, schedule {d.schedule}"
                )
            if differences:
                self.stdout.write(f"{len(differences)} differences; `carenet visit_tally rebuild` mends them")
                sys.exit(1)
            self.stdout.write("the tally agrees with the schedule")
