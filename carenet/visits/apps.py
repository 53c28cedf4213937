from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class VisitsConfig(AppConfig):
    name = "carenet.visits"
    label = "visits"

    def ready(self) -> None:
        from carenet.visits import schedule  # noqa: F401  (connects the registry signals)

        post_migrate.connect(_tally_after_flush, sender=self)


def _tally_after_flush(using: str = "default", **kwargs: Any) -> None:
    """`flush` (and a test database emptied between transactional tests) deletes the tables one by one, in
    no fixed order on SQLite, where the schedule's delete trigger fires: when the tally's tables go first,
    deleting the schedule appends changes to a tally that is already gone. Django sends post_migrate after
    a flush: with no schedule left, no tally row may be left either. (With a schedule, this does nothing.)"""
    from django.db import connections

    from carenet.visits.models import VisitSchedule, VisitTally, VisitTallyChange

    if VisitTally._meta.db_table not in connections[using].introspection.table_names():
        return  # migrated back to before the tally
    if not VisitSchedule.objects.using(using).exists():
        VisitTallyChange.objects.using(using).delete()
        VisitTally.objects.using(using).delete()
