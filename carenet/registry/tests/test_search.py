import datetime as dt

import pytest

from carenet.registry.models import CategoryMembership
from carenet.registry.selectors import ChildFilters, child_list
from carenet.tests_support.factories import ChildFactory


def names(actor, **kw):
    return sorted(child_list(actor=actor, filters=ChildFilters(**kw)).values_list("name", flat=True))


@pytest.fixture
def homophones(city, children):
    ChildFactory(name="张玮", division=city.village_a)
    ChildFactory(name="章伟", division=city.village_a)
    ChildFactory(name="张伟", division=city.village_d)  # same name, other district


def test_pinyin_finds_every_homophone(personas, homophones):
    assert names(personas.director_a, q="zhangwei") == ["张伟", "张玮", "章伟"]


def test_chinese_name_finds_its_homophones(personas, homophones):
    assert names(personas.director_a, q="张玮") == ["张伟", "张玮", "章伟"]


def test_initials_find_the_child(personas, homophones):
    assert "张伟" in names(personas.director_a, q="zw")


def test_search_stays_inside_jurisdiction(personas, homophones):
    assert names(personas.other_district_specialist, q="张伟") == ["张伟"]
    assert len(names(personas.city_admin, q="张伟")) == 4


def test_id_number_finds_exactly_one_child(personas, children):
    number = children.own.id_number
    assert names(personas.district_specialist, q=number) == ["张伟"]
    spaced = f"{number[:6]} {number[6:14]} {number[14:].lower()}"
    assert names(personas.district_specialist, q=spaced) == ["张伟"]
    assert names(personas.other_district_specialist, q=number) == []


def test_filter_by_category_and_age(personas, children, city):
    CategoryMembership.objects.create(
        child=children.own,
        category="left_behind",
        start_date=dt.date(2020, 1, 1),
        reason="x",
        approved_by=personas.district_specialist,
    )
    assert names(personas.district_specialist, category="left_behind") == ["张伟"]
    ChildFactory(
        name="小宝",
        division=city.village_a,
        birth_date=dt.date.today().replace(year=dt.date.today().year - 2) - dt.timedelta(days=1),
    )
    assert names(personas.director_a, age_max=3) == ["小宝"]
    assert "小宝" not in names(personas.director_a, age_min=4)


def test_filter_by_division_prefix(personas, children):
    assert names(personas.district_specialist, division_code="120112001") == sorted(["李娜", "张伟"])
