"""The demo city: one small build per module (400 children), then read-only checks on it."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction

from carenet.accounts.models import Division, DivisionLevel, Role, User
from carenet.core import idnumber
from carenet.demo import idgen, places, population
from carenet.registry.models import (
    Caseload,
    Category,
    CategoryMembership,
    Child,
    FamilyMember,
    Household,
    PersonStatus,
)

DISTRICTS = {
    "120101": "和平区",
    "120102": "河东区",
    "120103": "河西区",
    "120104": "南开区",
    "120105": "河北区",
    "120106": "红桥区",
    "120110": "东丽区",
    "120111": "西青区",
    "120112": "津南区",
    "120113": "北辰区",
    "120114": "武清区",
    "120115": "宝坻区",
    "120116": "滨海新区",
    "120117": "宁河区",
    "120118": "静海区",
    "120119": "蓟州区",
}
ROLE_BY_LEVEL = {
    DivisionLevel.DISTRICT: ("district", Role.DISTRICT_SPECIALIST),
    DivisionLevel.STREET: ("street", Role.STREET_SUPERVISOR),
    DivisionLevel.VILLAGE: ("village", Role.VILLAGE_DIRECTOR),
}


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """Built once for the module inside a transaction that is rolled back afterwards."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            out = io.StringIO()
            call_command("demo", children=400, seed=7, stdout=out, stderr=io.StringIO())
            yield out.getvalue()
            transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def test_the_sixteen_districts_have_their_real_codes_and_names(demo: str) -> None:
    districts = dict(Division.objects.filter(level=DivisionLevel.DISTRICT).values_list("code", "name"))
    assert districts == DISTRICTS
    assert Division.objects.get(code="12").name == "天津市"


def test_every_street_and_village_code_extends_its_parents(demo: str) -> None:
    rows = Division.objects.exclude(code="12").select_related("parent")
    assert rows.count() > 16 + 16 * 10 + 16 * 10 * 10 - 1
    for d in rows:
        assert d.parent is not None and d.code.startswith(d.parent.code), d
        assert (
            len(d.code)
            == {DivisionLevel.DISTRICT: 6, DivisionLevel.STREET: 9, DivisionLevel.VILLAGE: 12}[d.level]
        )
        assert d.full_name == f"{d.parent.full_name}/{d.name}"
    streets = Division.objects.filter(level=DivisionLevel.STREET).values_list("name", flat=True)
    assert all(name.endswith(("街道", "街", "镇", "乡")) for name in streets)
    villages = Division.objects.filter(level=DivisionLevel.VILLAGE).values_list("name", flat=True)
    assert all(name.endswith(("村", "社区")) for name in villages)


def test_every_place_has_its_account_with_the_right_role_and_division(demo: str) -> None:
    users = {u.username: u for u in User.objects.select_related("organisation")}
    for d in Division.objects.exclude(code="12"):
        prefix, role = ROLE_BY_LEVEL[d.level]
        user = users[f"{prefix}-{d.code}"]
        assert (user.role, user.division_id) == (role, d.pk)
        assert user.organisation is not None and user.organisation.division_id == d.pk
        assert user.last_name and user.first_name
    city = Division.objects.get(code="12")
    for name, role in (
        ("city", Role.CITY_ADMIN),
        ("socialworker", Role.SOCIAL_WORKER),
        ("charity", Role.CHARITY_STAFF),
        ("auditor", Role.AUDITOR),
    ):
        assert (users[name].role, users[name].division_id) == (role, city.pk)


def test_a_demo_account_signs_in_with_the_demo_password(demo: str) -> None:
    assert settings.DEMO_PASSWORD == "carenet-demo"
    # One hash made once and shared: thousands of PBKDF2 runs would take minutes. (Checked before
    # signing in: a sign-in re-hashes the password when the tests' fast hasher is preferred.)
    assert User.objects.values("password").distinct().count() == 1
    assert authenticate(username="district-120112", password="carenet-demo") is not None


def test_the_sign_in_page_names_demo_accounts_that_exist(demo: str, client) -> None:
    """The demo's street and village codes are the city's own (and follow the seed): the sign-in page reads
    them instead of naming accounts that do not exist."""
    from carenet.demo.staff import sign_in_examples

    street, village = sign_in_examples()
    assert village.startswith("village-120112") and village[8:17] == street.removeprefix("street-")
    page = client.get("/login/").content.decode()
    assert street in page and village in page
    for username in (street, village):
        assert authenticate(username=username, password="carenet-demo") is not None, username


def test_every_id_number_is_valid_and_agrees_with_birth_date_and_sex(demo: str) -> None:
    children = list(Child.objects.all())
    assert len(children) == 400
    with_id = [c for c in children if c.id_number_hash]
    assert 0.9 * len(children) < len(with_id) < len(children)  # newborns not yet registered have none
    for child in with_id:
        info = idnumber.parse(child.id_number)
        assert (info.birth_date, info.sex) == (child.birth_date, child.sex), child.name
    for member in FamilyMember.objects.exclude(id_number_hash=None)[:300]:
        idnumber.parse(member.id_number)


def test_no_two_children_share_an_id_number(demo: str) -> None:
    hashes = list(Child.objects.exclude(id_number_hash=None).values_list("id_number_hash", flat=True))
    assert len(hashes) == len(set(hashes))


def test_every_category_appears_and_is_approved_by_the_district_specialist(demo: str) -> None:
    open_rows = CategoryMembership.objects.filter(end_date=None)
    assert set(open_rows.values_list("category", flat=True)) == set(Category.values)
    for m in CategoryMembership.objects.select_related("approved_by", "child"):
        assert m.approved_by.username == f"district-{m.child.division_code[:6]}"
        assert m.start_date >= m.child.birth_date
    assert CategoryMembership.objects.exclude(end_date=None).filter(ended_by=None).count() == 0
    assert not Child.objects.filter(categories=None).exists()


def test_archived_children_have_no_open_category(demo: str) -> None:
    archived = Child.objects.filter(status="archived")
    assert archived.exists() and all(c.archive_reason for c in archived)
    assert not CategoryMembership.objects.filter(child__in=archived, end_date=None).exists()


def test_left_behind_children_live_in_villages_not_city_communities(demo: str) -> None:
    codes = CategoryMembership.objects.filter(category=Category.LEFT_BEHIND, end_date=None).values_list(
        "child__division__name", flat=True
    )
    assert codes and all(name.endswith("村") for name in codes)


def test_orphans_have_both_parents_dead_with_a_certificate(demo: str) -> None:
    orphans = Child.objects.filter(categories__category=Category.ORPHAN_SCATTERED, categories__end_date=None)
    assert orphans.exists()
    for child in orphans:
        parents = child.members.filter(relationship__in=["father", "mother"])
        assert [p.status for p in parents] == [PersonStatus.DECEASED] * 2
        assert all(p.status_since and p.evidence_note == "死亡证明" for p in parents)
        assert child.members.filter(is_guardian=True).exists()


def test_homophone_names_are_there_for_pinyin_search(demo: str) -> None:
    names_by_key: dict[str, set[str]] = {}
    for name, key in Child.objects.values_list("name", "name_pinyin"):
        names_by_key.setdefault(key, set()).add(name)
    assert len(names_by_key["zhangwei"]) >= 2  # 张伟 and 张玮
    assert sum(1 for names in names_by_key.values() if len(names) > 1) >= 5
    assert Counter(Child.objects.values_list("name", flat=True))["李娜"] >= 2


def test_siblings_share_a_household_and_their_parents(demo: str) -> None:
    shared = [
        h for h in Household.objects.prefetch_related("children__members") if len(h.children.all()) == 2
    ]
    assert shared
    for household in shared:
        first, second = household.children.all()
        parents = [
            sorted((m.relationship, m.name, m.id_number_hash or "") for m in kid.members.all())
            for kid in (first, second)
        ]
        assert parents[0] == parents[1]


def test_the_social_worker_has_a_caseload(demo: str) -> None:
    assert Caseload.objects.filter(user__username="socialworker", ended_at=None).count() == 30


def test_records_created_after_the_demo_get_fresh_ids(demo: str) -> None:
    village = Division.objects.filter(level=DivisionLevel.VILLAGE).first()
    assert village is not None
    household = Household.objects.create(division=village, division_code=village.code)
    assert (
        household.pk
        > Household.objects.exclude(pk=household.pk).order_by("-pk").values_list("pk", flat=True)[0]
    )


def test_if_empty_leaves_a_built_database_alone(demo: str) -> None:
    out = io.StringIO()
    call_command("demo", if_empty=True, children=10, stdout=out)
    assert "跳过" in out.getvalue() and Child.objects.count() == 400
    with pytest.raises(CommandError):
        call_command("demo", children=10, stdout=io.StringIO(), stderr=io.StringIO())


def test_demo_accounts_prints_the_address_password_pattern_and_examples(demo: str) -> None:
    out = io.StringIO()
    call_command("demo_accounts", stdout=out)
    text = out.getvalue()
    for expected in (
        "http://127.0.0.1:8000",
        "carenet-demo",
        "district-<6",
        "street-<9",
        "village-<12",
        "city",
        "district-120112",
        "street-120112",
        "village-120112",
        "socialworker",
        "charity",
        "auditor",
    ):
        assert expected in text


def test_the_same_seed_builds_the_same_tree() -> None:
    first = places.division_rows(places.generate_tree(random.Random("3:places")))
    again = places.division_rows(places.generate_tree(random.Random("3:places")))
    assert first == again and len({code for _line, code, _name in first}) == len(first)


def test_fast_id_numbers_are_exactly_what_idnumber_make_builds() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        region = rng.choice(["120112", "120225", "130102", "150121", "120101"])
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 28000))
        sequence = rng.randint(0, 999)
        assert idgen.compose(region, birth, sequence) == idnumber.make(region, birth, sequence)


def test_a_region_code_is_only_used_in_the_years_it_existed() -> None:
    # 蓟州区 120119 dates from 2016; a child born there in 2012 carries 蓟县 120225.
    assert idgen.pick_region(("120119", "120225", "120205"), 2012) == "120225"
    assert idgen.pick_region(("120119", "120225", "120205"), 2020) == "120119"
    assert idgen.pick_region(("120116", "120107"), 2008) == "120107"


# pytest-xdist runs this test in a process with execnet's threads, hence Python's fork warning; the
# `carenet demo` process that forks the workers has no threads, and the workers only compute.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_worker_processes_generate_exactly_what_one_process_generates() -> None:
    """The 1M build forks generator workers; the city must not depend on it (nor on their timing)."""
    streets = [
        s
        for s in places.generate_tree(random.Random("1:places"))
        if s.district.code in ("120101", "120112", "120116")
    ]
    contexts = [
        population.VillageContext(v, s, division_id=i, director_id=1, specialist_id=2)
        for i, (s, v) in enumerate((s, v) for s in streets for v in s.villages)
    ]
    counts = population.allocate(600, contexts, random.Random(1))
    units = population.plan_units(
        contexts, counts, seed="t", today=dt.date(2026, 6, 1), first_child_id=1, first_household_id=1
    )

    def comparable(results: list[population.UnitRows]) -> list[object]:
        # Ciphertexts differ run to run (random nonces); everything else, keyed hashes included, must not.
        children = [row[:7] + row[8:] for r in results for row in r.children]
        members = [row[:4] + row[5:] for r in results for row in r.members]
        return [children, members, [r.households for r in results], [r.memberships for r in results]]

    inline = list(population._unit_results(units, 1))
    forked = list(population._unit_results(units, 2))
    assert comparable(inline) == comparable(forked)
    assert sum(len(r.children) for r in inline) == 600
    ids = [row[0] for r in inline for row in r.children]
    assert len(ids) == len(set(ids))
