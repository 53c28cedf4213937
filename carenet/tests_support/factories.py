"""factory_boy factories. Children get valid, unique ID numbers whose birth date and sex agree."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import factory
from django.conf import settings
from django.contrib.auth.hashers import make_password

from carenet.accounts.models import LEVEL_BY_LENGTH, Division, Role, User
from carenet.core import idnumber, pinyin
from carenet.registry.models import Child, FamilyMember, Household


class DivisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Division
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"120199{n:03d}")
    name = factory.Sequence(lambda n: f"区划{n}")
    parent = None
    level = factory.LazyAttribute(lambda o: LEVEL_BY_LENGTH[len(o.code)])
    full_name = factory.LazyAttribute(lambda o: f"{o.parent.full_name}/{o.name}" if o.parent else o.name)


def demo_password_hash() -> str:
    """Hash once per hasher setting: a PBKDF2 round per persona would make every test wait seconds,
    and a hash cached under one test's PASSWORD_HASHERS must not leak into another's."""
    return _hash_with(tuple(settings.PASSWORD_HASHERS))


@lru_cache(maxsize=8)
def _hash_with(hashers: tuple[str, ...]) -> str:
    return make_password(settings.DEMO_PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.VILLAGE_DIRECTOR
    password = factory.LazyFunction(demo_password_hash)


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    division = factory.SubFactory(DivisionFactory)
    division_code = factory.LazyAttribute(lambda o: o.division.code)
    address = "幸福路1号"


_seq = iter(range(1, 10**6))


class ChildFactory(factory.django.DjangoModelFactory):
    """`id_number=""` makes a child without an ID number; by default a valid unique one is generated."""

    class Meta:
        model = Child

    name = "张伟"
    sex = "M"
    birth_date = dt.date(2015, 6, 1)
    division = factory.SubFactory(DivisionFactory)
    division_code = factory.LazyAttribute(lambda o: o.division.code)
    household = factory.LazyAttribute(lambda o: HouseholdFactory(division=o.division))
    name_pinyin = factory.LazyAttribute(lambda o: pinyin.name_key(o.name))
    name_initials = factory.LazyAttribute(lambda o: pinyin.name_initials(o.name))
    id_number = factory.LazyAttribute(
        lambda o: idnumber.make("120112", o.birth_date, (next(_seq) * 2 + (1 if o.sex == "M" else 0)) % 1000)
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        number = kwargs.pop("id_number", "")
        obj = model_class(*args, **kwargs)
        obj.set_id_number(number or None)
        obj.save()
        return obj


class FamilyMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FamilyMember

    child = factory.SubFactory(ChildFactory)
    name = "张建国"
    relationship = "father"
    is_guardian = True
