"""Shared test fixtures: a small fixed city and the jurisdiction personas every test speaks of.

Tree: 天津市 12 -> 津南区 120112 -> 双港镇 120112001 -> villages A 120112001001, B 120112001002
                                  -> 辛庄镇 120112002 -> village C 120112002001
                 -> 和平区 120101 -> 劝业场街 120101001 -> village D 120101001001
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from carenet.accounts.models import Division, Role, User
from carenet.registry.models import Caseload, Child
from carenet.tests_support.factories import ChildFactory, DivisionFactory, UserFactory


@dataclass
class City:
    city: Division
    district: Division
    street: Division
    village_a: Division
    village_b: Division
    street2: Division
    village_c: Division
    other_district: Division
    other_street: Division
    village_d: Division


@dataclass
class Personas:
    city_admin: User
    district_specialist: User
    district_finance: User
    street_supervisor: User
    director_a: User
    director_b: User
    other_district_specialist: User
    social_worker: User
    charity: User
    auditor: User


@dataclass
class Children:
    own: Child  # in village A
    sibling_village: Child  # village B, same street
    other_street: Child  # village C, same district
    other_district: Child  # village D


@pytest.fixture
def city(db) -> City:
    c = DivisionFactory(code="12", name="天津市")
    d = DivisionFactory(code="120112", name="津南区", parent=c)
    s = DivisionFactory(code="120112001", name="双港镇", parent=d)
    va = DivisionFactory(code="120112001001", name="A村", parent=s)
    vb = DivisionFactory(code="120112001002", name="B村", parent=s)
    s2 = DivisionFactory(code="120112002", name="辛庄镇", parent=d)
    vc = DivisionFactory(code="120112002001", name="C村", parent=s2)
    od = DivisionFactory(code="120101", name="和平区", parent=c)
    os_ = DivisionFactory(code="120101001", name="劝业场街", parent=od)
    vd = DivisionFactory(code="120101001001", name="D社区", parent=os_)
    return City(c, d, s, va, vb, s2, vc, od, os_, vd)


@pytest.fixture
def personas(city: City) -> Personas:
    return Personas(
        city_admin=UserFactory(username="p-city", role=Role.CITY_ADMIN, division=city.city),
        district_specialist=UserFactory(
            username="p-district", role=Role.DISTRICT_SPECIALIST, division=city.district
        ),
        district_finance=UserFactory(
            username="p-finance", role=Role.DISTRICT_FINANCE, division=city.district
        ),
        street_supervisor=UserFactory(username="p-street", role=Role.STREET_SUPERVISOR, division=city.street),
        director_a=UserFactory(username="p-village-a", role=Role.VILLAGE_DIRECTOR, division=city.village_a),
        director_b=UserFactory(username="p-village-b", role=Role.VILLAGE_DIRECTOR, division=city.village_b),
        other_district_specialist=UserFactory(
            username="p-other-district", role=Role.DISTRICT_SPECIALIST, division=city.other_district
        ),
        social_worker=UserFactory(username="p-social", role=Role.SOCIAL_WORKER, division=city.city),
        charity=UserFactory(username="p-charity", role=Role.CHARITY_STAFF, division=city.city),
        auditor=UserFactory(username="p-auditor", role=Role.AUDITOR, division=city.city),
    )


@pytest.fixture
def children(city: City, personas: Personas) -> Children:
    own = ChildFactory(name="张伟", division=city.village_a, birth_date=dt.date(2014, 3, 4), sex="M")
    kids = Children(
        own=own,
        sibling_village=ChildFactory(name="李娜", division=city.village_b),
        other_street=ChildFactory(name="王芳", division=city.village_c),
        other_district=ChildFactory(name="刘洋", division=city.village_d),
    )
    Caseload.objects.create(user=personas.social_worker, child=own)
    return kids


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):  # type: ignore[no-untyped-def]
    """Tests sign in hundreds of times; MD5 first keeps them fast (production keeps PBKDF2/Argon2)."""
    md5 = "django.contrib.auth.hashers.MD5PasswordHasher"
    settings.PASSWORD_HASHERS = [md5, *(h for h in settings.PASSWORD_HASHERS if h != md5)]


@pytest.fixture(autouse=True)
def _screening_inline(settings):  # type: ignore[no-untyped-def]
    """Screening runs execute in the caller during tests (no thread outliving the test's transaction)."""
    settings.SCREENING_RUNNER = "inline"


@pytest.fixture
def break_access_log(monkeypatch):
    """Call with an exception to make every write of an access record raise it (the audit store is down):
    single rows (audit.events) and bulk ones alike. Other audit rows are written as usual."""
    from carenet.audit import events
    from carenet.audit.models import AccessLog
    from carenet.core import rawsql

    def apply(error: BaseException) -> None:
        real = rawsql.insert_instance

        def insert_instance(row, then=()):
            if isinstance(row, AccessLog):
                raise error
            return real(row, then)

        def bulk(*args, **kwargs):
            raise error

        def statement(**kwargs):
            raise error

        monkeypatch.setattr(rawsql, "insert_instance", insert_instance)
        monkeypatch.setattr(events, "access_statement", statement)
        monkeypatch.setattr(AccessLog.objects, "bulk_create", bulk)

    return apply
