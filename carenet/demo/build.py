"""`demo_build`: the whole demo city in one transaction — it lands completely or not at all."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from carenet.accounts.models import Division, DivisionLevel, User
from carenet.accounts.services import divisions_import
from carenet.demo import benefits, places, staff, visits
from carenet.demo.population import PopulationStats, VillageContext, populate
from carenet.registry.models import Caseload, Child, ChildStatus

DEFAULT_SEED = 20240601
DEFAULT_CHILDREN = 12_000
CASELOAD_SIZE = 30


@dataclass
class DemoResult:
    divisions: int
    organisations: int
    users: int
    population: PopulationStats
    caseload: int
    seconds: float
    visits: visits.VisitStats | None = None
    benefits: benefits.BenefitStats | None = None


def demo_build(
    *,
    children: int = DEFAULT_CHILDREN,
    seed: int = DEFAULT_SEED,
    workers: int | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> DemoResult:
    """Build the demo city. Each phase draws from its own random stream, so the division tree and the
    accounts are the same whatever the number of children. `workers`: generator processes
    (None: automatic, one per CPU for big PostgreSQL builds); the result does not depend on it."""
    started = time.monotonic()
    with transaction.atomic():
        streets = places.generate_tree(random.Random(f"{seed}:places"))
        imported = divisions_import(rows=places.division_rows(streets))
        division_ids = dict(Division.objects.values_list("code", "pk"))
        log(f"  divisions: {imported.created:,} created ({time.monotonic() - started:.1f} s)")
        orgs = staff.create_organisations(streets, division_ids)
        users = staff.create_users(streets, division_ids, orgs, random.Random(f"{seed}:staff"))
        log(f"  organisations {len(orgs):,}, accounts {len(users):,} ({time.monotonic() - started:.1f} s)")
        contexts = _village_contexts(streets, division_ids, users)
        stats = populate(
            contexts=contexts,
            total=children,
            seed=f"{seed}:people",
            today=timezone.localdate(),
            log=log,
            workers=workers,
        )
        caseload = _assign_caseload(users)
        visit_stats = visits.populate_visits(
            users=users, seed=f"{seed}:visits", today=timezone.localdate(), log=log, workers=workers
        )
        benefit_stats = benefits.populate_benefits(
            users=users, seed=f"{seed}:benefits", today=timezone.localdate(), log=log
        )
    return DemoResult(
        divisions=imported.created + imported.updated + imported.unchanged,
        organisations=len(orgs),
        users=len(users),
        population=stats,
        caseload=caseload,
        seconds=time.monotonic() - started,
        visits=visit_stats,
        benefits=benefit_stats,
    )


def _village_contexts(
    streets: list[places.Street], division_ids: dict[str, int], users: dict[str, int]
) -> list[VillageContext]:
    return [
        VillageContext(
            village=village,
            street=street,
            division_id=division_ids[village.code],
            director_id=users[f"village-{village.code}"],
            specialist_id=users[f"district-{street.district.code}"],
        )
        for street in streets
        for village in street.villages
    ]


def _assign_caseload(users: dict[str, int]) -> int:
    """The social worker's caseload: children of 和平区 (where the organisation works) first, then others."""
    active = Child.objects.filter(status=ChildStatus.ACTIVE).order_by("id")
    picked = list(
        active.filter(division_code__startswith=staff.SOCIAL_WORK_DISTRICT).values_list(
            "id", "division_code"
        )[:CASELOAD_SIZE]
    )
    if len(picked) < CASELOAD_SIZE:
        seen = {pk for pk, _code in picked}
        more = active.exclude(division_code__startswith=staff.SOCIAL_WORK_DISTRICT).values_list(
            "id", "division_code"
        )
        picked += [row for row in more[: CASELOAD_SIZE * 2] if row[0] not in seen][
            : CASELOAD_SIZE - len(picked)
        ]
    worker = users["socialworker"]
    rows = [
        Caseload(user_id=worker, child_id=pk, assigned_by_id=users[f"district-{code[:6]}"])
        for pk, code in picked
    ]
    Caseload.objects.bulk_create(rows)
    return len(rows)


def demo_exists() -> bool:
    return Division.objects.exists()


def demo_account_examples() -> list[User]:
    """Accounts to print after the build: the city, 津南区 (its specialist and its finance officer), its busiest
    village and that village's street (so the example director has children to look at), and the side roles."""
    busiest = (
        Child.objects.filter(division_code__startswith="120112")
        .values("division_code")
        .annotate(n=Count("id"))
        .order_by("-n", "division_code")
        .first()
    )
    if busiest:
        village = busiest["division_code"]
    else:
        first = (
            Division.objects.filter(level=DivisionLevel.VILLAGE, code__startswith="120112")
            .order_by("code")
            .first()
        )
        village = first.code if first else ""
    wanted = [
        "city",
        "district-120112",
        "finance-120112",
        f"street-{village[:9]}",
        f"village-{village}",
        "socialworker",
        "charity",
        "auditor",
    ]
    found = {u.username: u for u in User.objects.filter(username__in=wanted).select_related("division")}
    return [found[name] for name in wanted if name in found]
