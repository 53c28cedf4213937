"""The demo network's organisations and accounts: one per office, one account per level and place.

Accounts are named after their place's statistical code (`district-120112`, `street-120112100`,
`village-120112100201`) so a tester can sign in anywhere without a lookup table; each district also has its
finance officer (`finance-120112`), who prepares and sends the payroll the specialist approves.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.hashers import make_password

from carenet.accounts.models import Organisation, OrganisationKind, Role, User
from carenet.demo import names
from carenet.demo.places import CITY_CODE, DISTRICTS, Street

SOCIAL_WORK_ORG = "和平之君社会工作服务中心"
SOCIAL_WORK_DISTRICT = "120101"  # 和平区: where the contracted social-work organisation sits
# 津南区: the district the demo is shown from (example accounts, the applications, this month's arrears).
MAIN_DISTRICT = "120112"

Kind = OrganisationKind


def _organisation_specs(streets: list[Street]) -> Iterable[tuple[str, str, str]]:
    """(division code, kind, name) of every demo organisation."""
    yield CITY_CODE, Kind.CITY_BUREAU, "天津市民政局"
    yield CITY_CODE, Kind.RESCUE_CENTRE, "天津市未成年人救助保护中心"
    yield CITY_CODE, Kind.CHARITY, "天津市慈善协会"
    yield CITY_CODE, Kind.WELFARE_INSTITUTION, "天津市儿童福利院"
    yield SOCIAL_WORK_DISTRICT, Kind.SOCIAL_WORK_ORG, SOCIAL_WORK_ORG
    for district in DISTRICTS:
        yield district.code, Kind.DISTRICT_BUREAU, f"天津市{district.name}民政局"
        yield district.code, Kind.RESCUE_CENTRE, f"天津市{district.name}未成年人救助保护中心"
    for street in streets:
        yield street.code, Kind.STREET_OFFICE, f"{street.name}{'人民政府' if street.is_town else '办事处'}"
        for village in street.villages:
            # Villages elect a 村民委员会, urban communities a 居民委员会.
            yield (
                village.code,
                Kind.VILLAGE_COMMITTEE,
                f"{village.name}{'村民委员会' if village.rural else '居民委员会'}",
            )


def create_organisations(streets: list[Street], division_ids: dict[str, int]) -> dict[tuple[str, str], int]:
    """Returns the organisation id per (division code, kind)."""
    orgs = [
        Organisation(division_id=division_ids[code], kind=kind, name=name)
        for code, kind, name in _organisation_specs(streets)
    ]
    Organisation.objects.bulk_create(orgs, batch_size=2000)
    code_of = {pk: code for code, pk in division_ids.items()}
    rows = Organisation.objects.values_list("division_id", "kind", "pk")
    return {(code_of[division_id], kind): pk for division_id, kind, pk in rows if division_id in code_of}


def _account_specs(streets: list[Street]) -> Iterable[tuple[str, str, str, str]]:
    """(username, role, division code, organisation kind) of every demo account."""
    yield "city", Role.CITY_ADMIN, CITY_CODE, Kind.CITY_BUREAU
    yield "socialworker", Role.SOCIAL_WORKER, CITY_CODE, Kind.SOCIAL_WORK_ORG
    yield "charity", Role.CHARITY_STAFF, CITY_CODE, Kind.CHARITY
    yield "auditor", Role.AUDITOR, CITY_CODE, Kind.CITY_BUREAU
    for district in DISTRICTS:
        yield f"district-{district.code}", Role.DISTRICT_SPECIALIST, district.code, Kind.DISTRICT_BUREAU
    for street in streets:
        yield f"street-{street.code}", Role.STREET_SUPERVISOR, street.code, Kind.STREET_OFFICE
        for village in street.villages:
            yield f"village-{village.code}", Role.VILLAGE_DIRECTOR, village.code, Kind.VILLAGE_COMMITTEE
    # Last, so the accounts above keep the names (and ids) they had before finance officers were added.
    for district in DISTRICTS:
        yield f"finance-{district.code}", Role.DISTRICT_FINANCE, district.code, Kind.DISTRICT_BUREAU


def create_users(
    streets: list[Street], division_ids: dict[str, int], orgs: dict[tuple[str, str], int], rng: random.Random
) -> dict[str, int]:
    """All demo accounts with the demo password. Returns the user id per username."""
    # One PBKDF2 hash shared by every account: hashing thousands of times would take minutes.
    password = make_password(settings.DEMO_PASSWORD)
    users = []
    for username, role, code, kind in _account_specs(streets):
        org_code = SOCIAL_WORK_DISTRICT if kind == Kind.SOCIAL_WORK_ORG else code
        last, first = names.staff_name(rng)
        users.append(
            User(
                username=username,
                password=password,
                first_name=first,
                last_name=last,
                role=role,
                division_id=division_ids[code],
                organisation_id=orgs[(org_code, kind)],
                phone=f"1{rng.choice('3579')}{rng.randrange(10**9):09d}",
            )
        )
    User.objects.bulk_create(users, batch_size=2000)
    wanted = {u.username for u in users}
    return {name: pk for name, pk in User.objects.values_list("username", "pk") if name in wanted}


def sign_in_examples(district: str = "120112") -> tuple[str, str] | None:
    """A street and a village account of the demo to name on the sign-in page: the first street of
    `district` that has a village, and its first village. The codes are the city's own and depend on the
    demo's seed, so they are read from the divisions (public statistical codes, no personal data); None
    when the demo city is not there."""
    from carenet.accounts.models import Division

    village = (
        Division.objects.filter(code__startswith=district, code__regex=r"^[0-9]{12}$")
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    if village is None:
        return None
    return f"street-{village[:9]}", f"village-{village}"
